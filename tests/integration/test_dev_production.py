"""`./scripts/dev.sh --production` prepares its database and books as a deployment would: the
steps (migrate, seed, open-books) run with the environment the dev server gives every process,
against a throwaway PostgreSQL and Redis, before the web app has created its metrics directory.

It failed at open-books: the web tier's PROMETHEUS_MULTIPROC_DIR was in every process's
environment, and re-sending the demo catalog's open orders to the engine records an engine
call in a directory that did not exist yet (FileNotFoundError)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sneakers_app import devserver, embedded
from tests.support import servers

pytestmark = pytest.mark.postgres


@pytest.fixture
def throwaway_redis() -> Iterator[servers.RedisServer]:
    server = servers.start_redis()
    yield server
    server.stop()


def test_the_production_shape_prepares_its_books_before_the_web_app_starts(
    tmp_path: Path,
    postgres_server: servers.PostgresServer,
    throwaway_redis: servers.RedisServer,
    localstripe: servers.LocalStripeServer,
) -> None:
    env, web_env = devserver.production_env(
        database_url=postgres_server.create_database(f"dev_{uuid.uuid4().hex[:8]}"),
        redis_port=throwaway_redis.port,
        stripe=localstripe,
        port=embedded.free_port(),
        work=tmp_path,
    )
    # The web workers' shared metrics directory is the web app's setting alone.
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    metrics_dir = Path(web_env["PROMETHEUS_MULTIPROC_DIR"])
    # Even where every role is given one environment (as the dev server did), the web tier's
    # directory included and not made yet (`web` makes it), a step counts alone: re-sending
    # the demo's open orders records engine calls.
    shared = {**env, **web_env}
    assert not metrics_dir.exists()

    devserver._prepare(shared, seed=True)

    client = redis.Redis.from_url(env["REDIS_URL"])
    assert client.keys("{book:*}:*"), "no order book was opened"
    assert not metrics_dir.exists(), "a step counted where the web tier sums"
