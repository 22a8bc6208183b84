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
from sneakers_app.services import addresses
from sneakers_app.services import market as mk
from sneakers_app.services.addresses import AddressSnapshot
from tests.e2e.conftest import DESKTOP, OUTPUT_DIR, PHONE, LiveApp, shoot, wait_hydrated
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


def choose(page: Page, select_id: str, text: str) -> None:
    page.locator(f"#{select_id}").click()
    page.get_by_role("option", name=re.compile(re.escape(text))).click()
    expect(page.locator(f"#{select_id}")).to_contain_text(text)


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
        page.locator("#buy-now").click()
        dialog = page.locator("#trade-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#checkout-card")).to_contain_text("Visa ending in 4242")
        expect(page.locator("#checkout-address")).to_contain_text("12 Market Street")
        shoot(page, "checkout-dialog-desktop")

        choose(page, "checkout-address", "88 Second Avenue")

        page.locator("#add-address").click()
        expect(page.locator("#address-full_name")).to_be_visible()
        page.locator("#address-full_name").fill("Terry Trader")
        page.locator("#address-line1").fill("5 Harbour Road")
        page.locator("#address-city").fill("Boston")
        page.locator("#address-region").fill("MA")
        page.locator("#address-postal_code").fill("02110")
        shoot(page, "checkout-add-address-desktop")
        page.locator("#address-save").click()
        expect(page.locator("#address-full_name")).to_be_hidden()
        expect(dialog).to_be_visible()  # never left the trade dialog
        expect(page.locator("#checkout-address")).to_contain_text("5 Harbour Road")
        expect(page.locator("#checkout-card")).to_contain_text("Visa ending in 4242")
        shoot(page, "checkout-address-added-desktop")

        page.locator("#confirm-trade").click()
        expect(page.locator("#order-message")).to_contain_text("Matched")
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
        page.locator("#place-bid").click()
        expect(page.locator("#checkout-address")).to_contain_text("12 Market Street")
        expect(page.locator("#expiry-select")).to_contain_text("30 days")
        page.locator("#expiry-select").click()
        expect(page.get_by_role("option", name="1 day", exact=True)).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#trade-dialog")).to_be_visible()
        shoot(page, "checkout-dialog-phone")
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT_DIR / "checkout-dialog-phone-viewport.png"))

        # A new card, added without leaving the dialog, is the one it will charge.
        page.locator("#add-card").click()
        card = page.locator("#card-element")
        expect(card.locator("input").first).to_be_visible()
        expect(page.locator("#card-save")).to_be_enabled()
        card.locator("input[placeholder=number]").fill("5555555555554444")
        card.locator("input[placeholder=exp_month]").fill("12")
        card.locator("input[placeholder=exp_year]").fill("34")
        card.locator("input[placeholder=cvc]").fill("123")
        card.locator("input[placeholder=postal_code]").fill("10001")
        page.locator("#card-save").click()
        # (localstripe names every test card a visa)
        expect(page.locator("#checkout-card")).to_contain_text("ending in 4444 (default)")
        expect(page.locator("#trade-dialog")).to_be_visible()
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
        page.locator("#place-bid").click()
        back = f"/product/{market.slug}?size={market.size}&trade=bid"
        expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(quote(back, safe="/"))))
        wait_hydrated(page)
        page.locator("#email").fill(buyer.email)
        page.locator("#password").fill(PASSWORD)
        page.locator("#login-submit").click()
        dialog = page.locator("#trade-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Place a bid")
        expect(page.locator("#dialog-size")).to_contain_text(f"US M {market.size}")
        expect(page.locator("#checkout-card")).to_contain_text("Visa ending in 4242")
        shoot(page, "checkout-login-returned-desktop")
        # The link opened the form once: the address keeps the size, and a reload shows the page.
        expect(page).to_have_url(
            re.compile(re.escape(f"/product/{market.slug}?size={market.size}") + "$")
        )
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        page.reload()
        wait_hydrated(page)
        expect(page.locator("#place-bid")).to_be_visible()
        expect(page.locator("#product-name")).to_be_visible()
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
        first_id = first.id
        second = factories.address(session, buyer.id, "40 Bay Street", city="Brooklyn")
        session.commit()
        placed = mk.place(
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
        expect(page.locator("#card-list")).to_contain_text("Visa ending in 4242")
        expect(page.locator(".card-row")).to_contain_text("Default")
        shoot(page, "checkout-account-cards-desktop")
        page.locator(f"#address-delete-{first_id}").click()
        expect(page.get_by_text("1 bid that used it is paused")).to_be_visible()

        page.goto(f"{live_app.url}/portfolio")
        row = page.locator(f"#bid-{placed.row_id}")
        expect(row).to_contain_text("Paused")
        shoot(page, "checkout-paused-bid-desktop")
        page.locator(f"#resume-bid-{placed.row_id}").click()
        expect(page.locator("#resume-address")).to_contain_text("40 Bay Street")
        expect(page.locator("#resume-card")).to_contain_text("Visa ending in 4242")
        shoot(page, "checkout-resume-dialog-desktop")
        page.locator("#resume-save").click()
        expect(page.locator("#resume-bid-dialog")).to_have_count(0)
        expect(page.locator(".bid-row")).not_to_contain_text("Paused")
        with Session(db) as session:
            bids = session.exec(select(Bid).where(Bid.user_id == buyer.id)).all()
            statuses = sorted((b.status, b.address_id) for b in bids)
        assert statuses == [("cancelled", None), ("open", second)]
    finally:
        context.close()
