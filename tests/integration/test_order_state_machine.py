"""Random sequences of saga events never move an order by an illegal transition."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

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
