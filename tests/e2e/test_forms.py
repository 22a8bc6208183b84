"""Forms in a real browser: the address form shows every field's error at once and the card
wraps long lines; sign-up shows the password rule first, refuses a common password with a
hint, and an edit clears the old error."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app.models import User
from sneakers_app.services import addresses
from tests.e2e.conftest import DESKTOP, PHONE, LiveApp, emailed_link, shoot, wait_hydrated
from tests.e2e.test_account_security import PASSWORD, db, log_in, member

__all__ = ["db"]  # the module's database fixture, shared with the account security tests

REQUIRED = ("full_name", "line1", "city", "region", "postal_code")
LONG_WORD = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" * 3


@pytest.mark.parametrize(("label", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_address_form_shows_every_error_at_once_and_long_lines_wrap(
    page: Page,
    live_app: LiveApp,
    db: Engine,
    label: str,
    size: ViewportSize,
    console_errors: list[str],
) -> None:
    email = member(db)
    page.set_viewport_size(size)
    log_in(page, live_app, email, PASSWORD, next_path="/account")
    page.locator("#address-add").click()
    page.locator("#address-save").click()
    for name in REQUIRED:
        expect(page.locator(f"#address-{name}-error")).to_be_visible()
    expect(page.locator("#address-full_name-error")).to_have_text("Enter the full name.")
    expect(page.locator("#address-line2-error")).to_have_count(0)
    expect(page.locator("#address-country-error")).to_have_count(0)
    shoot(page, f"address-form-errors-{label}")

    # Typing in one field clears its message only.
    page.locator("#address-city").fill("London")
    expect(page.locator("#address-city-error")).to_have_count(0)
    expect(page.locator("#address-line1-error")).to_be_visible()

    page.locator("#address-full_name").fill(f"Sam {LONG_WORD}")
    page.locator("#address-line1").fill(f"1 {LONG_WORD} Road")
    page.locator("#address-line2").fill(LONG_WORD[:190])
    page.locator("#address-region").fill("")
    page.locator("#address-postal_code").fill("ll61 5uj")
    page.locator("#address-country").select_option(label="United Kingdom")
    shoot(page, f"address-form-filled-{label}")
    page.locator("#address-save").click()
    card = page.locator(".address-card")
    expect(card).to_contain_text("London LL61 5UJ · United Kingdom")
    with Session(db) as session:
        user_id = session.exec(select(User.id).where(User.email == email)).one()
        assert user_id is not None
        (saved,) = addresses.list_addresses(session=session, user_id=user_id)
        assert saved.country == "GB"
    # Nothing in the card reaches past its edges: the long words wrap.
    card.scroll_into_view_if_needed()
    shoot(page, f"address-card-long-lines-{label}")
    outside = card.evaluate(
        """card => {
            const box = card.getBoundingClientRect();
            return [...card.querySelectorAll('*')].filter(el => {
                const r = el.getBoundingClientRect();
                return r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1);
            }).map(el => el.tagName + ' ' + el.className + ' ' + el.textContent.slice(0, 30));
        }"""
    )
    assert outside == []
    assert card.evaluate("card => card.scrollWidth <= card.clientWidth")
    card_box, page_width = card.bounding_box(), page.evaluate("document.body.clientWidth")
    assert card_box is not None and card_box["x"] + card_box["width"] <= page_width
    assert console_errors == []


@pytest.mark.parametrize(("label", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_sign_up_shows_the_rule_refuses_a_common_password_and_succeeds_once_fixed(
    page: Page,
    live_app: LiveApp,
    label: str,
    size: ViewportSize,
    console_errors: list[str],
) -> None:
    page.set_viewport_size(size)
    page.goto(f"{live_app.url}/signup")
    wait_hydrated(page)  # a submit before on_load ran would be reset by it
    expect(page.locator("#password-hint")).to_contain_text("At least 10 characters")
    shoot(page, f"signup-rule-{label}")
    email = f"forms-{uuid.uuid4().hex[:8]}@example.com"
    page.locator("#email").fill(email)
    page.locator("#display_name").fill("Robin Runner")
    page.locator("#password").fill("password1234")
    page.locator("#signup-submit").click()
    expect(page.locator("#password-error")).to_contain_text("too easy to guess")
    expect(page.locator("#password-error")).to_contain_text("unrelated words")
    shoot(page, f"signup-common-password-{label}")
    # Typing a new one clears the old answer before anything is submitted.
    page.locator("#password").fill("robin runner")
    expect(page.locator("#password-error")).to_have_count(0)
    page.locator("#signup-submit").click()
    expect(page.locator("#password-error")).to_contain_text("your name or email")
    page.locator("#password").fill("plum kettle marathon")
    page.locator("#signup-submit").click()
    expect(page.locator("#signup-sent")).to_contain_text(email)
    page.goto(emailed_link(live_app, email, "/signup/confirm"))
    expect(page.locator("#user-menu")).to_contain_text("Robin Runner")
    assert console_errors == []


def test_a_log_in_error_clears_when_the_password_is_edited(
    page: Page, live_app: LiveApp, db: Engine, console_errors: list[str]
) -> None:
    email = member(db)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_app.url}/login")
    wait_hydrated(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill("not the password")
    page.locator("#login-submit").click()
    expect(page.locator("#password-error")).to_contain_text("Wrong email or password")
    page.locator("#password").press("End")
    page.locator("#password").press("Backspace")
    expect(page.locator("#password-error")).to_have_count(0)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-submit").click()
    expect(page.locator("#user-menu")).to_be_visible()
    assert console_errors == []
