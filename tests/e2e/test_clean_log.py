"""The logs stay quiet.

The backend's, when a member closes a tab: the tab's background work (the notification watcher
polls every POLL_SECONDS and gives up after MAX_MISSED polls without the tab) sends nothing to
a tab that is gone, so Reflex never warns "Attempting to send delta to disconnected client".

The terminal's, for `./scripts/dev.sh` (the README's first command) from start, through a few
page visits (the catalog, a product, a log-in, the notifications), to Ctrl-C: a line per part
started, the URL and the demo logins; at Ctrl-C each part stopped in order (the
processes using Redis before Redis), with no traceback, warning or shutdown notice.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlmodel import Session, col, select

from sneakers_app import embedded, gc_tuning
from sneakers_app.db import make_engine
from sneakers_app.models import Product
from sneakers_app.seed import DEMO_ACCOUNTS
from sneakers_app.settings import PROJECT_ROOT
from state.notifications import MAX_MISSED, POLL_SECONDS
from tests.e2e.conftest import (
    DEMO_BUYER,
    DESKTOP,
    LiveApp,
    log_in,
    notifications_link,
    wait_hydrated,
)

DISCONNECTED = "Attempting to send delta to disconnected client"


def test_closing_a_members_tabs_leaves_no_warning_in_the_log(
    browser: Browser, live_app: LiveApp
) -> None:
    log = live_app.processes.log("reflex")
    assert log is not None
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, live_app, DEMO_BUYER.email, DEMO_BUYER.password, next_path="/portfolio")
    for path in ("/notifications", "/orders"):
        page.goto(live_app.url + path)
        wait_hydrated(page)
        expect(notifications_link(page)).to_be_visible()  # its watcher runs
    # Watchers of tabs closed before this one have given up by now.
    time.sleep(POLL_SECONDS * (MAX_MISSED + 2))
    start = log.stat().st_size
    context.close()
    # The watcher notices the tab is gone within MAX_MISSED polls, then stops.
    time.sleep(POLL_SECONDS * (MAX_MISSED + 3))
    with log.open("rb") as read:
        read.seek(start)
        written = read.read().decode(errors="replace")
    assert DISCONNECTED not in written, written[-2000:]


# What a newcomer must not see: a traceback, a log record (warnings, errors, or info that is
# not for them), Celery's shutdown notices.
ALARMING = re.compile(
    r"Traceback|warning|error|shutdown|\[(debug|info|warning|error|critical)\s*\]", re.IGNORECASE
)
PARTS = (
    "redis-server",
    "localstripe",
    "journal consumer",
    "market-data feed",
    "Celery worker",
    "web app",
)
# What the test session sets for itself (tests/conftest.py) and dev.sh must not inherit.
TEST_SETTINGS = ("ENVIRONMENT", "EMBEDDED_REDIS_PORT", "REDIS_URL", "CELERY_BROKER_URL")


def _dev_env(work: Path) -> tuple[dict[str, str], int]:
    """The environment of dev.sh on its own ports and folder (nothing of a developer's
    var/ or the ports of a copy they run); and its frontend port."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_SETTINGS}
    front, back, stripe, redis_port, feed = (embedded.free_port() for _ in range(5))
    env.update(
        SNEAKERS_VAR_DIR=str(work / "var"),
        DATABASE_URL=f"sqlite:///{work / 'dev.db'}",
        EMBEDDED_REDIS_PORT=str(redis_port),
        STRIPE_API_BASE=f"http://localhost:{stripe}",
        STRIPE_JS_URL=f"http://localhost:{stripe}/js.stripe.com/v3/",
        FRONTEND_PORT=str(front),
        BACKEND_PORT=str(back),
        FEED_PORT=str(feed),
        APP_URL=f"http://localhost:{front}",
        API_URL=f"http://localhost:{back}",
    )
    return env, front


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = log.read_text(errors="replace")
        if text in written:
            return written
        if process.poll() is not None:
            raise AssertionError(f"dev.sh exited with {process.returncode}:\n{written[-4000:]}")
        time.sleep(0.5)
    raise AssertionError(f"no {text!r} within {timeout:.0f}s:\n{log.read_text()[-4000:]}")


@dataclass
class _DevSite:
    url: str


def _visit_a_few_pages(browser: Browser, site: _DevSite, database_url: str) -> None:
    """What a newcomer does first: the catalog, a product, a log-in, their notifications; then
    they close the tab."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        slug = session.exec(select(Product.slug).order_by(col(Product.id))).first()
    engine.dispose()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    for path in ("/", f"/product/{slug}"):
        page.goto(site.url + path, timeout=300_000)  # the first visit compiles the page
        wait_hydrated(page)
    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=60_000)
    log_in(page, site, DEMO_BUYER.email, DEMO_BUYER.password, next_path="/notifications")
    expect(notifications_link(page)).to_be_visible()
    context.close()


@pytest.mark.builds_pages
@pytest.mark.console_errors_expected(
    # React's development build, in strict mode, on a library's component (react-helmet's
    # SideEffect, for Reflex's page head); the production build has no such check.
    r"UNSAFE_componentWillMount in strict mode",
)
def test_dev_sh_says_what_runs_and_stops_each_part_in_order_at_ctrl_c(
    browser: Browser, tmp_path: Path
) -> None:
    env, front = _dev_env(tmp_path)
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [str(PROJECT_ROOT / "scripts" / "dev.sh")],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        _wait_for(log, "Press Ctrl-C to stop everything.", dev, timeout=900)
        embedded.wait_for_port(int(env["BACKEND_PORT"]), timeout=120, what="the backend")
        started = log.read_text(errors="replace")
        _visit_a_few_pages(browser, _DevSite(f"http://localhost:{front}"), env["DATABASE_URL"])
        time.sleep(gc_tuning.SETTLE_SECONDS + 2)  # what the backend does once started is logged
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its foreground group
        dev.wait(timeout=120)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGINT)
            dev.wait(timeout=60)
    written = log.read_text(errors="replace")
    stopping = written[len(started) :].splitlines()
    assert dev.returncode == 0, written[-4000:]

    starting = [line for line in started.splitlines() if line.startswith("Starting")]
    for part in PARTS:
        assert len([line for line in starting if part in line]) == 1, (part, starting)
    assert all(sum(part in line for part in PARTS) == 1 for line in starting), starting
    assert f"running at http://localhost:{front}" in started
    feed = f"ws://127.0.0.1:{env['FEED_PORT']}/api/v1/stream"
    assert f"Market-data feed (websocket): {feed}" in started
    for account in DEMO_ACCOUNTS:
        assert re.search(rf"{re.escape(account.email)}\s+{re.escape(account.password)}", started)
    alarming = [line for line in written.splitlines() if ALARMING.search(line)]
    assert not alarming, written[-4000:]

    stopped = [line.removesuffix(" stopped") for line in stopping if line.endswith(" stopped")]
    assert sorted(stopped) == sorted(PARTS), stopping
    redis_at = stopped.index("redis-server")
    assert stopped.index("journal consumer") < redis_at, stopping
    assert stopped.index("Celery worker") < redis_at, stopping
    assert stopped.index("market-data feed") < redis_at, stopping
    assert stopping[-1] == "Stopped.", stopping
