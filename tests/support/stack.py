"""The whole marketplace on throwaway parts, for the end-to-end tests, the fault suite and the
benchmarks: a migrated database (SQLite in the work folder unless given one), a real
redis-server (and, if asked, a second one as the Celery broker), localstripe, an SMTP server,
then the journal consumer, a Celery worker and Reflex, all on free loopback ports and started
as sneakers_app/embedded.py starts them for development.

`stack_parts` starts the parts and the environment every process of the app gets;
`Stack.start_app` starts the app's processes (restartable by name in `Stack.processes`);
`app_stack` does both, with the demo catalog seeded and the books open in between.
`production_stack` is the production shape instead: PostgreSQL, page sessions in Redis, two web
workers, the consumer, a worker and beat, each by its role's command.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sneakers_app import embedded, migrations
from sneakers_app.settings import PROJECT_ROOT
from tests.support.smtp import SmtpServer, start_smtp


@dataclass
class Stack:
    url: str
    """http://localhost:<port> of Reflex (frontend and backend on one port) once started."""
    database_url: str
    redis: embedded.RedisServer
    broker: embedded.RedisServer
    stripe: embedded.LocalStripeServer
    smtp: SmtpServer
    env: dict[str, str]
    work: Path
    processes: embedded.ProcessGroup

    @property
    def redis_url(self) -> str:
        return self.redis.url

    @property
    def backend(self) -> subprocess.Popen[bytes]:
        """Reflex's process: `reflex` as `start_app` starts it, `web` in the production shape."""
        running = self.processes.processes
        return running["reflex"] if "reflex" in running else running["web"]

    def wait_web(self, timeout: float = 900) -> None:
        """Until the production shape's web app serves its pages (the first start builds the
        frontend)."""
        log = self.processes.log("web")
        assert log is not None
        embedded.wait_http(self.url + "/", self.processes.processes["web"], timeout, log)

    def run_app(
        self, module: str, *args: str, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`python -m <module> <args>` with the stack's environment (RuntimeError if it fails
        and `check`)."""
        done = embedded.run_module(self.env, module, *args, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def start_app(
        self,
        *,
        reflex: embedded.ReflexMode | None,
        worker_loglevel: str = "warning",
        reflex_loglevel: str = "warning",
        reflex_env: Mapping[str, str] | None = None,
    ) -> None:
        """The journal consumer, a Celery worker and Reflex (unless None), waiting until Reflex
        answers. `reflex_env`: environment variables of Reflex's process alone."""
        if reflex == "backend":
            # Reflex refuses a frontend port with --backend-only; the backend alone works in its
            # own copy of the compiled app.
            self.env.update(
                FRONTEND_PORT="0",
                REFLEX_WEB_WORKDIR=str(self.work / "web"),
                REFLEX_STATES_WORKDIR=str(self.work / "states"),
            )
            if (PROJECT_ROOT / ".web").is_dir():
                shutil.copytree(PROJECT_ROOT / ".web", self.work / "web", symlinks=True)
        embedded.start_app(
            self.processes,
            reflex=None if reflex_env else reflex,
            worker_loglevel=worker_loglevel,
            reflex_loglevel=reflex_loglevel,
        )
        if reflex is not None and reflex_env:
            only = ["env", *(f"{k}={v}" for k, v in reflex_env.items())]
            self.processes.start(
                "reflex", [*only, *embedded.reflex_command(reflex, reflex_loglevel)]
            )
        if reflex is not None:
            log = self.processes.log("reflex")
            assert log is not None
            path = "/ping" if reflex == "backend" else "/"
            embedded.wait_http(self.url + path, self.backend, 600, log)


