"""The backend's log stays quiet when a member closes a tab: the tab's background work (the
notification watcher polls every POLL_SECONDS and gives up after MAX_MISSED polls without the
tab) sends nothing to a tab that is gone, so Reflex never warns "Attempting to send delta to
disconnected client"."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, expect

from state.notifications import MAX_MISSED, POLL_SECONDS
from tests.e2e.conftest import DEMO_BUYER, DESKTOP, LiveApp, log_in, wait_hydrated

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
        expect(page.locator("#nav-notifications")).to_be_visible()  # its watcher runs
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
