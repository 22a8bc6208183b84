"""`python -m sneakers_app dev`: everything the marketplace needs, in one process tree.

Starts the embedded parts (redis-server, localstripe) unless configured away, migrates, seeds
and opens the books, then runs the journal consumer, the market-data feed, a Celery worker with
beat and Reflex in development mode, the way sneakers_app/embedded.py starts them for the tests
and benchmarks too.
Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from sneakers_app import embedded
from sneakers_app.settings import VAR_DIR, get_settings

Part = tuple[str, embedded.RedisServer | embedded.LocalStripeServer]

# What the terminal shows is what a newcomer needs: a line per part started, the URL, the demo
# logins, and at Ctrl-C a line per part stopped. Celery's start banner and shutdown notices are
# left out (its log, on standard error, is not), and so is its warning that the worker runs as
# root (a container's user; the development stack listens on loopback only).
QUIET_CHILDREN = {"PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges"}

PARTS = {
    "redis": "redis-server",
    "localstripe": "localstripe",
    "consumer": "journal consumer",
    "feed": "market-data feed",
    "worker": "Celery worker",
    "reflex": "web app",
}
"""What the terminal calls each part (the production shape's processes by their own names)."""


def _quiet_celery(command: list[str]) -> list[str]:
    """`celery ... worker ...` without its start banner (`celery --quiet`)."""
    at = command.index("celery") + 1
    return [*command[:at], "--quiet", *command[at:]]


def _start_app(group: embedded.ProcessGroup) -> None:
    """The journal consumer, the market-data feed, the Celery worker with beat and Reflex in
    development mode."""
    print("Starting the journal consumer")
    group.start("consumer", [*embedded.APP, "consume-journal"])
    _start_feed(group)
    print("Starting a Celery worker with beat")
    group.no_stdout.add("worker")
    worker = embedded.worker_command(beat_schedule=VAR_DIR / "celerybeat")
    group.start("worker", _quiet_celery(worker))
    print("Starting the web app (the first start compiles the pages: a minute or two)")
    group.start("reflex", embedded.reflex_command("dev"))


def _start_feed(group: embedded.ProcessGroup) -> None:
    """The public market-data feed (`market-feed`), on FEED_HOST:FEED_PORT; its own line at
    start is left out (the welcome prints its address with the others)."""
    print("Starting the market-data feed")
    group.no_stdout.add("feed")
    group.start("feed", [*embedded.APP, "market-feed"])


def feed_url() -> str:
    settings = get_settings()
    return f"ws://{settings.FEED_HOST}:{settings.FEED_PORT}/api/v1/stream"


def _feed_port_busy() -> bool:
    port = get_settings().FEED_PORT
    if port and embedded.port_open(port, get_settings().FEED_HOST):
        print(f"Port {port} is busy: another copy is running, or set FEED_PORT.")
        return True
    return False


def _stopped(name: str) -> None:
    print(f"{PARTS.get(name, name)} stopped")


def _stop_group(group: embedded.ProcessGroup) -> None:
    """The app's processes first (they use Redis and localstripe), each told to finish."""
    if any(p.poll() is None for p in group.processes.values()):
        print("Stopping (a few seconds)")
    group.stop(_stopped)


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _start_redis(parts: list[Part], extra: dict[str, str]) -> bool:
    """Start the embedded redis-server unless REDIS_URL is set; False if its port is busy."""
    settings = get_settings()
    if settings.REDIS_URL:
        return True
    port = settings.EMBEDDED_REDIS_PORT
    if embedded.port_open(port):
        print(f"Port {port} is busy: another copy is running, or set EMBEDDED_REDIS_PORT.")
        return False
    print(f"Starting the embedded redis-server on port {port}")
    redis = embedded.RedisServer(
        port=port,
        directory=VAR_DIR / "redis",
        appendonly="everysec",
        save="60 1000",
        throwaway=False,
    )
    parts.append(("redis", redis.start()))
    extra["REDIS_URL"] = settings.redis_url
    return True


def _start_localstripe(parts: list[Part]) -> None:
    settings = get_settings()
    if not settings.uses_localstripe:
        return
    stripe_port = int(settings.STRIPE_API_BASE.rsplit(":", 1)[-1].split("/")[0])
    if not embedded.port_open(stripe_port):
        print(f"Starting localstripe on port {stripe_port}")
        parts.append(("localstripe", embedded.start_localstripe(stripe_port, directory=VAR_DIR)))


def _print_welcome(url: str | None = None) -> None:
    settings = get_settings()
    print()
    print(f"Sneakers Marketplace is running at {url or settings.APP_URL}")
    print(f"Market-data feed (websocket): {feed_url()}")
    if settings.is_development:
        from sneakers_app.seed import DEMO_ACCOUNTS

        print("Demo logins (development only):")
        for account in DEMO_ACCOUNTS:
            print(f"  {account.role:<7} {account.email:<28} {account.password}")
        print(
            "  The staff console asks the demo staff for a second-factor code: "
            "python -m sneakers_app demo-totp"
        )
        if not settings.SMTP_URL:
            print(f"Emails (sign-up and password-reset links) are written to {VAR_DIR / 'outbox'}")
    print("Press Ctrl-C to stop everything.")


def _watch(
    group: embedded.ProcessGroup, parts: list[Part], ready: Callable[[], None] | None = None
) -> int:
    """Wait until one of the processes exits by itself (1), or Ctrl-C; `ready()` once the
    pages are served (FRONTEND_PORT answers), so it is the last thing the terminal shows."""
    port = get_settings().FRONTEND_PORT
    while True:
        if ready is not None and embedded.port_open(port):
            ready()
            ready = None
        exited = group.exited() + [
            (name, code)
            for name, part in parts
            if part.process is not None and (code := part.process.poll()) is not None
        ]
        if exited:
            print(f"{exited[0][0]} exited with code {exited[0][1]}; stopping.")
            return 1
        time.sleep(0.5)


def _supervise(
    group: embedded.ProcessGroup, body: Callable[[], int], stops: list[Callable[[], None]]
) -> int:
    """Runs `body` (it starts everything and watches), then stops the group and calls `stops`
    (last first), however it ends: by itself, Ctrl-C, SIGTERM or a failed start."""
    signal.signal(signal.SIGTERM, _stop)
    # Started from a script in the background SIGINT may be ignored; Ctrl-C must always stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return body()
    except KeyboardInterrupt:
        print()
        return 0
    except RuntimeError as error:
        print(error)
        return 1
    finally:
        # A second Ctrl-C while stopping must not leave half of it running with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_group(group)
        for stop in reversed(stops):
            stop()
        print("Stopped.")


def _prepare(env: dict[str, str], seed: bool) -> None:
    print("Migrating the database" + (" and seeding the demo catalog" if seed else ""))
    steps = ("migrate", "seed", "open-books") if seed else ("migrate", "open-books")
    embedded.prepare(env, steps, capture=False)


def run(*, seed: bool = True) -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    extra: dict[str, str] = {}
    parts: list[Part] = []
    group = embedded.ProcessGroup(env={})

    def body() -> int:
        if _feed_port_busy() or not _start_redis(parts, extra):
            return 1
        _start_localstripe(parts)
        group.env = embedded.app_env({**extra, **QUIET_CHILDREN})
        _prepare(group.env, seed)
        _start_app(group)
        return _watch(group, parts, _print_welcome)

    def stop_parts() -> None:
        for name, part in reversed(parts):
            part.stop()
            _stopped(name)

    return _supervise(group, body, [stop_parts])


def run_production(*, seed: bool = True, workers: int = 2) -> int:
    """`./scripts/dev.sh --production`: the production shape on this machine, nothing to
    install. A throwaway PostgreSQL cluster (the system's initdb/pg_ctl) and redis-server (the
    books, Celery's broker and, in database 1, the page sessions), localstripe, then each
    process by its role's command as a deployment runs them: the web app (Reflex's
    production build, `workers` backend workers sharing sessions in Redis), the journal
    consumer, a Celery worker, beat and the market-data feed. Everything is removed when it
    stops; ENVIRONMENT stays development, so the demo logins work."""
    import tempfile

    port = get_settings().FRONTEND_PORT
    if embedded.port_open(port):
        print(f"Port {port} is busy: another copy is running, or set FRONTEND_PORT.")
        return 1
    if _feed_port_busy():
        return 1
    if not embedded.postgres_available():
        print("The production shape needs PostgreSQL's server programs (initdb, pg_ctl).")
        return 1
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sneakers-production-"))
    group = embedded.ProcessGroup(env={})
    stops: list[Callable[[], None]] = [lambda: shutil.rmtree(work, ignore_errors=True)]

    def body() -> int:
        print("Starting a throwaway PostgreSQL, redis-server and localstripe")
        postgres = embedded.start_postgres()
        stops.append(postgres.stop)
        redis = embedded.start_redis()
        stops.append(redis.stop)
        stripe = embedded.start_localstripe()
        stops.append(stripe.stop)
        group.env, web_env = production_env(
            database_url=postgres.create_database("sneakers"),
            redis_port=redis.port,
            stripe=stripe,
            port=port,
            work=work,
        )
        _prepare(group.env, seed)
        embedded.start_production(
            group,
            workers=workers,
            beat_schedule=work / "celerybeat",
            loglevel="warning",
            web_env=web_env,
        )
        _start_feed(group)
        print(f"{workers} web workers (sessions in Redis), the journal consumer, a Celery worker")
        print("and beat are starting; the first start builds the frontend (a minute or two).")
        return _watch(group, [], lambda: _print_welcome(f"http://localhost:{port}"))

    return _supervise(group, body, stops)


def production_env(
    *,
    database_url: str,
    redis_port: int,
    stripe: embedded.LocalStripeServer,
    port: int,
    work: Path,
) -> tuple[dict[str, str], dict[str, str]]:
    """The environment of every process of `./scripts/dev.sh --production` and its steps, and
    the web app's own settings over it: the web workers' shared metrics directory is theirs
    alone (the consumer and the Celery worker count in their own /metrics, and a step such as
    open-books, which calls the engine, would look for files in a directory `web` creates)."""
    url = f"http://localhost:{port}"
    env = embedded.app_env(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "REFLEX_STATE_MANAGER_MODE": "redis",
            "REFLEX_REDIS_URL": f"redis://127.0.0.1:{redis_port}/1",
            "STRIPE_API_BASE": stripe.url,
            "STRIPE_JS_URL": stripe.js_url,
            "FRONTEND_PORT": str(port),
            "BACKEND_PORT": str(port),
            "APP_URL": url,
            "API_URL": url,
            "JOURNAL_CONSUMER_NAME": "consumer-1",
            "CONSUMER_METRICS_PORT": str(embedded.free_port()),
            "WORKER_METRICS_PORT": str(embedded.free_port()),
        }
    )
    # the web workers' metrics add up here (`web` empties it at each start)
    return env, {"PROMETHEUS_MULTIPROC_DIR": str(work / "metrics")}
