"""Account security in a real browser: the forgotten-password link, password change and
"log out everywhere" on /account, and a new staff member setting up the second factor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session

from sneakers_app.db import make_engine
from sneakers_app.services import accounts
from tests.e2e.conftest import DESKTOP, PHONE, LiveApp, emailed_link, shoot, wait_hydrated

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


def log_in(page: Page, app: LiveApp, email: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{app.url}/login?next={next_path}")
    wait_hydrated(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()
    expect(page.locator("#user-menu")).to_be_visible()


def test_forgotten_password_by_emailed_link(
    page: Page, live_app: LiveApp, db: Engine, console_errors: list[str]
) -> None:
    email = member(db)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_app.url}/login")
    wait_hydrated(page)
    page.locator("#forgot-link").click()
    expect(page).to_have_url(f"{live_app.url}/forgot-password")
    # The login page has an #email field too: type only once this page has replaced it.
    expect(page.locator("#reset-submit")).to_be_visible()
    wait_hydrated(page)
    page.locator("#email").fill(email)
    shoot(page, "forgot-password-desktop")
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-sent")).to_contain_text(email)
    shoot(page, "forgot-password-sent-desktop")
    link = emailed_link(live_app, email, "/reset-password")
    page.goto(link)
    expect(page.locator("#reset-for")).to_contain_text(email)
    page.locator("#new_password").fill("short")
    page.locator("#new-password-submit").click()
    expect(page.locator("#new_password-error")).to_contain_text("at least 10")
    page.locator("#new_password").fill(NEW_PASSWORD)
    shoot(page, "reset-password-desktop")
    page.locator("#new-password-submit").click()
    expect(page).to_have_url(f"{live_app.url}/login")
    log_in(page, live_app, email, NEW_PASSWORD)
    # The link worked once.
    page.goto(link)
    expect(page.locator("#link-error")).to_contain_text("already used")
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
    expect(here.locator("#security-section")).to_be_visible()
    here.locator("#current_password").fill("not my password")
    here.locator("#new_password").fill(NEW_PASSWORD)
    here.locator("#change-password-submit").click()
    expect(here.locator("#current_password-error")).to_contain_text("not your current password")
    here.locator("#current_password").fill(PASSWORD)
    here.locator("#new_password").fill(NEW_PASSWORD)
    here.locator("#change-password-submit").click()
    expect(here.get_by_text("Password changed.")).to_be_visible()
    shoot(here, "account-security-desktop")
    # The other device is logged out; this one is not.
    elsewhere.reload()
    expect(elsewhere).to_have_url(f"{live_app.url}/login?next=/account")
    here.reload()
    expect(here.locator("#security-section")).to_be_visible()
    # Log out everywhere ends this session too.
    log_in(elsewhere, live_app, email, NEW_PASSWORD, "/account")
    here.locator("#logout-everywhere").click()
    shoot(here, "account-logout-everywhere-desktop")
    here.locator("#logout-everywhere-confirm").click()
    expect(here).to_have_url(f"{live_app.url}/login")
    expect(here.locator("#nav-login")).to_be_visible()
    elsewhere.reload()
    expect(elsewhere).to_have_url(f"{live_app.url}/login?next=/account")


def test_new_staff_set_up_the_second_factor(page: Page, live_app: LiveApp, db: Engine) -> None:
    email = member(db, staff=True)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, email, PASSWORD, "/verification")
    expect(page.locator("#enrol-title")).to_be_visible()
    expect(page.locator("#console-title")).to_have_count(0)
    page.locator("#enrol-start").click()
    expect(page.locator("#totp-qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    shoot(page, "verification-enrol-desktop")
    page.locator("#totp-code").fill(pyotp.TOTP(secret).now())
    page.locator("#totp-submit").click()
    expect(page.locator("#console-title")).to_be_visible()
    # The secret is gone from the page once confirmed; a reload keeps the console open.
    expect(page.locator("#totp-secret")).to_have_count(0)
    page.reload()
    expect(page.locator("#console-title")).to_be_visible()
