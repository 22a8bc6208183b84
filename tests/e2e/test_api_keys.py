"""API keys on /account in a real browser: a member makes a key, sees it once and copies it, the
key reads the member's bids through the public API, it is gone once dismissed, and revoked
(after a confirmation) the API refuses it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, expect
from sqlalchemy import Engine
from sqlmodel import Session

from sneakers_app.db import make_engine
from sneakers_app.services import accounts
from tests.e2e.conftest import DESKTOP, OUTPUT_DIR, PHONE, LiveApp, button, log_in, wait_hydrated
from tests.e2e.test_accessibility import _serious

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def member(db: Engine) -> str:
    email = f"keys-{uuid.uuid4().hex[:8]}@example.com"
    with Session(db) as session:
        accounts.sign_up(session=session, email=email, display_name="Kim Keys", password=PASSWORD)
        session.commit()
    return email


def my_bids(app: LiveApp, key: str) -> int:
    """The public API's answer to the key holder's "your open bids": its status code."""
    answer = httpx.get(
        f"{app.url}/api/v1/me/bids", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    return answer.status_code


def shoot_section(section: Locator, name: str) -> None:
    """A screenshot of the section alone, under test-output/screenshots/."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(OUTPUT_DIR / f"{name}.png"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_member_makes_a_key_sees_it_once_and_revokes_it(
    browser: Browser, live_app: LiveApp, db: Engine, viewport: dict[str, int]
) -> None:
    size = "desktop" if viewport == DESKTOP else "phone"
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    page = context.new_page()
    log_in(page, live_app, member(db), PASSWORD, "/account")
    section = page.locator("#api-keys")
    expect(section.get_by_role("heading", name="API keys")).to_be_visible()
    expect(section.get_by_text("No keys yet")).to_be_visible()
    docs = section.get_by_role("link", name="API documentation")
    feed = section.get_by_role("link", name="Market-data feed (AsyncAPI)")
    expect(docs).to_have_attribute("href", re.compile(r"^https?://[^/]+/api/v1/docs$"))
    expect(feed).to_have_attribute("href", re.compile(r"^https?://[^/]+/api/v1/asyncapi.yaml$"))
    assert httpx.get(str(docs.get_attribute("href")), timeout=30).status_code == 200
    shoot_section(section, f"api-keys-empty-{size}")

    # A bad name is refused beside the form, and nothing is made.
    name = section.get_by_label("Name", exact=True)
    name.fill("   ")
    button(section, "Create key").click()
    expect(name).to_have_accessible_description(re.compile("Name the key"))
    shoot_section(section, f"api-keys-error-{size}")

    name.fill("Listing script")
    section.get_by_role("radio", name=re.compile("^Read and trade")).check()
    button(section, "Create key").click()
    shown = section.locator("#new-api-key")
    expect(shown).to_have_text(re.compile(r"^snk_[a-z0-9]{12}_\S{43}$"))
    key = shown.inner_text().strip()
    expect(section.get_by_text("it will not be shown again")).to_be_visible()
    expect(button(section, "Copy")).to_be_focused()  # the keyboard goes on to the key
    listed = section.get_by_role("list", name="Your API keys").get_by_role("listitem")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Read and trade")
    expect(listed.first).to_contain_text(key[:16] + "…")
    expect(listed.first).to_contain_text("Last used never")
    assert key[17:] not in listed.first.inner_text()  # the list shows the public part only
    shoot_section(section, f"api-keys-new-{size}")
    assert _serious(page) == []  # axe, with the new key showing
    button(section, "Copy").click()
    expect(page.get_by_text("Key copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert my_bids(live_app, key) == 200

    button(section, "Done").click()
    expect(shown).to_have_count(0)
    expect(page.get_by_text(key)).to_have_count(0)
    expect(name).to_have_value("")  # the form is back, empty, and the keyboard in it
    expect(name).to_be_focused()
    page.reload()
    wait_hydrated(page)
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text(re.compile(r"Last used \w{3} \d+, \d{4}"))
    assert key not in page.content()
    shoot_section(section, f"api-keys-listed-{size}")

    button(section, "Revoke Listing script").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("stops working at once")
    shoot_section(dialog, f"api-keys-revoke-{size}")
    assert _serious(page) == []  # axe, with the list and the confirmation open
    button(dialog, "Revoke key").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("Key revoked").first).to_be_visible()
    expect(section.get_by_text("No keys yet")).to_be_visible()
    assert my_bids(live_app, key) == 401
    context.close()
