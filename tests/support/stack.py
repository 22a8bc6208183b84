"""The whole marketplace on throwaway parts, backend only (the tests and benchmarks that drive
it speak the websocket protocol themselves: tests/support/reflex_client.py): a seeded SQLite
database, a real redis-server, localstripe, an SMTP server, the journal consumer, a Celery
worker and `reflex run --env prod --backend-only`, all on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sneakers_app.settings import PROJECT_ROOT
from tests.support import servers
from tests.support.smtp import SmtpServer, start_smtp


@dataclass(frozen=True)
class Stack:
    url: str
    redis_url: str
    database_url: str
    stripe: servers.LocalStripeServer
    smtp: SmtpServer
    backend: subprocess.Popen[bytes]
    env: dict[str, str]
    work: Path


@contextlib.contextmanager
def backend_stack(work: Path, **settings: str) -> Iterator[Stack]:
    """Start everything; `settings` are extra environment variables of every process."""
    from sneakers_app import migrations

    database_url = f"sqlite:///{work / 'stack.db'}"
    migrations.upgrade(database_url)
    with contextlib.ExitStack() as started:
        redis = servers.start_redis()
        started.callback(redis.stop)
        stripe_server = servers.start_localstripe()
        started.callback(stripe_server.stop)
        smtp = start_smtp()
        started.callback(smtp.stop)
        port = servers.free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis.url,
            STRIPE_API_BASE=stripe_server.url,
            STRIPE_JS_URL=stripe_server.js_url,
            SMTP_URL=smtp.url,
            ENVIRONMENT="test",
            FRONTEND_PORT="0",  # backend only (reflex refuses a frontend port with it)
            BACKEND_PORT=str(port),
            API_URL=f"http://localhost:{port}",
            APP_URL=f"http://localhost:{port}",
            JOURNAL_CONSUMER_NAME="stack",
            REFLEX_WEB_WORKDIR=str(work / "web"),
            REFLEX_STATES_WORKDIR=str(work / "states"),
        )
        env.update(settings)
        if (PROJECT_ROOT / ".web").is_dir():
            shutil.copytree(PROJECT_ROOT / ".web", work / "web", symlinks=True)
        for command in ("seed", "open-books"):
            done = subprocess.run(
                [sys.executable, "-m", "sneakers_app", command],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(done.stdout + done.stderr)
        celery = [sys.executable, "-m", "celery", "-A", "sneakers_app.worker", "worker"]
        workers: list[tuple[list[str], str]] = [
            ([sys.executable, "-m", "sneakers_app", "consume-journal"], "consumer.log"),
            ([*celery, "--pool=solo", "--loglevel=warning"], "celery.log"),
        ]
        for argv, log_name in workers:
            started.callback(servers.stop, servers.spawn(argv, env, work / log_name))
        log = work / "reflex.log"
        backend = servers.spawn(
            [
                sys.executable,
                "-m",
                "reflex",
                "run",
                "--env",
                "prod",
                "--backend-only",
                "--loglevel",
                os.environ.get("STACK_LOGLEVEL", "warning"),
            ],
            env,
            log,
        )
        started.callback(servers.stop, backend)
        servers.wait_http(f"http://localhost:{port}/ping", backend, 600, log)
        yield Stack(
            url=f"http://localhost:{port}",
            redis_url=redis.url,
            database_url=database_url,
            stripe=stripe_server,
            smtp=smtp,
            backend=backend,
            env=env,
            work=work,
        )
