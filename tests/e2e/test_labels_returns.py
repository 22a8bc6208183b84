"""Labels and the return leg in the browser: the seller opens their shipping label (a PDF the
browser shows, whose barcode and QR code read back as the order code), staff scan that code into
the console's search and find the order, and a pair that failed authentication is shipped back
to its seller with its own tracking number."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app.db import make_engine
from sneakers_app.models import Order
from sneakers_app.services import addresses, labels
from sneakers_app.services import market as market_service
from tests.e2e.conftest import (
    DESKTOP,
    OUTPUT_DIR,
    PHONE,
    LiveApp,
    button,
    open_order,
    order_panel,
    pass_second_factor,
    queue_row,
    queue_tab,
    region,
    shoot,
)
from tests.e2e.test_full_flow import (
    fail_and_accept,
    pending_sale,
    receive_and_start,
    ship_to_authentication,
    staff_member,
    status,
    wait_for,
)
from tests.e2e.test_product_live import Trader, find_market, log_in, make_trader, new_page
from trading.engine import RedisEngine

TRACKING_BACK = "1Z999AA10123456799"
SELLER_HOME = addresses.AddressInput(
    full_name="Sam Seller", line1="12 Ship St", city="Portland", region="OR", postal_code="97201"
)


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def listen(page: Page, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))


def open_label(context: BrowserContext, link: Locator, name: str) -> list[tuple[str, str]]:
    """Open a label link as its button does (a new tab): it must be a PDF the browser shows;
    returns what a barcode reader reads in the tab as shown."""
    with context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.set_viewport_size({"width": 900, "height": 1300})
    tab.wait_for_load_state()
    answer = tab.request.get(tab.url)
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF-")
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    read: list[tuple[str, str]] = []
    deadline = time.monotonic() + 30
    while len(read) < 2 and time.monotonic() < deadline:  # the PDF viewer draws the page
        tab.wait_for_timeout(1000)
        tab.screenshot(path=str(path))
        read = [(r.format.name, r.text) for r in zxingcpp.read_barcodes(Image.open(path))]
    tab.close()
    return read


def matched_sale(live_app: LiveApp, db: Engine) -> tuple[Trader, int]:
    """A sale waiting for its seller to ship, matched in the engine (the trade dialog has its
    own tests): the seller's ask, a buyer's Buy Now, the journal consumer and the charge."""
    market = find_market(live_app, db, skip=5)
    seller = make_trader(live_app, db, card=False, payout=True)
    buyer = make_trader(live_app, db, card=True, payout=False)
    with Session(db) as s:  # where a failed pair returns to
        addresses.add_address(session=s, user_id=seller.id, data=SELLER_HOME)
        s.commit()
    engine = RedisEngine(redis.Redis.from_url(live_app.redis_url))
    sides: tuple[tuple[Trader, market_service.SideName], ...] = ((seller, "ask"), (buyer, "bid"))
    for trader, side in sides:
        with Session(db) as s:
            market_service.place(
                session=s,
                engine=engine,
                user_id=trader.id,
                side=side,
                variant_id=market.variant_id,
                price_cents=market.ask_price_cents,
                client_key=uuid.uuid4().hex,
                immediate=side == "bid",
            )
    wait_for(lambda: order_for(db, buyer) is not None)
    order_id = order_for(db, buyer) or 0
    wait_for(lambda: status(db, order_id) == "awaiting_shipment")
    return seller, order_id


def order_for(db: Engine, buyer: Trader) -> int | None:
    with Session(db) as s:
        return s.exec(select(Order.id).where(Order.buyer_id == buyer.id)).first()


def test_label_scan_and_return_to_the_seller(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    errors: list[str] = []
    seller, order_id = matched_sale(live_app, db)
    _, seller_page = new_page(browser, DESKTOP)
    listen(seller_page, errors)
    log_in(seller_page, live_app, seller.email, "/sell")
    code = labels.order_code(order_id)

    # The dashboard's row of the sale prints its label too.
    label = pending_sale(seller_page, order_id).get_by_role("link", name="Label")
    expect(label).to_be_visible()
    shoot(seller_page, "labels-sell-row-desktop")
    read = open_label(seller_page.context, label, "labels-sell-row-label-pdf")
    assert ("Code128", code) in read, read

    # The seller sees where to ship and prints the label.
    seller_page.goto(f"{live_app.url}/orders/{order_id}")
    panel = seller_page.get_by_text("Ship to our authentication centre")
    expect(panel).to_be_visible()
    for line in labels.centre_address().lines():
        expect(region(seller_page, "Shipping")).to_contain_text(line)
    expect(seller_page.get_by_text(code, exact=True)).to_be_visible()
    shoot(seller_page, "labels-seller-order-desktop")
    seller_page.set_viewport_size(PHONE)
    expect(panel).to_be_visible()
    shoot(seller_page, "labels-seller-order-phone")
    seller_page.set_viewport_size(DESKTOP)
    print_label = seller_page.get_by_role("link", name="Print shipping label")
    read = open_label(seller_page.context, print_label, "labels-seller-label-pdf")
    assert ("Code128", code) in read and ("QRCode", code) in read, read
    ship_to_authentication(seller_page, live_app, order_id)

    # At receipt staff scan the code into the console's search: the order opens.
    staff = staff_member(db)
    staff_ctx, staff_page = new_page(browser, DESKTOP)
    listen(staff_page, errors)
    log_in(staff_page, live_app, staff.email, "/verification")
    pass_second_factor(staff_page)
    queue_tab(staff_page, "In transit").click()  # not the queue the pair is in
    search = staff_page.get_by_label("Scan a label, or filter the queue")
    search.fill("SNK-999999999")
    search.press("Enter")
    expect(staff_page.get_by_text(re.compile("No order"))).to_be_visible()
    search.fill(code)
    search.press("Enter")
    expect(order_panel(staff_page, order_id)).to_be_visible()
    expect(staff_page.locator("#order-status")).to_have_text("On its way to authentication")
    expect(staff_page.get_by_text("Ship to (buyer)")).to_be_visible()
    expect(queue_row(staff_page, order_id)).to_be_visible()  # its queue
    staff_page.evaluate("window.scrollTo(0, 0)")
    shoot(staff_page, "labels-console-scanned-desktop")
    receive_and_start(staff_page)
    fail_and_accept(staff_page, seller_page, live_app, db, order_id)

    button(staff_page, "Refresh").click()
    open_order(staff_page, "To return", order_id)
    expect(staff_page.locator("#order-status")).to_have_text("On its way back to the seller")
    expect(staff_page.get_by_text("Return to (seller)")).to_be_visible()
    return_label = staff_page.get_by_role("link", name="Print return label")
    read = open_label(staff_ctx, return_label, "labels-return-label-pdf")
    assert ("Code128", code) in read, read
    tracking = staff_page.get_by_label("Carrier tracking number")
    tracking.fill("1Z-BAD")
    button(staff_page, "Ship back to seller").click()
    expect(tracking).to_have_accessible_description(re.compile("8 to 40 letters"))
    assert status(db, order_id) == "returning_to_seller"
    shoot(staff_page, "labels-console-return-desktop")
    staff_page.set_viewport_size(PHONE)
    shoot(staff_page, "labels-console-return-phone")
    staff_page.set_viewport_size(DESKTOP)
    tracking.fill(TRACKING_BACK)
    button(staff_page, "Ship back to seller").click()
    expect(staff_page.locator("#order-status")).to_have_text(
        "Returned to the seller, buyer refunded"
    )
    expect(staff_page.locator("#fact-return")).to_have_text(TRACKING_BACK)

    seller_page.goto(f"{live_app.url}/orders/{order_id}")
    expect(seller_page.locator("#order-status")).to_contain_text("Returned to the seller")
    expect(seller_page.locator("#return-tracking")).to_have_text(TRACKING_BACK)
    expect(panel).to_have_count(0)
    shoot(seller_page, "labels-seller-returned-desktop")
    assert not errors, errors
