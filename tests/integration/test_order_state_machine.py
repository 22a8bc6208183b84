"""Random sequences of saga events never move an order by an illegal transition."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from sneakers_app.models import Order, utcnow
from sneakers_app.services import orders
from tests.support import factories

STATES = sorted(orders.TRANSITIONS)


@pytest.fixture
def parties(session: Session) -> tuple[int, int]:
    buyer = factories.user(session, "Buyer")
    seller = factories.user(session, "Seller")
    session.commit()
    return buyer, seller


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(attempts=st.lists(st.sampled_from(STATES), min_size=1, max_size=25))
def test_only_legal_transitions_happen(
    session: Session, parties: tuple[int, int], attempts: list[str]
) -> None:
    buyer, seller = parties
    trade = factories.trade(session, buyer_id=buyer, seller_id=seller)
    order, created = orders.create_from_trade(session=session, trade=trade)
    assert created
    path = ["created"]
    for target in attempts:
        before = order.status
        if target in orders.TRANSITIONS[before]:
            orders.transition(session=session, order=order, to_status=target)
            path.append(target)
        else:
            with pytest.raises(orders.IllegalTransition):
                orders.transition(session=session, order=order, to_status=target)
            assert order.status == before
    session.commit()
    assert order.id is not None
    events = orders.events_for(session=session, order_id=order.id)
    assert [e.to_status for e in events] == path
    for previous, event in itertools.pairwise(events):
        assert event.from_status == previous.to_status
        assert event.to_status in orders.TRANSITIONS[previous.to_status]


def test_terminal_states_are_final() -> None:
    for state in orders.TERMINAL:
        assert orders.TRANSITIONS[state] == frozenset()
    assert {
        "completed",
        "payment_failed",
        "seller_did_not_ship",
        "returned_to_seller",
        "cancelled",
    } == set(orders.TERMINAL)


def test_every_state_is_reachable_from_created() -> None:
    seen, frontier = {"created"}, ["created"]
    while frontier:
        for nxt in orders.TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(orders.TRANSITIONS)


def test_create_from_trade_is_idempotent_and_snapshots_fees(
    session: Session, parties: tuple[int, int]
) -> None:
    buyer, seller = parties
    trade = factories.trade(session, buyer_id=buyer, seller_id=seller, price_cents=25_000)
    first, created = orders.create_from_trade(session=session, trade=trade)
    again, created_again = orders.create_from_trade(session=session, trade=trade)
    assert created and not created_again and first.id == again.id
    assert first.buyer_total_cents == 25_000 + 750 + 1_495
    assert first.seller_payout_cents == 25_000 - 2_250 - 750 - 500
    assert first.seller_level == 1


def test_advance_moves_through_several_statuses_in_one_step_or_not_at_all(
    session: Session, parties: tuple[int, int]
) -> None:
    """`advance` (a charge: paid, then awaiting shipment, with the ship-by date): every step
    must be allowed from the one before, each is its own event, and the other values go in
    the same compare-and-set; a step not allowed, or an order changed meanwhile, writes
    nothing."""
    buyer, seller = parties

    def new_order() -> Order:
        trade = factories.trade(session, buyer_id=buyer, seller_id=seller)
        order, _ = orders.create_from_trade(session=session, trade=trade)
        session.commit()
        return order

    order = new_order()
    with pytest.raises(orders.IllegalTransition):
        orders.advance(session=session, order=order, steps=[("paid", "a"), ("completed", "b")])
    assert order.status == "created"
    ship_by = orders.add_business_days(utcnow(), orders.SHIP_BY_BUSINESS_DAYS)
    events = orders.advance(
        session=session,
        order=order,
        steps=[("paid", "charged"), ("awaiting_shipment", "ship it")],
        values={"ship_by": ship_by},
    )
    session.commit()
    assert [e.to_status for e in events] == ["paid", "awaiting_shipment"]
    assert order.id is not None
    session.expire_all()
    again = session.get(Order, order.id)
    assert again is not None and again.status == "awaiting_shipment"
    assert again.ship_by is not None
    assert [
        (e.from_status, e.to_status, e.reason)
        for e in orders.events_for(session=session, order_id=order.id)[1:]
    ] == [("created", "paid", "charged"), ("paid", "awaiting_shipment", "ship it")]

    # another process moved the order meanwhile: this one's view is stale, nothing is written
    order = new_order()
    with Session(session.get_bind()) as other:
        stale = other.get(Order, order.id)
        assert stale is not None
        orders.transition(session=session, order=order, to_status="paid")
        session.commit()
        with pytest.raises(orders.ConcurrentChange):
            orders.advance(
                session=other,
                order=stale,
                steps=[("paid", "x"), ("awaiting_shipment", "y")],
                values={"ship_by": ship_by},
            )
        other.rollback()
    assert order.id is not None
    session.expire_all()
    again = session.get(Order, order.id)
    assert again is not None and (again.status, again.ship_by) == ("paid", None)
    assert [e.to_status for e in orders.events_for(session=session, order_id=order.id)] == [
        "created",
        "paid",
    ]
