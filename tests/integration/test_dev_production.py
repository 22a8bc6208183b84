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
    metrics_dir = Path(web_env["PROMETHEUS_MULTIPROC_DIR"])
    assert not metrics_dir.exists()  # as on the first start: `web` creates it

    devserver._prepare(env, seed=True)

    client = redis.Redis.from_url(env["REDIS_URL"])
    assert client.keys("{book:*}:*"), "no order book was opened"
    # the steps counted nowhere the web tier sums (its directory is still to be made)
    assert not metrics_dir.exists()


def test_a_step_run_with_the_web_tiers_environment_counts_alone(
    tmp_path: Path,
    postgres_server: servers.PostgresServer,
    throwaway_redis: servers.RedisServer,
) -> None:
    """A deployment that gives every role one environment (the web tier's metrics directory
    included, not made yet) can still run open-books: a one-off step's figures go nowhere."""
    env = embedded.app_env(
        {
            "DATABASE_URL": postgres_server.create_database(f"step_{uuid.uuid4().hex[:8]}"),
            "REDIS_URL": throwaway_redis.url,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "not-made-yet"),
        }
    )
    embedded.prepare(env, ("migrate", "seed", "open-books"))
    assert not (tmp_path / "not-made-yet").exists()
