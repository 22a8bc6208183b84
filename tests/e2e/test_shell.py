"""The app shell in a real browser: accounts, browsing, search, product pages, access control."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.e2e.conftest import (
    DESKTOP,
    E2E_MEMBER,
    E2E_STAFF,
    PHONE,
    LiveApp,
    emailed_link,
    log_out,
    nav_log_in,
    pass_second_factor,
    shoot,
    user_menu,
    wait_hydrated,
)
from tests.e2e.conftest import submit_login as log_in


def product_cards(page: Page) -> Locator:
    """The browse page's product cards (links); the grid itself has no name."""
    return page.locator("#product-grid").get_by_role("link")


def test_sign_up_reload_log_out_log_in(
    page: Page, live_app: LiveApp, console_errors: list[str]
) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{live_app.url}/signup")
    wait_hydrated(page)  # a submit before on_load ran would be reset by it
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Sneaker Fan")
    page.get_by_label("Password").fill("a long enough password")
    shoot(page, "signup-desktop")
    page.get_by_role("button", name="Create account").click()
    # The account is made by the emailed link (the form never says whether an address is taken).
    expect(page.get_by_text(email)).to_be_visible()
    expect(nav_log_in(page)).to_be_visible()
    shoot(page, "signup-sent-desktop")
    page.goto(emailed_link(live_app, email, "/signup/confirm"))
    expect(user_menu(page)).to_contain_text("Sneaker Fan")
    expect(page).to_have_url(f"{live_app.url}/")
    page.reload()
    expect(user_menu(page)).to_contain_text("Sneaker Fan")
    log_out(page)
    page.reload()
    expect(nav_log_in(page)).to_be_visible()
    log_in(page, live_app, email, "a long enough password")
    expect(user_menu(page)).to_contain_text("Sneaker Fan")
    assert console_errors == []


def test_sign_up_and_log_in_refusals(page: Page, live_app: LiveApp) -> None:
    page.goto(f"{live_app.url}/signup")
    wait_hydrated(page)  # a submit before on_load ran would be reset by it
    page.get_by_label("Email").fill(E2E_MEMBER[0])
    page.get_by_label("Display name").fill("Copycat")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    # A taken address gets the same answer as a new one; its owner is told by email.
    expect(page.get_by_text(E2E_MEMBER[0])).to_be_visible()
    assert "/forgot-password" in emailed_link(live_app, E2E_MEMBER[0], "/forgot-password")
    page.goto(f"{live_app.url}/signup")
    wait_hydrated(page)
    page.get_by_label("Email").fill(f"other-{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_label("Display name").fill("Copycat")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("at least 10 characters")
    )
    shoot(page, "signup-errors-desktop")
    log_in(page, live_app, E2E_MEMBER[0], "not the password")
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("Wrong email or password")
    )
    expect(nav_log_in(page)).to_be_visible()


def test_search_filter_and_open_a_product(
    page: Page, live_app: LiveApp, console_errors: list[str]
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(live_app.url)
    cards = product_cards(page)
    expect(cards.first).to_be_visible()
    total = cards.count()
    assert total >= 40
    shoot(page, "browse-desktop")
    page.get_by_label("Search sneakers").fill("jordan")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#result-count")).to_contain_text('for "jordan"')
    expect(page).to_have_url(re.compile(r"\?q=jordan"))
    matched = cards.count()
    assert 0 < matched < total
    for text in cards.all_inner_texts():
        assert "jordan" in text.lower()
    page.get_by_label("Search sneakers").fill("'; drop table products; --")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="No sneakers match")).to_be_visible()
    shoot(page, "browse-no-results-desktop")
    page.goto(f"{live_app.url}/?q=" + "x" * 5000)
    expect(page.get_by_role("heading", name="No sneakers match")).to_be_visible()
    page.goto(f"{live_app.url}/?q=%22%2A%27")
    expect(page.locator("#result-count")).to_be_visible()
    page.goto(live_app.url)
    expect(cards).to_have_count(total)
    first_name = cards.first.inner_text().split("\n")[1]
    cards.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(first_name)
    tiles = page.get_by_role("group", name="Sizes").get_by_role("button")
    expect(tiles.first).to_be_visible()
    assert tiles.count() >= 12
    shoot(page, "product-desktop")
    page.goto(f"{live_app.url}/product/no-such-sneaker")
    expect(page.get_by_role("heading", name="We couldn't find that sneaker")).to_be_visible()
    shoot(page, "product-not-found-desktop")
    assert console_errors == []


def test_brand_filter_from_url(page: Page, live_app: LiveApp) -> None:
    page.goto(f"{live_app.url}/?brand=Nike")
    cards = product_cards(page)
    expect(cards.first).to_be_visible()
    for text in cards.all_inner_texts():
        assert text.startswith("Nike")


def test_staff_console_is_staff_only(page: Page, live_app: LiveApp) -> None:
    page.goto(f"{live_app.url}/verification")
    expect(page).to_have_url(re.compile(r"/login\?next=/verification"))
    log_in(page, live_app, *E2E_MEMBER, next_path="/verification")
    expect(page).to_have_url(f"{live_app.url}/verification")
    console = page.get_by_role("heading", name="Verification console")
    expect(page.get_by_role("heading", name="Staff only")).to_be_visible()
    expect(console).to_have_count(0)
    shoot(page, "verification-denied-desktop")
    log_out(page)
    log_in(page, live_app, *E2E_STAFF, next_path="/verification")
    # Staff pass the second factor once per session before the console opens.
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(console).to_have_count(0)
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Open the console").click()
    expect(page.get_by_label("6-digit code")).to_have_accessible_description(
        re.compile("not right")
    )
    shoot(page, "verification-second-factor-desktop")
    pass_second_factor(page)
    shoot(page, "verification-desktop")


@pytest.mark.parametrize(("label", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
# The unknown address is answered 404 on purpose, and the browser logs the status.
@pytest.mark.console_errors_expected(r"status of 404 .*/no/such/page")
def test_screenshots_of_every_page(
    page: Page, live_app: LiveApp, label: str, size: ViewportSize
) -> None:
    page.set_viewport_size(size)
    log_in(page, live_app, *E2E_STAFF)
    expect(user_menu(page)).to_be_visible()
    for path, name in [
        ("/", "browse"),
        ("/portfolio", "portfolio"),
        ("/sell", "sell"),
        ("/orders", "orders"),
        ("/orders/1", "order"),
        ("/notifications", "notifications"),
        ("/account", "account"),
        ("/verification", "verification"),
        ("/no/such/page", "404"),
    ]:
        page.goto(f"{live_app.url}{path}")
        page.wait_for_load_state("networkidle")
        shoot(page, f"{name}-{label}")
    page.goto(live_app.url)
    product_cards(page).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shoot(page, f"product-{label}")
