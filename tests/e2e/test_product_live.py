"""The product page in a real browser against the whole stack: a seller lists an ask, a buyer
already on the page sees it arrive live, buys now, and both see the trade and the new last sale
without reloading. Bad input in the dialogs is refused next to the field and changes nothing."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from sneakers_app.db import make_engine
from sneakers_app.models import Ask, Bid, Product, ProductVariant
from sneakers_app.money import format_usd
from sneakers_app.services import accounts, fees, payments
from sneakers_app.services.market import NO_CARD, NO_PAYOUT
from sneakers_app.settings import LOCALSTRIPE_KEY, Settings
from tests.e2e.conftest import (
    DESKTOP,
    FIGURES,
    OUTPUT_DIR,
    PHONE,
    LiveApp,
    button,
    message,
    region,
    shoot,
    size_tile,
)
from tests.e2e.conftest import log_in as conftest_log_in
from tests.support import factories
from trading import market_data
from trading.journal import read_journal

PASSWORD = "a long enough password"
LIVE_WITHIN_MS = 2_000
"""The page must show a book change within a second; the assertion allows CI noise."""
expect.set_options(timeout=10_000)
WATCH_FOR_TEXT = """({selector, text}) => {
  window.__seenAt = null;
  const check = () => {
    const el = document.querySelector(selector);
    if (window.__seenAt === null && el && el.textContent.includes(text)) {
      window.__seenAt = Date.now();
    }
  };
  new MutationObserver(check).observe(document.body, {
    subtree: true, childList: true, characterData: true,
  });
}"""


@dataclass(frozen=True)
class Trader:
    id: int
    email: str


@dataclass(frozen=True)
class Market:
    slug: str
    size: str
    variant_id: int
    ask_price_cents: int
    """A price strictly between the book's highest bid and lowest ask."""


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def make_trader(live_app: LiveApp, db: Engine, *, card: bool, payout: bool) -> Trader:
    """A member signed up through the services; a card saved through localstripe the way
    stripe.js would, payout details through the payments service."""
    email = f"trader-{uuid.uuid4().hex[:8]}@example.com"
    with Session(db, expire_on_commit=False) as session:
        user = accounts.sign_up(
            session=session, email=email, display_name="Trader", password=PASSWORD
        )
        session.commit()
        if payout:
            payments.save_payout_account(
                session=session,
                user_id=user.id,
                kind="manual",
                account_ref="IBAN DE89 3704 0044 0532 0130 00",
                holder_name="Sam Seller",
            )
            session.commit()
        if card:
            settings = Settings(
                ENVIRONMENT="test",
                STRIPE_SECRET_KEY=LOCALSTRIPE_KEY,
                STRIPE_PUBLISHABLE_KEY="pk_test_localstripe",
                STRIPE_API_BASE=live_app.stripe.url,
                STRIPE_JS_URL=live_app.stripe.js_url,
            )
            client = payments.make_client(settings)
            intent = payments.create_setup_intent(session=session, user_id=user.id, client=client)
            response = httpx.post(
                f"{settings.STRIPE_API_BASE}/v1/setup_intents/{intent.id}/confirm",
                json={
                    "key": settings.STRIPE_PUBLISHABLE_KEY,
                    "use_stripe_sdk": True,
                    "client_secret": intent.client_secret,
                    "payment_method_data": {
                        "type": "card",
                        "card": {
                            "number": "4242424242424242",
                            "exp_month": 12,
                            "exp_year": 2030,
                            "cvc": "123",
                        },
                    },
                },
            )
            assert response.status_code == 200, response.text
            payments.complete_setup(
                session=session, user_id=user.id, setup_intent_id=intent.id, client=client
            )
            # a buyer needs somewhere to ship the pair as well as a card
            factories.address(session, user.id, full_name="Terry Trader")
            session.commit()
    return Trader(id=user.id, email=email)


