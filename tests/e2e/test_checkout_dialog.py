"""Checkout in the trade dialog, in a real browser against the whole stack: the buyer sees the
card that will be charged and the address the pair goes to, switches to another saved address,
adds a new one without leaving the dialog, and buys; the order ships to the address chosen.
Logging in from "Place bid" comes back to the product with the size chosen and the dialog
open again."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import quote

import redis
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app.models import Address, Bid, Order
from sneakers_app.money import format_usd
from sneakers_app.services import addresses
from sneakers_app.services import market as mk
from sneakers_app.services.addresses import AddressSnapshot
from tests.e2e.conftest import (
    DESKTOP,
    OUTPUT_DIR,
    PHONE,
    LiveApp,
    address_card,
    button,
    combobox,
    fill_address,
    message,
    rows,
    shoot,
    type_card,
    wait_hydrated,
)
from tests.e2e.test_product_live import (
    PASSWORD,
    db,
    find_market,
    log_in,
    make_trader,
    new_page,
    open_product,
)
from tests.support import factories
from trading import market_data
from trading.engine import RedisEngine

__all__ = ["db"]  # the module's database fixture

expect.set_options(timeout=10_000)


def choose(page: Page, label: str, text: str) -> None:
    combobox(page, label).click()
    page.get_by_role("option", name=re.compile(re.escape(text))).click()
    expect(combobox(page, label)).to_contain_text(text)


def test_buyer_sees_card_and_address_switches_adds_one_in_the_dialog_and_buys(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    buyer = make_trader(live_app, db, card=True, payout=False)
    with Session(db) as session:
        factories.address(session, buyer.id, "88 Second Avenue", city="Brooklyn")
        session.commit()
    market = find_market(live_app, db, skip=1)
    path = f"/product/{market.slug}"
    context, page = new_page(browser, DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, live_app, buyer.email, path)
        open_product(page, live_app, market)
        button(page, "Buy now").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(combobox(page, "Pay with")).to_contain_text("Visa ending in 4242")
        expect(combobox(page, "Ship to")).to_contain_text("12 Market Street")
        shoot(page, "checkout-dialog-desktop")

        choose(page, "Ship to", "88 Second Avenue")

        button(page, "Add an address").click()
        expect(page.get_by_label("Full name")).to_be_visible()
        fill_address(page, "Terry Trader", "5 Harbour Road", "Boston", "MA", "02110")
        shoot(page, "checkout-add-address-desktop")
        button(page, "Save address").click()
        expect(page.get_by_label("Full name")).to_be_hidden()
        expect(dialog).to_be_visible()  # never left the trade dialog
        expect(combobox(page, "Ship to")).to_contain_text("5 Harbour Road")
        expect(combobox(page, "Pay with")).to_contain_text("Visa ending in 4242")
        shoot(page, "checkout-address-added-desktop")

        button(dialog, "Confirm purchase").click()
        expect(message(page, "Matched!")).to_be_visible()
        with Session(db) as session:
            new_home = session.exec(
                select(Address).where(
                    Address.user_id == buyer.id, Address.line1 == "5 Harbour Road"
                )
            ).one()
            bid = session.exec(select(Bid).where(Bid.user_id == buyer.id)).one()
            assert bid.address_id == new_home.id and bid.payment_card_id is not None
        deadline = time.monotonic() + 20
        order = None
        while order is None and time.monotonic() < deadline:
            with Session(db) as session:
                order = session.exec(select(Order).where(Order.buyer_id == buyer.id)).first()
            time.sleep(0.3)
        assert order is not None, "the journal consumer made no order"
        snap = AddressSnapshot.from_json(order.buyer_address)
        assert snap is not None and snap.line1 == "5 Harbour Road"
        assert (order.card_brand, order.card_last4) == ("visa", "4242")
        assert errors == []
    finally:
        context.close()


def test_dialog_at_phone_width(browser: Browser, live_app: LiveApp, db: Engine) -> None:
    buyer = make_trader(live_app, db, card=True, payout=False)
    market = find_market(live_app, db, skip=2)
    context, page = new_page(browser, PHONE)
    try:
        log_in(page, live_app, buyer.email, f"/product/{market.slug}")
        open_product(page, live_app, market)
        button(page, "Place bid").click()
        expect(combobox(page, "Ship to")).to_contain_text("12 Market Street")
        expect(combobox(page, "Expires after")).to_contain_text("30 days")
        combobox(page, "Expires after").click()
        expect(page.get_by_role("option", name="1 day", exact=True)).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_visible()
        shoot(page, "checkout-dialog-phone")
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT_DIR / "checkout-dialog-phone-viewport.png"))

        # A new card, added without leaving the dialog, is the one it will charge.
        type_card(page, "5555555555554444")
        button(page, "Save card").click()
        # (localstripe names every test card a visa)
        expect(combobox(page, "Pay with")).to_contain_text("ending in 4444 (default)")
        expect(page.get_by_role("dialog")).to_be_visible()
        page.screenshot(path=str(OUTPUT_DIR / "checkout-card-added-phone-viewport.png"))
    finally:
        context.close()


def test_logging_in_from_place_bid_returns_to_the_size_with_the_dialog_open(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    buyer = make_trader(live_app, db, card=True, payout=False)
    market = find_market(live_app, db, skip=3)
    context, page = new_page(browser, DESKTOP)
    try:
        open_product(page, live_app, market)
        button(page, "Place bid").click()
        back = f"/product/{market.slug}?size={market.size}&trade=bid"
        expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(quote(back, safe="/"))))
        wait_hydrated(page)
        page.get_by_label("Email").fill(buyer.email)
        page.get_by_label("Password").fill(PASSWORD)
        button(page.locator("form"), "Log in").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Place a bid")
        expect(combobox(page, "Size")).to_contain_text(f"US M {market.size}")
        expect(combobox(page, "Pay with")).to_contain_text("Visa ending in 4242")
        shoot(page, "checkout-login-returned-desktop")
        # The link opened the form once: the address keeps the size, and a reload shows the page.
        expect(page).to_have_url(
            re.compile(re.escape(f"/product/{market.slug}?size={market.size}") + "$")
        )
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        page.reload()
        wait_hydrated(page)
        expect(button(page, "Place bid")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_timeout(500)
        expect(dialog).to_be_hidden()
    finally:
        context.close()


def test_deleting_the_address_of_a_bid_pauses_it_and_the_portfolio_resumes_it(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    buyer = make_trader(live_app, db, card=True, payout=False)
    market = find_market(live_app, db, skip=4)
    client = redis.Redis.from_url(live_app.redis_url)
    top = market_data.top_of_book(client, str(market.variant_id))
    price = max(mk.MIN_PRICE_CENTS, (top.bid_cents or 10_000) - 2_000)
    with Session(db) as session:
        first = addresses.default_address(session=session, user_id=buyer.id)
        assert first is not None
        second = factories.address(session, buyer.id, "40 Bay Street", city="Brooklyn")
        session.commit()
        mk.place(
            session=session,
            engine=RedisEngine(client),
            user_id=buyer.id,
            side="bid",
            variant_id=market.variant_id,
            price_cents=price,
            client_key=uuid.uuid4().hex,
        )
    context, page = new_page(browser, DESKTOP)
    try:
        log_in(page, live_app, buyer.email, "/account")
        expect(page.get_by_text("Visa ending in 4242")).to_be_visible()
        expect(page.locator(".card-row")).to_contain_text("Default")
        shoot(page, "checkout-account-cards-desktop")
        address_card(page, "12 Market Street").get_by_role("button", name="Delete").click()
        expect(page.get_by_text("1 bid that used it is paused")).to_be_visible()

        page.goto(f"{live_app.url}/portfolio")
        row = rows(page, "Active bids").filter(has_text=format_usd(price))
        expect(row).to_contain_text("Paused")
        shoot(page, "checkout-paused-bid-desktop")
        row.get_by_role("button", name=re.compile("^Paused")).click()
        expect(combobox(page, "Ship to")).to_contain_text("40 Bay Street")
        expect(combobox(page, "Pay with")).to_contain_text("Visa ending in 4242")
        shoot(page, "checkout-resume-dialog-desktop")
        button(page, "Resume bid").click()
        expect(page.get_by_role("dialog", name="Put your bid back on the market")).to_have_count(0)
        expect(rows(page, "Active bids")).not_to_contain_text("Paused")
        with Session(db) as session:
            bids = session.exec(select(Bid).where(Bid.user_id == buyer.id)).all()
            statuses = sorted((b.status, b.address_id) for b in bids)
        assert statuses == [("cancelled", None), ("open", second)]
    finally:
        context.close()
