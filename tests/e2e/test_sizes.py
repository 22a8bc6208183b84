"""Sizes in a real browser: the product page in the member's size system (remembered across a
reload and shown on /account), each size's conversions, kids' sizes, a logged-out visitor's
choice kept for the tab, and the browse filter reading any system."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session

from sneakers_app.db import make_engine
from sneakers_app.services import accounts
from tests.e2e.conftest import DESKTOP, PHONE, LiveApp, shoot, size_tile, user_menu, wait_hydrated
from tests.e2e.conftest import submit_login as log_in

DUNK = "nike-dunk-low-retro-white-black"
DUNK_GS = "nike-dunk-low-gs-white-black"
AJ1_GS = "air-jordan-1-retro-high-og-gs-chicago-lost-and-found"
PASSWORD = "sizes password 123"


def new_member(app: LiveApp) -> str:
    """A member of their own (the size system they pick is theirs alone)."""
    email = f"sizes-{uuid.uuid4().hex[:8]}@example.com"
    engine = make_engine(app.database_url)
    with Session(engine) as session:
        accounts.sign_up(session=session, email=email, display_name="Size Fan", password=PASSWORD)
        session.commit()
    engine.dispose()
    return email


def system(page: Page, name: str) -> Locator:
    """A size system in the "Show sizes in" choice (product page or account)."""
    return page.get_by_role("radiogroup", name="Show sizes in").get_by_role("radio", name=name)


def shoot_both(page: Page, name: str) -> None:
    """The page as it is, at desktop and at phone width."""
    shoot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_sizes_in_eu_stay_eu_after_a_reload(
    page: Page, live_app: LiveApp, console_errors: list[str]
) -> None:
    email = new_member(live_app)
    log_in(page, live_app, email, PASSWORD)
    expect(user_menu(page)).to_contain_text("Size Fan")
    page.goto(f"{live_app.url}/product/{DUNK}")
    wait_hydrated(page)
    expect(size_tile(page, "US M 10")).to_be_visible()
    system(page, "EU").click()
    tile = size_tile(page, "EU 44")
    expect(tile).to_be_visible()
    expect(size_tile(page, "EU 43")).to_be_visible()
    tile.click()
    expect(page.locator("#size-conversions")).to_have_text(
        "US M 10 \u00b7 US W 11.5 \u00b7 UK 9 \u00b7 EU 44 \u00b7 28 cm"
    )
    expect(tile).to_have_attribute("title", re.compile("UK 9"))
    expect(page).to_have_url(re.compile(r"\?size=10$"))
    shoot_both(page, "sizes-product-eu")

    page.reload()
    wait_hydrated(page)
    expect(size_tile(page, "EU 44")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#size-conversions")).to_contain_text("UK 9")
    # The account page shows the same choice, and a change there shows on the product.
    page.goto(f"{live_app.url}/account")
    expect(system(page, "EU")).to_have_attribute("data-state", "on")
    page.get_by_role("heading", name="Sizes", exact=True).scroll_into_view_if_needed()
    shoot_both(page, "sizes-account")
    system(page, "UK").click()
    expect(system(page, "UK")).to_have_attribute("data-state", "on")
    page.goto(f"{live_app.url}/product/{DUNK}")
    wait_hydrated(page)
    expect(size_tile(page, "UK 9")).to_be_visible()
    assert console_errors == []


def test_kids_sizes_and_a_logged_out_choice(
    page: Page, live_app: LiveApp, console_errors: list[str]
) -> None:
    page.goto(f"{live_app.url}/product/{AJ1_GS}")
    wait_hydrated(page)
    expect(size_tile(page, "GS 7Y")).to_be_visible()
    expect(page.locator("#size-conversions")).to_contain_text("Grade school")
    size_tile(page, "GS 7Y").click()
    expect(page.locator("#size-conversions")).to_have_text(
        "GS 7Y \u00b7 US M 7 \u00b7 US W 8.5 \u00b7 UK 6 \u00b7 EU 40 \u00b7 25 cm"
    )
    system(page, "US women's").click()
    expect(size_tile(page, "US W 8.5")).to_have_attribute("aria-pressed", "true")
    shoot_both(page, "sizes-product-gs")
    # A visitor's choice lasts for the tab's session, without an account.
    page.reload()
    wait_hydrated(page)
    expect(size_tile(page, "US W 8.5")).to_be_visible()
    assert console_errors == []


def test_browse_filters_by_a_size_in_any_system(
    page: Page, live_app: LiveApp, console_errors: list[str]
) -> None:
    page.goto(f"{live_app.url}/")
    wait_hydrated(page)
    grid = page.locator("#product-grid")  # the cards' grid: nothing names it
    expect(grid.locator(f'a[href="/product/{DUNK_GS}"]')).to_have_count(1)
    size_filter = page.get_by_label("Size, in any system")
    search = page.get_by_label("Search sneakers")
    size_filter.fill("UK 9")
    size_filter.press("Enter")
    expect(page).to_have_url(re.compile(r"size=UK\+9"))
    expect(page.locator("#result-count")).to_contain_text("in size UK 9")
    # Grade-school runs end at UK 6; Nike's UK 9 is its US 10.
    expect(grid.locator(f'a[href="/product/{DUNK_GS}"]')).to_have_count(0)
    expect(grid.locator(f'a[href="/product/{DUNK}"]')).to_have_count(1)
    shoot(page, "sizes-browse-uk9-desktop")
    page.reload()
    wait_hydrated(page)
    expect(size_filter).to_have_value("UK 9")
    expect(grid.locator(f'a[href="/product/{DUNK_GS}"]')).to_have_count(0)
    # The search box reads a size too: EU 40 is the grade-school 7Y.
    size_filter.fill("")
    search.fill("dunk gs eu 40")
    search.press("Enter")
    expect(grid.locator(f'a[href="/product/{DUNK_GS}"]')).to_have_count(1)
    expect(grid.locator(f'a[href="/product/{DUNK}"]')).to_have_count(0)
    # Not a size: said so, and the filter is not applied.
    search.fill("")
    size_filter.fill("size banana")
    size_filter.press("Enter")
    expect(size_filter).to_have_accessible_description(re.compile("EU 44"))
    expect(grid.locator(f'a[href="/product/{DUNK_GS}"]')).to_have_count(1)
    assert console_errors == []
