"""Forms in a real browser: the address form shows every field's error at once and the card
wraps long lines; sign-up shows the password rule first, refuses a common password with a
hint, and an edit clears the old error."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app.models import User
from sneakers_app.services import addresses
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveApp,
    button,
    emailed_link,
    fill_address,
    log_in,
    shoot,
    user_menu,
    wait_hydrated,
)
from tests.e2e.test_account_security import PASSWORD, db, member

__all__ = ["db"]  # the module's database fixture, shared with the account security tests

REQUIRED = ("Full name", "Street address", "City", "State / region", "ZIP / postal code")
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
    button(page, "Add address").click()
    form = page.get_by_role("dialog", name="Add an address")
    button(form, "Save address").click()
    for label in REQUIRED:
        expect(form.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Full name")).to_have_accessible_description("Enter the full name.")
    for label in ("Apartment, suite", "Country"):
        expect(form.get_by_label(label)).to_have_attribute("aria-invalid", "false")
    shoot(page, f"address-form-errors-{label}")

    # Typing in one field clears its message only.
    form.get_by_label("City").fill("London")
    expect(form.get_by_label("City")).to_have_attribute("aria-invalid", "false")
    expect(form.get_by_label("Street address")).to_have_attribute("aria-invalid", "true")

    form.get_by_label("Apartment, suite").fill(LONG_WORD[:190])
    fill_address(form, f"Sam {LONG_WORD}", f"1 {LONG_WORD} Road", "London", "", "ll61 5uj")
    form.get_by_label("Country").select_option(label="United Kingdom")
    shoot(page, f"address-form-filled-{label}")
    button(form, "Save address").click()
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
    password = page.get_by_label("Password")
    expect(password).to_have_accessible_description(re.compile("At least 10 characters"))
    shoot(page, f"signup-rule-{label}")
    email = f"forms-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Robin Runner")
    password.fill("password1234")
    create = button(page, "Create account")
    create.click()
    expect(password).to_have_accessible_description(
        re.compile("too easy to guess.*unrelated words")
    )
    shoot(page, f"signup-common-password-{label}")
    # Typing a new one clears the old answer before anything is submitted.
    password.fill("robin runner")
    expect(password).to_have_attribute("aria-invalid", "false")
    create.click()
    expect(password).to_have_accessible_description(re.compile("your name or email"))
    password.fill("plum kettle marathon")
    create.click()
    expect(page.get_by_text(email)).to_be_visible()
    page.goto(emailed_link(live_app, email, "/signup/confirm"))
    expect(user_menu(page)).to_contain_text("Robin Runner")
    assert console_errors == []


def test_a_log_in_error_clears_when_the_password_is_edited(
    page: Page, live_app: LiveApp, db: Engine, console_errors: list[str]
) -> None:
    email = member(db)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_app.url}/login")
    wait_hydrated(page)
    password = page.get_by_label("Password")
    page.get_by_label("Email").fill(email)
    password.fill("not the password")
    log_in_button = button(page.locator("form"), "Log in")
    log_in_button.click()
    expect(password).to_have_accessible_description(re.compile("Wrong email or password"))
    password.press("End")
    password.press("Backspace")
    expect(password).to_have_attribute("aria-invalid", "false")
    password.fill(PASSWORD)
    log_in_button.click()
    expect(user_menu(page)).to_be_visible()
    assert console_errors == []
