"""Operational commands: `python -m sneakers_app <command>`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sneakers_app")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    down = sub.add_parser("downgrade", help="downgrade the database (default: to nothing)")
    down.add_argument("revision", nargs="?", default="base")
    sub.add_parser("seed", help="load the demo catalog, history, books and accounts (idempotent)")
    staff = sub.add_parser(
        "create-staff",
        help="create a staff account (password from STAFF_PASSWORD or prompted) or promote one",
    )
    staff.add_argument("email")
    staff.add_argument("--name", default="Staff")
    staff.add_argument("--admin", action="store_true")
    sub.add_parser("demo-totp", help="development only: the demo staff's current TOTP code")
    lost = sub.add_parser(
        "reset-second-factor", help="a staff member lost their authenticator: set up anew"
    )
    lost.add_argument("email")
    sub.add_parser("consume-journal", help="run the engine journal consumer (trades -> orders)")
    sub.add_parser(
        "market-feed", help="the public market-data websocket feed (FEED_HOST:FEED_PORT)"
    )
    sub.add_parser("open-books", help="open every order book and send orders the engine missed")
    sub.add_parser("rebuild-books", help="rebuild every order book in Redis from the database")
    sub.add_parser("reconcile", help="list every difference between Redis and the database")
    sub.add_parser("ledger-check", help="prove the ledger balances and each order adds up")
    dev = sub.add_parser("dev", help="run everything for development (the README's command)")
    dev.add_argument("--no-seed", action="store_true")
    dev.add_argument(
        "--production",
        action="store_true",
        help="the production shape on this machine: a throwaway PostgreSQL and Redis, "
        "2 web workers sharing sessions in Redis, the consumer, a worker and beat",
    )
    web = sub.add_parser("web", help="the web app: Reflex's production build, N backend workers")
    web.add_argument("--workers", type=int, default=None, help="default: WEB_WORKERS")
    web.add_argument(
        "--backend-only", action="store_true", help="the backend alone (frontend served elsewhere)"
    )
    web.add_argument("--loglevel", default="info")
    worker = sub.add_parser("worker", help="a Celery worker (payments, emails, the saga)")
    worker.add_argument("--concurrency", type=int, default=None, help="default: CPU count")
    worker.add_argument("--loglevel", default="info")
    beat = sub.add_parser("beat", help="Celery beat: the periodic tasks (run exactly one)")
    beat.add_argument("--schedule", default=None, help="its state file (default: var/celerybeat)")
    beat.add_argument("--loglevel", default="info")
    return parser


_SHARED_METRICS = frozenset({"web", "worker", "dev"})
"""Commands that may count into PROMETHEUS_MULTIPROC_DIR: the web tier's shared directory, or a
Celery worker's own (its child processes). The dev server passes each of its processes their
own environment."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command not in _SHARED_METRICS:
        # Every other command counts alone (the consumer in its own /metrics, a step such as
        # open-books nowhere): an environment shared with the web tier must not send their
        # figures into its directory, which may not exist yet (`web` creates it). Set before
        # prometheus_client is imported.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return _COMMANDS[args.command](args)


def _migrate(args: argparse.Namespace) -> int:
    from sneakers_app import migrations

    migrations.upgrade()
    print("Database is at the newest schema.")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    from sneakers_app import migrations

    migrations.downgrade(revision=args.revision)
    print(f"Database downgraded to {args.revision}.")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from sneakers_app import seed

    seed.seed_all(progress=print)
    return 0


def _create_staff(args: argparse.Namespace) -> int:
    from sneakers_app.db import session_scope
    from sneakers_app.services import accounts

    password = _staff_password()
    try:
        with session_scope() as session:
            user = accounts.create_staff(
                session=session,
                email=args.email,
                display_name=args.name,
                password=password,
                admin=args.admin,
            )
    except accounts.AccountError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(f"{user.email} is staff{' and admin' if user.is_admin else ''}.")
    return 0


def _reset_second_factor(args: argparse.Namespace) -> int:
    from sneakers_app.db import session_scope
    from sneakers_app.services import accounts

    try:
        with session_scope() as session:
            ended = accounts.reset_second_factor(session=session, email=args.email)
    except accounts.AccountError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(
        f"{args.email} sets up a new authenticator at the next visit to the console; "
        f"{ended} sessions ended."
    )
    return 0


def _demo_totp(args: argparse.Namespace) -> int:
    from sneakers_app import seed
    from sneakers_app.settings import get_settings

    if get_settings().ENVIRONMENT != "development":
        print("error: the demo staff exists in development only", file=sys.stderr)
        return 2
    import pyotp

    print(f"Demo staff second-factor code: {pyotp.TOTP(seed.DEMO_STAFF_TOTP_SECRET).now()}")
    return 0