def find_market(live_app: LiveApp, db: Engine, *, skip: int = 0) -> Market:
    """A product size whose book has room for a new best ask above the highest bid."""
    client = redis.Redis.from_url(live_app.redis_url)
    minimum = fees.minimum_ask_cents()
    found = 0
    with Session(db) as session:
        rows = session.exec(
            select(Product.slug, ProductVariant.id, ProductVariant.size)
            .join(ProductVariant, col(ProductVariant.product_id) == col(Product.id))
            .where(col(ProductVariant.size).in_(["9", "9.5", "10", "10.5", "11"]))
            .order_by(col(Product.id), col(ProductVariant.sort_order))
        ).all()
    for slug, variant_id, size in rows:
        top = market_data.top_of_book(client, str(variant_id))
        if not top.ask_cents:
            continue
        price = (top.ask_cents - 1_000) // 100 * 100
        if price >= minimum and (top.bid_cents is None or price > top.bid_cents + 100):
            if found == skip:
                assert variant_id is not None
                return Market(
                    slug=slug, size=size, variant_id=int(variant_id), ask_price_cents=price
                )
            found += 1
    raise AssertionError("no seeded book with a gap between bid and ask")


def log_in(page: Page, app: LiveApp, email: str, next_path: str) -> None:
    conftest_log_in(page, app, email, PASSWORD, next_path)
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def open_product(page: Page, app: LiveApp, market: Market) -> None:
    """The product page with the size chosen through the address (as a shared link would)."""
    page.goto(f"{app.url}/product/{market.slug}?size={market.size}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(market_scope(page)).to_contain_text(f"US M {market.size}")
    expect(size_tile(page, f"US M {market.size}")).to_have_attribute("aria-pressed", "true")
    page.wait_for_load_state("networkidle")


def market_scope(page: Page) -> Locator:
    """The market panel's title: "Market · <the size shown, or All sizes>"."""
    return page.get_by_text(re.compile("^Market · "))


def asks(page: Page) -> Locator:
    return region(page, "Asks (sellers)")


def bids(page: Page) -> Locator:
    return region(page, "Bids (buyers)")


def counts(db: Engine, user_id: int) -> tuple[int, int]:
    with Session(db) as session:
        bids = session.exec(select(func.count()).where(col(Bid.user_id) == user_id)).one()
        asks = session.exec(select(func.count()).where(col(Ask.user_id) == user_id)).one()
    return int(bids), int(asks)


def new_page(browser: Browser, viewport: ViewportSize) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def place_ask(page: Page, market: Market) -> None:
    """Place an ask at the market's price from the product page's dialog."""
    button(page, "Place ask").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Your ask (USD)").fill(str(market.ask_price_cents // 100))
    expect(page.locator("#fee-total")).to_be_visible()
    button(dialog, "Place ask").click()
    expect(message(page, "Your ask is live")).to_be_visible()


def buy_now(page: Page, price: str) -> None:
    """Buy now from the product page's dialog, at `price` (as the dialog shows it)."""
    button(page, "Buy now").click()
    expect(page.locator("#fixed-price")).to_have_text(price)
    button(page.get_by_role("dialog"), "Confirm purchase").click()
    expect(message(page, "Matched!")).to_be_visible()


def test_ask_appears_live_buy_now_and_both_see_the_trade(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    seller = make_trader(live_app, db, card=False, payout=True)
    buyer = make_trader(live_app, db, card=True, payout=False)
    market = find_market(live_app, db)
    redis_client = redis.Redis.from_url(live_app.redis_url)
    price = format_usd(market.ask_price_cents)
    path = f"/product/{market.slug}"
    seller_ctx, seller_page = new_page(browser, DESKTOP)
    buyer_ctx, buyer_page = new_page(browser, DESKTOP)
    errors: list[str] = []
    for p in (seller_page, buyer_page):
        p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(buyer_page, live_app, buyer.email, path)
        open_product(buyer_page, live_app, market)
        expect(asks(buyer_page)).not_to_contain_text(price)
        shoot(buyer_page, "product-live-before-desktop")
        buyer_page.evaluate(WATCH_FOR_TEXT, {"selector": "#book-asks", "text": price})

        log_in(seller_page, live_app, seller.email, path)
        open_product(seller_page, live_app, market)
        button(seller_page, "Place ask").click()
        dialog = seller_page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Your ask (USD)").fill(f"{market.ask_price_cents // 100}")
        expect(seller_page.locator("#fee-total")).to_be_visible()
        expect(dialog).to_contain_text("Transaction fee (level 1, 9.0%)")
        shoot(seller_page, "product-ask-dialog-desktop")
        started = time.monotonic()
        button(dialog, "Place ask").click()
        expect(dialog).to_be_hidden()
        expect(message(seller_page, "Your ask is live")).to_be_visible()

        # The buyer never reloads: the ask arrives through the live loop.
        expect(asks(buyer_page)).to_contain_text(price, timeout=LIVE_WITHIN_MS)
        expect(buyer_page.locator("#lowest-ask")).to_have_text(price, timeout=LIVE_WITHIN_MS)
        seen_after = time.monotonic() - started
        # From the engine's accepting the ask (its journal time) to the buyer's DOM showing it.
        accepted_at = read_journal(redis_client, str(market.variant_id))[-1].at
        latency_ms = buyer_page.evaluate("window.__seenAt") - accepted_at
        print(
            f"ask on the buyer's page {latency_ms} ms after the engine accepted it "
            f"({seen_after * 1000:.0f} ms after the seller's click)"
        )
        assert latency_ms < 1_000
        expect(asks(seller_page)).to_contain_text("You")
        expect(region(seller_page, "Your orders here")).to_contain_text(price)
        shoot(buyer_page, "product-live-ask-arrived-desktop")

        button(buyer_page, "Buy now").click()
        expect(buyer_page.locator("#fixed-price")).to_have_text(price)
        quote = fees.quote_buyer(market.ask_price_cents)
        expect(buyer_page.locator("#fee-total")).to_have_text(format_usd(quote.total_cents))
        shoot(buyer_page, "product-buy-now-dialog-desktop")
        button(buyer_page.get_by_role("dialog"), "Confirm purchase").click()
        expect(message(buyer_page, "Matched!")).to_be_visible()

        for page in (buyer_page, seller_page):
            expect(page.locator("#last-sale")).to_have_text(price, timeout=LIVE_WITHIN_MS)
            expect(asks(page)).not_to_contain_text(price, timeout=LIVE_WITHIN_MS)
            expect(region(page, "Recent sales")).to_contain_text(
                format_usd(market.ask_price_cents, whole=True), timeout=10_000
            )
        expect(region(seller_page, "Your orders here")).to_have_count(0)
        shoot(seller_page, "product-live-sold-desktop")
        shoot(buyer_page, "product-live-bought-desktop")
        assert errors == []
    finally:
        seller_ctx.close()
        buyer_ctx.close()


def test_bad_input_is_refused_next_to_the_field_and_changes_nothing(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    trader = make_trader(live_app, db, card=True, payout=True)
    market = find_market(live_app, db, skip=1)
    path = f"/product/{market.slug}"
    context, page = new_page(browser, DESKTOP)
    try:
        log_in(page, live_app, trader.email, path)
        open_product(page, live_app, market)
        before = counts(db, trader.id)

        button(page, "Place bid").click()
        dialog = page.get_by_role("dialog")
        price_input, confirm = dialog.get_by_label("Your bid (USD)"), button(dialog, "Place bid")
        for text, message in [
            ("abc", "Enter a price in dollars"),
            ("-50", "Enter a price in dollars"),
            ("12.345", "Enter a price in dollars"),
            ("99999999", "The highest price is $100,000"),
            ("0.50", "The lowest price is $1"),
        ]:
            price_input.fill(text)
            if text == "abc":
                price_input.press("Enter")  # the keyboard submits the dialog's form
            else:
                confirm.click()
            expect(price_input).to_have_accessible_description(re.compile(re.escape(message)))
        shoot(page, "product-bid-error-desktop")
        price_input.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()

        button(page, "Place ask").click()
        ask_price = dialog.get_by_label("Your ask (USD)")
        ask_price.fill("5")
        button(dialog, "Place ask").click()
        expect(ask_price).to_have_accessible_description(re.compile("Asks start at"))
        assert counts(db, trader.id) == before

        # A real ask, then a bid at its price is refused as matching one's own listing.
        ask_price.fill(str(market.ask_price_cents // 100))
        button(dialog, "Place ask").click()
        expect(dialog).to_be_hidden()
        expect(region(page, "Your orders here")).to_contain_text(format_usd(market.ask_price_cents))
        after_ask = counts(db, trader.id)
        assert after_ask == (before[0], before[1] + 1)
        button(page, "Place bid").click()
        price_input.fill(str(market.ask_price_cents // 100))
        confirm.click()
        expect(price_input).to_have_accessible_description(re.compile("match your own listing"))
        assert counts(db, trader.id) == after_ask

        # Double click on confirm: one bid. Enter submits the form too (keyboard).
        bid_dollars = market.ask_price_cents // 100 - 40
        price_input.fill(str(bid_dollars))
        expect(page.locator("#fee-total")).to_be_visible()
        confirm.dblclick()
        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(region(page, "Your orders here")).to_contain_text(format_usd(bid_dollars * 100))
        time.sleep(1.0)
        assert counts(db, trader.id) == (after_ask[0] + 1, after_ask[1])
        expect(bids(page)).to_contain_text("You")

        # Cancel both from the page, each confirmed; the book forgets them live.
        own = region(page, "Your orders here")
        cancels = button(own, "Cancel")
        for left in (1, 0):
            cancels.first.click()
            confirm_cancel = page.get_by_role("alertdialog").get_by_role("button")
            confirm_cancel.filter(has_text=re.compile("^Cancel (bid|ask)$")).click()
            expect(cancels).to_have_count(left)
        expect(own).to_have_count(0)
        expect(asks(page)).not_to_contain_text("You")
    finally:
        context.close()


def assert_inside(inner: Locator, outer: Locator) -> None:
    """The element `inner` lies horizontally within `outer` (a pixel of rounding allowed)."""
    box, frame = inner.bounding_box(), outer.bounding_box()
    assert box is not None and frame is not None
    assert box["x"] >= frame["x"] - 1, (box, frame)
    assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, (box, frame)


def test_logged_out_and_unequipped_users_are_told_what_to_do(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    market = find_market(live_app, db, skip=2)
    path = f"/product/{market.slug}"
    context, page = new_page(browser, DESKTOP)
    try:
        open_product(page, live_app, market)
        # Watching is for members: a visitor is offered the log-in instead.
        watch_login = page.get_by_role("link", name="Log in to watch")
        expect(watch_login).to_have_attribute("href", f"/login?next={path}")
        expect(button(page, "Watch")).to_have_count(0)
        button(page, "Place bid").click()
        expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(path)))

        trader = make_trader(live_app, db, card=False, payout=False)
        log_in(page, live_app, trader.email, path)
        open_product(page, live_app, market)
        button(page, "Buy now").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text(NO_CARD)).to_be_visible()
        expect(dialog.get_by_role("link", name="Go to your account")).to_have_attribute(
            "href", "/account"
        )
        expect(button(dialog, "Confirm purchase")).to_be_disabled()
        shoot(page, "product-no-card-desktop")
        page.keyboard.press("Escape")
        button(page, "Place ask").click()
        expect(dialog.get_by_text(NO_PAYOUT)).to_be_visible()
        page.keyboard.press("Escape")
        assert counts(db, trader.id) == (0, 0)

        # Watch with a target price, then stop watching. The popover stays in its column.
        expect(watch_login).to_have_count(0)
        button(page, "Watch").click()
        popover = page.get_by_role("dialog")
        expect(popover).to_be_visible()
        column = page.locator("#trade-column")  # a layout column: nothing names it
        assert_inside(popover, column)
        for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
            page.set_viewport_size(viewport)
            assert_inside(popover, column)
            shoot(page, f"product-watch-{label}")
        target = page.get_by_label("Target price, dollars")
        target.fill("abc")
        button(page, "Save").click()
        expect(target).to_have_accessible_description(re.compile("Enter a price"))
        target.fill("150")
        button(page, "Save").click()
        expect(page.get_by_text(re.compile(r"\$150\.00"))).to_be_visible()
        expect(button(page, "Watching")).to_be_visible()
        button(page, "Stop watching").click()
        expect(button(page, "Watch")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize(("label", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_product_page_screenshots(
    browser: Browser, live_app: LiveApp, db: Engine, label: str, size: ViewportSize
) -> None:
    market = find_market(live_app, db)
    context, page = new_page(browser, size)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_app.url}/product/{market.slug}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        # Plotly's bundle loads lazily: give it time on a busy machine.
        expect(page.locator("#price-chart .main-svg").first).to_be_visible(timeout=30_000)
        page.wait_for_load_state("networkidle")
        shoot(page, f"product-all-sizes-{label}")
        size_tile(page, f"US M {market.size}").click()
        expect(market_scope(page)).to_contain_text(f"US M {market.size}")
        expect(page).to_have_url(re.compile(r"\?size=" + re.escape(market.size) + "$"))
        page.get_by_role("radio", name="All", exact=True).click()
        page.wait_for_load_state("networkidle")
        shoot(page, f"product-size-{label}")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(OUTPUT_DIR / f"product-size-{label}-fold.png"))
        assert errors == []
    finally:
        context.close()


MARK_APPEARANCES = """
window.__marks = {};
const marks = {name: '#product-name', chart: '#price-chart .main-svg'};
new MutationObserver(() => {
  for (const [key, selector] of Object.entries(marks)) {
    if (!(key in window.__marks) && document.querySelector(selector)) {
      window.__marks[key] = Math.round(performance.now());
    }
  }
}).observe(document, {subtree: true, childList: true});
"""
TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const scripts = performance.getEntriesByType('resource')
    .filter(r => r.initiatorType === 'script' || r.name.endsWith('.js'));
  const biggest = scripts.reduce(
    (a, r) => (!a || r.encodedBodySize > a.encodedBodySize ? r : a), null);
  const ms = (t) => Math.round(t);
  return {
    dom: Math.round(nav.domContentLoadedEventEnd),
    load: Math.round(nav.loadEventEnd),
    scripts: scripts.length,
    script_kb: Math.round(scripts.reduce((n, r) => n + r.encodedBodySize, 0) / 1024),
    biggest: biggest && [biggest.name.split('/').pop(), ms(biggest.startTime),
                         ms(biggest.responseEnd), ms(biggest.encodedBodySize / 1024)],
    ...window.__marks,
  };
}"""


def test_price_chart_appears_with_the_page(browser: Browser, live_app: LiveApp, db: Engine) -> None:
    """How soon the price chart shows on a hard load (a fresh browser profile, nothing cached),
    printed with the machine's load: a speed figure to report, not a pass mark."""
    market = find_market(live_app, db)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    for attempt in ("first", "second"):
        context, page = new_page(browser, DESKTOP)
        try:
            page.add_init_script(MARK_APPEARANCES)
            page.goto(f"{live_app.url}/product/{market.slug}")
            expect(page.locator("#price-chart .main-svg").first).to_be_visible(timeout=30_000)
            timing = page.evaluate(TIMING)
            FIGURES.append(
                f"price chart, {attempt} hard load (load average {load}): "
                f"chart {timing['chart'] - timing['name']} ms after the page's content "
                f"(target <= 1000); name at {timing.get('name')} ms, chart at "
                f"{timing.get('chart')} ms after navigation (DOMContentLoaded {timing['dom']} ms, "
                f"load {timing['load']} ms, "
                f"{timing['scripts']} scripts {timing['script_kb']} kB; the biggest, its start "
                f"and end in ms and its kB: {timing['biggest']})"
            )
            assert timing["name"] <= timing["chart"]
        finally:
            context.close()
