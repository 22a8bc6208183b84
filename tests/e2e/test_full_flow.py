"""The whole journey in the browser, three people at once: a seller lists an ask, a buyer already
on the page sees it arrive and buys now, the seller ships, staff receive and inspect; on a pass
the pair ships and is delivered and the seller sees the payout; on a fail the buyer is refunded
and the seller penalised, each seeing it on their own pages."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app.db import make_engine
from sneakers_app.models import Order, Payment
from sneakers_app.money import format_usd
from sneakers_app.services import accounts, fees, ledger
from tests.e2e.conftest import (
    DESKTOP,
    E2E_STAFF_TOTP,
    LiveApp,
    button,
    check,
    open_order,
    pass_second_factor,
    region,
    rows,
    shoot,
    tick_all_checks,
)
from tests.e2e.test_product_live import (
    PASSWORD,
    Market,
    Trader,
    asks,
    buy_now,
    find_market,
    log_in,
    make_trader,
    new_page,
    open_product,
    place_ask,
)

TRACKING_IN = "1Z999AA10123456784"
TRACKING_OUT = "9400100000000000000001"
TRACKING_BACK = "9400100000000000000002"


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("the marketplace did not get there in time")


def order_for(db: Engine, buyer: Trader) -> Order:
    with Session(db) as s:
        order = s.exec(
            select(Order).where(Order.buyer_id == buyer.id).order_by(col(Order.id).desc())
        ).first()
        assert order is not None
        return order


def status(db: Engine, order_id: int) -> str:
    with Session(db) as s:
        order = s.get(Order, order_id)
        return order.status if order else ""


def staff_member(db: Engine) -> Trader:
    email = f"inspector-{time.time_ns()}@example.com"
    with Session(db) as s:
        user = accounts.sign_up(
            session=s, email=email, display_name="Inspector", password=PASSWORD, is_staff=True
        )
        accounts.enable_totp(session=s, user_id=user.id, secret=E2E_STAFF_TOTP)
        s.commit()
    return Trader(id=user.id, email=email)


def trade_through_the_product_page(
    browser: Browser, live_app: LiveApp, db: Engine, market: Market
) -> tuple[Trader, Trader, Order, list[Page]]:
    seller = make_trader(live_app, db, card=False, payout=True)
    buyer = make_trader(live_app, db, card=True, payout=False)
    _, seller_page = new_page(browser, DESKTOP)
    _, buyer_page = new_page(browser, DESKTOP)
    path = f"/product/{market.slug}"
    log_in(buyer_page, live_app, buyer.email, path)
    open_product(buyer_page, live_app, market)
    log_in(seller_page, live_app, seller.email, path)
    open_product(seller_page, live_app, market)
    price = format_usd(market.ask_price_cents)

    place_ask(seller_page, market)
    # The buyer, already on the page, sees it arrive without reloading.
    expect(asks(buyer_page)).to_contain_text(price)
    buy_now(buyer_page, price)
    for page in (buyer_page, seller_page):
        expect(page.locator("#last-sale")).to_have_text(price)
    shoot(buyer_page, "flow-bought-desktop")

    wait_for(lambda: _has_order(db, buyer))
    order = order_for(db, buyer)
    assert order.id is not None
    wait_for(lambda: status(db, order.id or 0) == "awaiting_shipment")
    return seller, buyer, order, [seller_page, buyer_page]


def _has_order(db: Engine, buyer: Trader) -> bool:
    with Session(db) as s:
        return s.exec(select(Order.id).where(Order.buyer_id == buyer.id)).first() is not None


def pending_sale(page: Page, order_id: int) -> Locator:
    """A sale on the seller's dashboard, by its order number."""
    return rows(page, "Pending sales").filter(has_text=re.compile(rf"Order #{order_id}(?!\d)"))


def accept_result(seller_page: Page, order_id: int) -> None:
    """The seller, on their dashboard, accepts a failed inspection (no appeal)."""
    button(pending_sale(seller_page, order_id), "Accept result").click()
    button(seller_page.get_by_role("dialog"), "Accept and refund buyer").click()


def ship_to_authentication(page: Page, live_app: LiveApp, order_id: int) -> None:
    page.goto(f"{live_app.url}/sell")
    sale = pending_sale(page, order_id)
    expect(sale).to_be_visible()
    button(sale, "Mark shipped").click()
    ship = page.get_by_role("dialog", name="Mark as shipped")
    ship.get_by_label("Tracking number").fill(TRACKING_IN)
    button(ship, "Confirm shipment").click()
    expect(button(sale, "Mark shipped")).to_have_count(0)


def staff_open(page: Page, live_app: LiveApp, queue: str, order_id: int) -> None:
    page.goto(f"{live_app.url}/verification")
    expect(page.get_by_role("heading", name="Verification console")).to_be_visible()
    open_order(page, queue, order_id)


def receive_and_start(page: Page) -> None:
    button(page, "Mark received").click()
    expect(page.locator("#order-status")).to_have_text("Received at authentication")
    button(page, "Start inspection").click()
    expect(page.locator("#order-status")).to_have_text("Being authenticated")