@contextlib.contextmanager
def stack_parts(
    work: Path,
    *,
    database_url: str | None = None,
    redis_appendonly: Literal["no", "always"] = "no",
    separate_broker: bool = False,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """The parts, a migrated database and the environment; every part stopped on the way out
    (last started first), whatever fails after it started. `settings` are extra environment
    variables of every process."""
    database_url = database_url or f"sqlite:///{work / 'stack.db'}"
    migrations.upgrade(database_url)
    with contextlib.ExitStack() as started:
        redis = embedded.start_redis(appendonly=redis_appendonly)
        started.callback(redis.stop)
        broker = redis
        if separate_broker:
            broker = embedded.start_redis()
            started.callback(broker.stop)
        stripe = embedded.start_localstripe()
        started.callback(stripe.stop)
        smtp = start_smtp()
        started.callback(smtp.stop)
        port = embedded.free_port()
        env = embedded.app_env()
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis.url,
            STRIPE_API_BASE=stripe.url,
            STRIPE_JS_URL=stripe.js_url,
            SMTP_URL=smtp.url,
            ENVIRONMENT="test",
            FRONTEND_PORT=str(port),
            BACKEND_PORT=str(port),
            API_URL=f"http://localhost:{port}",
            APP_URL=f"http://localhost:{port}",
            JOURNAL_CONSUMER_NAME="stack",
        )
        if separate_broker:
            env["CELERY_BROKER_URL"] = broker.url
        env.update(settings or {})
        processes = embedded.ProcessGroup(env=env, logs=work)
        started.callback(processes.stop)
        yield Stack(
            url=f"http://localhost:{port}",
            database_url=database_url,
            redis=redis,
            broker=broker,
            stripe=stripe,
            smtp=smtp,
            env=env,
            work=work,
            processes=processes,
        )


@contextlib.contextmanager
def app_stack(
    work: Path,
    *,
    reflex: Literal["prod", "backend"] = "backend",
    reflex_loglevel: str | None = None,
    setup: Callable[[Stack], None] | None = None,
    prepare: Sequence[str] = ("seed", "open-books"),
    **settings: str,
) -> Iterator[Stack]:
    """The whole marketplace as the run command starts it: the parts, the demo catalog seeded
    and its books open, then `setup(stack)` (more rows for a test) and the app's processes with
    Reflex's production build (`reflex="backend"`: the backend alone, for websocket clients).
    Reflex logs at STACK_LOGLEVEL (warning) unless `reflex_loglevel` says."""
    with stack_parts(work, settings=settings) as stack:
        embedded.prepare(stack.env, prepare)
        if setup is not None:
            setup(stack)
        stack.start_app(
            reflex=reflex,
            reflex_loglevel=reflex_loglevel or os.environ.get("STACK_LOGLEVEL", "warning"),
        )
        yield stack


PRODUCTION_WEB_WORKERS = 2


@contextlib.contextmanager
def production_stack(
    work: Path,
    *,
    workers: int = PRODUCTION_WEB_WORKERS,
    setup: Callable[[Stack], None] | None = None,
    web_loglevel: str = "info",
    settings: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """The production shape, as a deployment runs it and `./scripts/dev.sh --production` shows
    it: a throwaway PostgreSQL, Redis holding the books, Celery's broker and (database 1) the
    page sessions, then one process per role by its own command: the journal consumer, a
    Celery worker, beat, and the web app's production build with `workers` backend workers
    (Reflex's redis state manager). The web process is `processes["web"]`: stopping and
    starting it again restarts every worker, the sessions staying in Redis."""
    postgres = embedded.start_postgres()
    try:
        with stack_parts(
            work, database_url=postgres.create_database("production"), settings=settings
        ) as stack:
            stack.env.update(
                REFLEX_STATE_MANAGER_MODE="redis",
                REFLEX_REDIS_URL=f"redis://127.0.0.1:{stack.redis.port}/1",
            )
            embedded.prepare(stack.env, ("seed", "open-books"))
            if setup is not None:
                setup(stack)
            embedded.start_production(
                stack.processes,
                workers=workers,
                beat_schedule=work / "celerybeat",
                loglevel="warning",
                web_loglevel=web_loglevel,
            )
            stack.wait_web()
            yield stack
    finally:
        postgres.stop()
