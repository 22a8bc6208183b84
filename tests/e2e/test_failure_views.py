# ruff: noqa: F811  (the fixture `db` is imported from test_full_flow)
"""A pair that fails authentication, seen from each side's order page in the browser: the buyer
is told at once what happens next, the seller appeals from the order page itself, and once the
failure is final the buyer sees the refund line and what they paid net, the seller the penalty
and no payout; neither sees the other's figures. Both pages at desktop and phone width."""

from __future__ import annotations

import re
import uuid

import redis
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app.models import Order
from sneakers_app.money import format_usd
from sneakers_app.services import fees, ledger, market, notifications, saga
from sneakers_app.services import verification as vf
from sneakers_app.services.notifications import Kind
from tests.e2e.conftest import DESKTOP, PHONE, LiveApp, button, order_link, region, shoot
from tests.e2e.test_full_flow import (  # noqa: F401 (the db fixture)
    TRACKING_IN,
    accept_result,
    db,
    staff_member,
    status,
    wait_for,
)
from tests.e2e.test_product_live import Trader, find_market, log_in, make_trader, new_page
from trading.engine import RedisEngine

FAIL = vf.Checklist(box_ok=False, stitching_ok=True, materials_ok=True, tags_ok=True, size_ok=True)


def bought_now(live_app: LiveApp, db: Engine) -> tuple[Trader, Trader, Order]:
    """A seller's resting ask taken by a buyer's Buy Now, charged by the running worker (the
    product page's dialogs have their own journey in test_full_flow)."""
    spot = find_market(live_app, db, skip=5)
    seller = make_trader(live_app, db, card=False, payout=True)
    buyer = make_trader(live_app, db, card=True, payout=False)
    engine = RedisEngine(redis.Redis.from_url(live_app.redis_url))
    with Session(db) as s:
        for who, side, now in ((seller, "ask", False), (buyer, "bid", True)):
            placed = market.place(
                session=s,
                engine=engine,
                user_id=who.id,
                side=side,  # type: ignore[arg-type]
                variant_id=spot.variant_id,
                price_cents=spot.ask_price_cents,
                client_key=uuid.uuid4().hex,
                immediate=now,
            )
            assert placed.status == ("filled" if now else "open"), placed

    def charged() -> bool:
        with Session(db) as s:
            found = s.exec(select(Order).where(Order.buyer_id == buyer.id)).first()
        return found is not None and found.status == "awaiting_shipment"

    wait_for(charged, timeout=60)
    with Session(db, expire_on_commit=False) as s:
        order = s.exec(select(Order).where(Order.buyer_id == buyer.id)).one()
    return seller, buyer, order


def inspect_and_fail(db: Engine, order_id: int, staff: int, reason: str, *, first: bool) -> None:
    """The console's steps, through the services it calls (its own journey is test_full_flow)."""
    with Session(db) as s:
        if first:
            vf.receive(session=s, staff_id=staff, order_id=order_id)
            vf.start_inspection(session=s, staff_id=staff, order_id=order_id)
        vf.decide(
            session=s,
            staff_id=staff,
            order_id=order_id,
            checklist=FAIL,
            passed=False,
            reason=reason,
        )
        s.commit()


def notices(db: Engine, user_id: int, kind: Kind) -> list[notifications.NotificationView]:
    with Session(db) as s:
        return [n for n in notifications.inbox(session=s, user_id=user_id) if n.kind == kind]