def fail_and_accept(
    staff_page: Page, seller_page: Page, live_app: LiveApp, db: Engine, order_id: int
) -> None:
    """Staff fail the pair being inspected; the seller accepts the result instead of appealing:
    the buyer is refunded at once and the pair waits to be shipped back."""
    check(staff_page, "Box condition").click()
    reason = "Heel stitching does not match retail pairs."
    staff_page.get_by_label("Reason, if the pair fails").fill(reason)
    button(staff_page, "Fail").click()
    expect(staff_page.locator("#order-status")).to_have_text("Failed authentication")
    seller_page.goto(f"{live_app.url}/sell")
    accept_result(seller_page, order_id)
    wait_for(lambda: status(db, order_id) == "returning_to_seller")


def test_pass_ships_delivers_and_pays_the_seller(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    market = find_market(live_app, db, skip=3)
    _seller, _buyer, order, (seller_page, buyer_page) = trade_through_the_product_page(
        browser, live_app, db, market
    )
    order_id = order.id or 0
    ship_to_authentication(seller_page, live_app, order_id)

    staff = staff_member(db)
    _, staff_page = new_page(browser, DESKTOP)
    log_in(staff_page, live_app, staff.email, "/verification")
    pass_second_factor(staff_page)
    staff_open(staff_page, live_app, "To receive", order_id)
    receive_and_start(staff_page)
    tick_all_checks(staff_page)
    button(staff_page, "Pass").click()
    expect(staff_page.locator("#order-status")).to_have_text("Authenticated")
    staff_page.get_by_label("Carrier tracking number").fill(TRACKING_OUT)
    button(staff_page, "Ship to buyer").click()
    expect(staff_page.locator("#order-status")).to_have_text("Shipped to the buyer")
    button(staff_page, "Mark delivered").click()
    # The payout may follow at once: the console then shows the order completed.
    expect(staff_page.locator("#order-status")).to_have_text(re.compile("^(Delivered|Completed)$"))
    shoot(staff_page, "flow-staff-delivered-desktop")

    wait_for(lambda: status(db, order_id) == "completed")
    buyer_page.goto(f"{live_app.url}/orders/{order_id}")
    timeline = region(buyer_page, "Timeline")
    for step in ("Authenticated", "Shipped to the buyer", "Delivered", "Completed"):
        expect(timeline).to_contain_text(step)
    shoot(buyer_page, "flow-buyer-order-desktop")

    level = fees.DEFAULT_SCHEDULE.levels[0]
    payout = fees.quote_seller(market.ask_price_cents, level).payout_cents
    seller_page.goto(f"{live_app.url}/sell")
    expect(region(seller_page, "Payouts")).to_contain_text(format_usd(payout))
    shoot(seller_page, "flow-seller-payout-desktop")
    with Session(db) as s:
        assert ledger.check(session=s).ok


def test_fail_refunds_the_buyer_and_penalises_the_seller(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    market = find_market(live_app, db, skip=4)
    _seller, _buyer, order, (seller_page, buyer_page) = trade_through_the_product_page(
        browser, live_app, db, market
    )
    order_id = order.id or 0
    ship_to_authentication(seller_page, live_app, order_id)

    staff = staff_member(db)
    _, staff_page = new_page(browser, DESKTOP)
    log_in(staff_page, live_app, staff.email, "/verification")
    pass_second_factor(staff_page)
    staff_open(staff_page, live_app, "To receive", order_id)
    receive_and_start(staff_page)
    fail_and_accept(staff_page, seller_page, live_app, db, order_id)
    # Staff ship the pair back to the seller with its own tracking number.
    staff_open(staff_page, live_app, "To return", order_id)
    staff_page.get_by_label("Carrier tracking number").fill(TRACKING_BACK)
    button(staff_page, "Ship back to seller").click()
    expect(staff_page.locator("#order-status")).to_contain_text("Returned to the seller")
    seller_page.goto(f"{live_app.url}/orders/{order_id}")
    penalty = fees.penalty_for(market.ask_price_cents)
    expect(seller_page.locator("#order-status")).to_contain_text("Returned to the seller")
    expect(seller_page.get_by_text(f"A penalty of {format_usd(penalty)}")).to_be_visible()
    shoot(seller_page, "flow-seller-penalty-desktop")

    buyer_page.goto(f"{live_app.url}/orders/{order_id}")
    expect(buyer_page.locator("#order-status")).to_contain_text("buyer refunded")
    expect(region(buyer_page, "Timeline")).to_contain_text("Failed authentication")
    shoot(buyer_page, "flow-buyer-refund-desktop")
    with Session(db) as s:
        refunds = s.exec(
            select(Payment).where(Payment.order_id == order_id, Payment.kind == "refund")
        ).all()
        assert [(r.status, r.amount_cents) for r in refunds] == [
            ("succeeded", order.buyer_total_cents)
        ]
        assert ledger.check(session=s).ok