def _consume_journal(args: argparse.Namespace) -> int:
    from sneakers_app import consumer

    return consumer.main()


def _market_feed(args: argparse.Namespace) -> int:
    from sneakers_app.feed import server

    return server.main()


def _open_books(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sneakers_app.db import session_scope
    from sneakers_app.redis_client import get_matching_engine
    from sneakers_app.services import books, market

    with session_scope() as session:
        opened = books.open_all(session=session, engine=get_matching_engine())
        sent = market.resubmit_unseen(
            session=session, engine=get_matching_engine(), older_than=timedelta(0)
        )
    print(f"Opened or rebuilt {opened} books; sent {sent} orders the engine had not seen.")
    return 0


def _rebuild_books(args: argparse.Namespace) -> int:
    from sneakers_app.db import session_scope
    from sneakers_app.redis_client import get_redis
    from sneakers_app.services import books

    with session_scope() as session:
        counts = books.rebuild_all(session=session, client=get_redis())
    print(f"Rebuilt {len(counts)} books with {sum(counts.values())} open orders.")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from sneakers_app.db import session_scope
    from sneakers_app.redis_client import get_redis
    from sneakers_app.services import books

    with session_scope() as session:
        report = books.reconcile_all(session=session, client=get_redis())
    for variant_id, diffs in report.items():
        for diff in diffs:
            print(f"book {variant_id}: {diff}")
    print("Redis and the database agree." if not report else f"{len(report)} books differ.")
    return 0 if not report else 1


def _ledger_check(args: argparse.Namespace) -> int:
    from sneakers_app.db import session_scope
    from sneakers_app.services import ledger

    with session_scope() as session:
        result = ledger.check(session=session)
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(
        f"{result.transactions} transactions, {result.entries} entries: "
        + ("the books balance." if result.ok else f"{len(result.problems)} problems.")
    )
    return 0 if result.ok else 1


def _dev(args: argparse.Namespace) -> int:
    from sneakers_app import devserver

    if args.production:
        return devserver.run_production(seed=not args.no_seed)
    return devserver.run(seed=not args.no_seed)


def _exec(command: list[str], env: dict[str, str] | None = None) -> int:
    """Become `command` (signals then reach it directly, as a process manager expects)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, {**os.environ, **(env or {})})  # noqa: S606 - our own argv


def _web(args: argparse.Namespace) -> int:
    from sneakers_app import embedded
    from sneakers_app.settings import get_settings

    settings = get_settings()
    workers = args.workers if args.workers is not None else settings.WEB_WORKERS
    try:
        env = embedded.web_env(settings, workers)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _empty_metrics_dir()
    mode: embedded.ReflexMode = "backend" if args.backend_only else "prod"
    return _exec(embedded.reflex_command(mode, args.loglevel), embedded.app_env(env))


def _empty_metrics_dir() -> None:
    """The web workers' shared metrics files start empty: counts of an earlier run's workers
    would otherwise be added to this one's."""
    import shutil
    from pathlib import Path

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def _worker(args: argparse.Namespace) -> int:
    from sneakers_app import embedded

    return _exec(embedded.celery_worker_command(args.concurrency, args.loglevel))


def _beat(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sneakers_app import embedded
    from sneakers_app.settings import VAR_DIR

    schedule = Path(args.schedule) if args.schedule else VAR_DIR / "celerybeat"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    return _exec(embedded.beat_command(schedule, args.loglevel))


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "migrate": _migrate,
    "downgrade": _downgrade,
    "seed": _seed,
    "create-staff": _create_staff,
    "reset-second-factor": _reset_second_factor,
    "demo-totp": _demo_totp,
    "consume-journal": _consume_journal,
    "market-feed": _market_feed,
    "open-books": _open_books,
    "rebuild-books": _rebuild_books,
    "reconcile": _reconcile,
    "ledger-check": _ledger_check,
    "dev": _dev,
    "web": _web,
    "worker": _worker,
    "beat": _beat,
}


def _staff_password() -> str | None:
    """STAFF_PASSWORD, or typed twice at a terminal; None without either (enough to promote an
    existing account; a new one is refused). There is no default and no command-line flag."""
    from_env = os.environ.get("STAFF_PASSWORD")
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("Password for a new account (10+ characters): ")
    if getpass.getpass("The same password again: ") != first:
        print("error: the passwords differ", file=sys.stderr)
        raise SystemExit(2)
    return first


if __name__ == "__main__":
    sys.exit(main())
