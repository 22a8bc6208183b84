"""Seller dashboard and order views on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import redis
from sqlmodel import Session

from sneakers_app.models import Order, Payout
from sneakers_app.services import fees, listings, market, order_views, orders, payments
from sneakers_app.services import seller_dashboard as dash
from tests.support import factories
from tests.support.servers import RedisServer
from trading.engine import RedisEngine

NOW = datetime(2025, 6, 18, 15, tzinfo=UTC)  # a Wednesday
PATH = (
    "paid",
    "awaiting_shipment",
    "shipped_to_verification",
    "received",
    "authenticating",
    "authenticated",
    "shipped_to_buyer",
    "delivered",
    "completed",
)


def _order(
    session: Session,
    *,
    buyer: int,
    seller: int,
    to: str,
    price: int = 25_000,
    at: datetime = NOW,
    variant_id: int | None = None,
) -> Order:
    trade = factories.trade(
        session, buyer_id=buyer, seller_id=seller, price_cents=price, variant_id=variant_id
    )
    order, _ = orders.create_from_trade(session=session, trade=trade, now=at)
    if to == "auth_failed":
        steps: tuple[str, ...] = (*PATH[: PATH.index("authenticating") + 1], "auth_failed")
    elif to == "seller_did_not_ship":
        steps = ("paid", "awaiting_shipment", "seller_did_not_ship")
    else:
        steps = PATH[: PATH.index(to) + 1] if to != "created" else ()
    for status in steps:
        if status == "awaiting_shipment":
            order.ship_by = at + timedelta(days=2)
        if status == "auth_failed":
            order.appeal_deadline = at + orders.APPEAL_WINDOW
        orders.transition(
            session=session, order=order, to_status=status, now=at, reason=f"to {status}"
        )
    return order


@pytest.fixture
def people(session: Session) -> tuple[int, int]:
    return factories.user(session, "Seller"), factories.user(session, "Buyer")


def test_pending_sales_put_what_needs_action_first(
    session: Session, people: tuple[int, int]
) -> None:
    seller, buyer = people
    in_transit = _order(session, buyer=buyer, seller=seller, to="shipped_to_verification")
    later = _order(session, buyer=buyer, seller=seller, to="awaiting_shipment")
    later.ship_by = NOW + timedelta(hours=40)
    sooner = _order(session, buyer=buyer, seller=seller, to="awaiting_shipment")
    sooner.ship_by = NOW + timedelta(hours=3)
    failed = _order(session, buyer=buyer, seller=seller, to="auth_failed")
    done = _order(session, buyer=buyer, seller=seller, to="completed")
    someone_elses = _order(session, buyer=buyer, seller=factories.user(session), to="paid")
    session.commit()
    pending = dash.pending_sales(session=session, seller_id=seller, now=NOW)
    ids = [s.order_id for s in pending]
    assert ids == [sooner.id, later.id, failed.id, in_transit.id]
    assert someone_elses.id not in ids and done.id not in ids
    by_id = {s.order_id: s for s in pending}
    assert by_id[sooner.id or 0].can_ship and by_id[sooner.id or 0].can_extend
    assert not by_id[in_transit.id or 0].can_ship
    assert by_id[failed.id or 0].can_appeal and by_id[failed.id or 0].can_accept_failure
    assert by_id[failed.id or 0].tone == "red"
    # Past the deadlines nothing can be extended or appealed any more.
    late = dash.pending_sales(session=session, seller_id=seller, now=NOW + timedelta(days=5))
    assert not any(s.can_extend or s.can_appeal for s in late)
    closed = dash.completed_sales(session=session, seller_id=seller, now=NOW)
    assert [s.order_id for s in closed] == [done.id]


def test_active_asks_know_if_they_are_the_lowest(
    session: Session, people: tuple[int, int], redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    engine = RedisEngine(client)
    seller, rival = people[0], factories.user(session, "Rival")
    for user in (seller, rival):
        payments.save_payout_account(
            session=session,
            user_id=user,
            kind="manual",
            account_ref="IBAN GB33BUKB20201555555555",
            holder_name="Seller Name",
        )
    variant_id = factories.variant(session, "10")
    session.commit()

    def ask(user: int, price: int) -> int:
        return market.place(
            session=session,
            engine=engine,
            user_id=user,
            side="ask",
            variant_id=variant_id,
            price_cents=price,
            client_key=uuid.uuid4().hex,
        ).row_id

    def open_asks() -> list[listings.OwnListing]:
        return listings.open_listings(
            session=session, redis_client=client, user_id=seller, side="ask"
        )

    mine = ask(seller, 30_000)
    (row,) = open_asks()
    assert row.leads and row.lowest_ask_cents == 30_000
    ask(rival, 29_000)
    (row,) = open_asks()
    assert not row.leads and row.lowest_ask_cents == 29_000
    market.edit_price(
        session=session, engine=engine, user_id=seller, side="ask", row_id=mine, price_cents=28_500
    )
    (row,) = open_asks()
    assert row.leads and row.price_cents == 28_500
    with pytest.raises(market.MarketError):
        market.cancel(session=session, engine=engine, user_id=rival, side="ask", row_id=mine)
    market.cancel(session=session, engine=engine, user_id=seller, side="ask", row_id=mine)
    assert open_asks() == []
    client.close()


def test_payouts_listed_newest_first(session: Session, people: tuple[int, int]) -> None:
    seller, buyer = people
    first = _order(session, buyer=buyer, seller=seller, to="completed")
    second = _order(session, buyer=buyer, seller=seller, to="completed")
    session.add(
        Payout(
            order_id=first.id or 0,
            seller_id=seller,
            amount_cents=first.seller_payout_cents,
            status="paid",
            method="manual",
            reference="WIRE-1",
            created_at=NOW - timedelta(days=3),
            paid_at=NOW - timedelta(days=2),
        )
    )
    session.add(
        Payout(
            order_id=second.id or 0,
            seller_id=seller,
            amount_cents=second.seller_payout_cents,
            method="manual",
            created_at=NOW,
        )
    )
    session.commit()
    rows = dash.payouts(session=session, seller_id=seller)
    assert [(r.order_id, r.status) for r in rows] == [(second.id, "pending"), (first.id, "paid")]
    assert rows[1].reference == "WIRE-1" and rows[1].product is not None
    assert dash.payouts(session=session, seller_id=buyer) == []


def test_analytics_by_week_and_month(session: Session, people: tuple[int, int]) -> None:
    seller, buyer = people
    this_week = _order(session, buyer=buyer, seller=seller, to="completed", price=20_000)
    last_week = _order(
        session,
        buyer=buyer,
        seller=seller,
        to="completed",
        price=30_000,
        at=NOW - timedelta(days=7),
    )
    _order(session, buyer=buyer, seller=seller, to="awaiting_shipment", price=99_000)
    session.commit()
    weekly = dash.analytics(session=session, seller_id=seller, period="week", now=NOW)
    assert len(weekly.buckets) == 12
    assert weekly.buckets[-1].start == date(2025, 6, 16)
    assert weekly.buckets[-1].units == 1 and weekly.buckets[-1].revenue_cents == 20_000
    assert weekly.buckets[-2].units == 1 and weekly.buckets[-2].revenue_cents == 30_000
    assert weekly.units == 2 and weekly.revenue_cents == 50_000
    fees_paid = sum(
        o.seller_transaction_fee_cents + o.seller_processing_fee_cents + o.seller_shipping_cents
        for o in (this_week, last_week)
    )
    assert weekly.fees_cents == fees_paid
    assert weekly.payout_cents == this_week.seller_payout_cents + last_week.seller_payout_cents
    assert weekly.revenue_cents == weekly.fees_cents + weekly.payout_cents
    monthly = dash.analytics(session=session, seller_id=seller, period="month", now=NOW)
    assert monthly.buckets[-1].label == "Jun '25"
    assert monthly.buckets[-1].units == 2
    assert monthly.buckets[0].start == date(2024, 7, 1)


def test_level_card_progress_to_the_next_level(session: Session, people: tuple[int, int]) -> None:
    seller, buyer = people
    empty = dash.level_card(session=session, seller_id=seller, now=NOW)
    assert (empty.level, empty.fee_bp, empty.next_level, empty.next_fee_bp) == (1, 900, 2, 850)
    assert empty.progress_pct == 0 and empty.sales_to_next == 12
    assert empty.quarter_ends == date(2025, 6, 30)
    for _ in range(3):
        _order(session, buyer=buyer, seller=seller, to="completed", price=50_000)
    session.commit()
    card = dash.level_card(session=session, seller_id=seller, now=NOW)
    assert card.sales == 3 and card.volume_cents == 150_000
    # Volume alone reaches level 2 (sales OR volume); the next is level 3.
    assert card.level == 2 and card.next_level == 3
    assert card.volume_to_next_cents == 350_000 and card.sales_to_next == 37
    assert card.progress_pct == 30
    top = fees.DEFAULT_LEVELS[-1]
    schedule = fees.FeeSchedule(levels=(top,))
    last = dash.level_card(session=session, seller_id=seller, now=NOW, schedule=schedule)
    assert last.next_level is None and last.progress_pct == 100


def test_order_views_for_each_party_only(session: Session, people: tuple[int, int]) -> None:
    seller, buyer = people
    stranger = factories.user(session, "Stranger")
    order = _order(session, buyer=buyer, seller=seller, to="shipped_to_verification")
    order.inbound_tracking = "1Z999AA10123456784"
    session.commit()
    assert order.id is not None
    buying = order_views.list_orders(session=session, user_id=buyer, role="buying")
    selling = order_views.list_orders(session=session, user_id=seller, role="selling")
    assert [r.id for r in buying] == [order.id] and [r.id for r in selling] == [order.id]
    assert buying[0].amount_cents == order.buyer_total_cents
    assert selling[0].amount_cents == order.seller_payout_cents
    assert order_views.list_orders(session=session, user_id=buyer, role="selling") == []

    as_buyer = order_views.order_detail(session=session, user_id=buyer, order_id=order.id)
    assert as_buyer.row.role == "buying"
    assert [s.status for s in as_buyer.timeline] == [
        "created",
        "paid",
        "awaiting_shipment",
        "shipped_to_verification",
    ]
    assert as_buyer.timeline[0].reason == "Bid and ask matched at $250.00."
    assert as_buyer.timeline[-1].label == "On its way to authentication"
    assert as_buyer.money[-1].amount_cents == order.buyer_total_cents
    assert sum(m.amount_cents for m in as_buyer.money[:-1]) == order.buyer_total_cents
    assert as_buyer.inbound_tracking == "1Z999AA10123456784"
    as_seller = order_views.order_detail(session=session, user_id=seller, order_id=order.id)
    assert as_seller.row.role == "selling"
    assert sum(m.amount_cents for m in as_seller.money[:-1]) == order.seller_payout_cents
    assert "level 1, 9%" in as_seller.money[1].label

    for who, which in ((stranger, order.id), (buyer, 10**9), (buyer, "1"), (buyer, -1)):
        with pytest.raises(orders.OrderError) as refused:
            order_views.order_detail(session=session, user_id=who, order_id=which)
        assert refused.value.message == "Order not found."
