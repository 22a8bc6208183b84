"""Account security in a real browser: the forgotten-password link, password change and
"log out everywhere" on /account, and a new staff member setting up the second factor."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session

from sneakers_app.db import make_engine
from sneakers_app.services import accounts
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveApp,
    button,
    emailed_link,
    log_in,
    nav_log_in,
    shoot,
    wait_hydrated,
)

PASSWORD = "a long enough password"
NEW_PASSWORD = "another long passphrase"


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def member(db: Engine, *, staff: bool = False) -> str:
    email = f"sec-{uuid.uuid4().hex[:8]}@example.com"
    with Session(db) as session:
        accounts.sign_up(
            session=session,
            email=email,
            display_name="Sam Secure",
            password=PASSWORD,
            is_staff=staff,
        )
        session.commit()
    return email


def test_forgotten_password_by_emailed_link(
    page: Page, live_app: LiveApp, db: Engine, console_errors: list[str]
) -> None:
    email = member(db)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_app.url}/login")
    wait_hydrated(page)
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(f"{live_app.url}/forgot-password")
    # The login page has an Email field too: type only once this page has replaced it.
    send = button(page, "Email me a link")
    expect(send).to_be_visible()
    wait_hydrated(page)
    page.get_by_label("Email").fill(email)
    shoot(page, "forgot-password-desktop")
    send.click()
    expect(page.get_by_text(email)).to_be_visible()
    shoot(page, "forgot-password-sent-desktop")
    link = emailed_link(live_app, email, "/reset-password")
    page.goto(link)
    expect(page.get_by_text(email)).to_be_visible()
    new_password, save = page.get_by_label("New password"), button(page, "Save new password")
    new_password.fill("short")
    save.click()
    expect(new_password).to_have_accessible_description(re.compile("at least 10"))
    new_password.fill(NEW_PASSWORD)
    shoot(page, "reset-password-desktop")
    save.click()
    expect(page).to_have_url(f"{live_app.url}/login")
    log_in(page, live_app, email, NEW_PASSWORD)
    # The link worked once.
    page.goto(link)
    expect(page.get_by_text(re.compile("already used"))).to_be_visible()
    shoot(page, "reset-password-used-desktop")
    assert console_errors == []


def test_password_change_and_log_out_everywhere(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    email = member(db)
    here = browser.new_context(viewport=DESKTOP).new_page()
    elsewhere = browser.new_context(viewport=PHONE).new_page()
    log_in(here, live_app, email, PASSWORD, "/account")
    log_in(elsewhere, live_app, email, PASSWORD, "/account")
    security = here.get_by_role("heading", name="Password and sessions")
    expect(security).to_be_visible()
    current, new = here.get_by_label("Current password"), here.get_by_label("New password")
    change = button(here, "Change password")
    current.fill("not my password")
    new.fill(NEW_PASSWORD)
    change.click()
    expect(current).to_have_accessible_description(re.compile("not your current password"))
    current.fill(PASSWORD)
    new.fill(NEW_PASSWORD)
    change.click()
    expect(here.get_by_text("Password changed.")).to_be_visible()
    shoot(here, "account-security-desktop")
    # The other device is logged out; this one is not.
    elsewhere.reload()
    expect(elsewhere).to_have_url(f"{live_app.url}/login?next=/account")
    here.reload()
    expect(security).to_be_visible()
    # Log out everywhere ends this session too.
    log_in(elsewhere, live_app, email, NEW_PASSWORD, "/account")
    button(here, "Log out everywhere").click()
    shoot(here, "account-logout-everywhere-desktop")
    button(here.get_by_role("alertdialog"), "Log out everywhere").click()
    expect(here).to_have_url(f"{live_app.url}/login")
    expect(nav_log_in(here)).to_be_visible()
    elsewhere.reload()
    expect(elsewhere).to_have_url(f"{live_app.url}/login?next=/account")


def test_new_staff_set_up_the_second_factor(page: Page, live_app: LiveApp, db: Engine) -> None:
    email = member(db, staff=True)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, email, PASSWORD, "/verification")
    console = page.get_by_role("heading", name="Verification console")
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    expect(console).to_have_count(0)
    button(page, "Set up my authenticator app").click()
    expect(page.get_by_role("img", name="QR code")).to_be_visible()
    secret_code = page.locator("#totp-secret")  # the secret as text: nothing else names it
    secret = secret_code.inner_text().strip()
    shoot(page, "verification-enrol-desktop")
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    button(page, "Confirm and open the console").click()
    expect(console).to_be_visible()
    # The secret is gone from the page once confirmed; a reload keeps the console open.
    expect(secret_code).to_have_count(0)
    page.reload()
    expect(console).to_be_visible()
