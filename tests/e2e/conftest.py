"""End-to-end fixtures: the real app (Reflex production build) on a free port, over a migrated
and seeded SQLite database, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlmodel import Session

from sneakers_app import migrations
from sneakers_app.db import make_engine
from sneakers_app.services import accounts
from sneakers_app.settings import PROJECT_ROOT
from tests.support.servers import free_port

OUTPUT_DIR = PROJECT_ROOT / "test-output" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

E2E_STAFF = ("staff-e2e@example.com", "staff password 123")
E2E_MEMBER = ("member-e2e@example.com", "member password 123")


@dataclass(frozen=True)
class LiveApp:
    url: str
    database_url: str


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} in {timeout}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    work = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{work / 'e2e.db'}"
    migrations.upgrade(database_url)
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        ENVIRONMENT="test",
        FRONTEND_PORT=str(port),
        BACKEND_PORT=str(port),
        API_URL=f"http://localhost:{port}",
        APP_URL=f"http://localhost:{port}",
    )
    seed = subprocess.run(
        [sys.executable, "-m", "sneakers_app", "seed"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert seed.returncode == 0, seed.stdout + seed.stderr
    engine = make_engine(database_url)
    with Session(engine) as session:
        for (email, password), staff in ((E2E_STAFF, True), (E2E_MEMBER, False)):
            accounts.sign_up(
                session=session,
                email=email,
                display_name="Staff" if staff else "Member",
                password=password,
                is_staff=staff,
            )
        session.commit()
    engine.dispose()
    log = work / "reflex.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", "prod", "--loglevel", "info"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_http(f"http://localhost:{port}/", process, 600, log)
        yield LiveApp(url=f"http://localhost:{port}", database_url=database_url)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Browser console errors during a test (asserted empty by the tests that care)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def shoot(page: Page, name: str) -> None:
    """Save a screenshot at the current size under test-output/screenshots/."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / f"{name}.png"), full_page=True)


def wait_hydrated(page: Page) -> None:
    """Reflex pages are interactive once the websocket is connected and on_load has run."""
    page.wait_for_load_state("networkidle")