def both_widths(page: Page, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    shoot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)  # the layout settles at the new width
    shoot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_each_side_sees_its_part_of_a_failed_authentication(
    browser: Browser, live_app: LiveApp, db: Engine
) -> None:
    seller, buyer, order = bought_now(live_app, db)
    order_id = order.id or 0
    total = format_usd(order.buyer_total_cents)
    penalty = format_usd(fees.penalty_for(order.price_cents))
    payout = format_usd(order.seller_payout_cents)
    with Session(db) as s:
        saga.mark_shipped(session=s, order_id=order_id, seller_id=seller.id, tracking=TRACKING_IN)
        s.commit()
    inspect_and_fail(db, order_id, staff_member(db).id, "Heel stitching is off.", first=True)
    _, buyer_page = new_page(browser, DESKTOP)
    _, seller_page = new_page(browser, DESKTOP)
    log_in(buyer_page, live_app, buyer.email, f"/orders/{order_id}")
    log_in(seller_page, live_app, seller.email, "/orders")

    # The buyer is told at once, before any refund: what happens next and when.
    (notice,) = notices(db, buyer.id, Kind.AUTH_FAILED_BUYER)
    assert "The seller may appeal until" in notice.body and total in notice.body
    buyer_page.goto(f"{live_app.url}/orders/{order_id}")
    expect(buyer_page.get_by_text("You bought", exact=True)).to_be_visible()
    next_steps = buyer_page.get_by_text(re.compile("^The seller may appeal until"))
    expect(next_steps).to_contain_text(total)
    expect(button(buyer_page, "Appeal")).to_have_count(0)
    both_widths(buyer_page, "failure-buyer-waiting")

    # The seller appeals from the order page (the notice links there).
    (seller_notice,) = notices(db, seller.id, Kind.AUTH_FAILED)
    assert seller_notice.link == f"/orders/{order_id}"
    seller_page.goto(f"{live_app.url}{seller_notice.link}")
    expect(seller_page.get_by_text("Your ask sold", exact=True)).to_be_visible()
    expect(region(seller_page, "Your payout")).to_contain_text("Payout on hold")
    expect(seller_page.get_by_text(re.compile("^Refund of"))).to_have_count(0)
    both_widths(seller_page, "failure-seller-appeal")
    button(seller_page, "Appeal").click()
    appeal = seller_page.get_by_role("dialog", name="Appeal the inspection")
    expect(appeal).to_be_visible()
    appeal.get_by_label("Why should it pass?").fill("These are retail pairs; the stitching varies.")
    button(appeal, "Send appeal").click()
    expect(seller_page.locator("#order-status")).to_have_text("Being authenticated")
    expect(button(seller_page, "Appeal")).to_have_count(0)
    assert status(db, order_id) == "authenticating"

    # A different inspector fails it again: final. The seller accepts; the buyer is refunded.
    inspect_and_fail(db, order_id, staff_member(db).id, "Confirmed: replica.", first=False)
    seller_page.goto(f"{live_app.url}/sell")
    accept_result(seller_page, order_id)
    # Refunded at once; the pair waits for staff to ship it back (its own tracking number).
    wait_for(lambda: status(db, order_id) == "returning_to_seller")

    # The buyer: the refund line (amount, when, which card), paid net, only "penalised".
    buyer_page.goto(f"{live_app.url}/orders/{order_id}")
    refund = buyer_page.get_by_text(re.compile("^Refund of"))
    expect(refund).to_contain_text(f"Refund of {total} to ")
    expect(refund).to_contain_text("5 to 10 business days")
    expect(region(buyer_page, "What you paid")).to_contain_text("Paid net")
    expect(region(buyer_page, "What you paid")).to_contain_text("$0.00")
    expect(buyer_page.get_by_text("The seller was penalised.", exact=True)).to_be_visible()
    expect(next_steps).to_have_count(0)
    buyer_text = buyer_page.locator("main, body").first.inner_text()
    assert penalty not in buyer_text and payout not in buyer_text
    assert "Penalty" not in buyer_text
    both_widths(buyer_page, "failure-buyer-refunded")
    buyer_page.goto(f"{live_app.url}/orders")
    row = order_link(buyer_page, order_id)
    expect(row).to_contain_text("Paid net")
    expect(row).to_contain_text(f"Refunded {total}")
    both_widths(buyer_page, "failure-buyer-orders")

    # The seller: the penalty and no payout, nothing of the buyer's card or refund.
    seller_page.goto(f"{live_app.url}/orders/{order_id}")
    expect(seller_page.get_by_text(f"A penalty of {penalty}")).to_be_visible()
    expect(region(seller_page, "Your payout")).to_contain_text("No payout")
    expect(seller_page.get_by_text(re.compile("^Refund of"))).to_have_count(0)
    expect(button(seller_page, "Appeal")).to_have_count(0)
    seller_text = seller_page.locator("body").inner_text()
    assert total not in seller_text and "Refund of" not in seller_text
    assert "ending" not in seller_text
    both_widths(seller_page, "failure-seller-penalised")
    seller_page.goto(f"{live_app.url}/orders?tab=selling")
    row = order_link(seller_page, order_id)
    expect(row).to_contain_text("Penalty")
    expect(row).to_contain_text("No payout")
    with Session(db) as s:
        assert ledger.check(session=s).ok
