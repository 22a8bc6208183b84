"""What the verification console reads, on SQLite and PostgreSQL: staff only, with the facts."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from sneakers_app.models import Payout
from sneakers_app.services import orders, payments, verification, verification_views
from sneakers_app.services.orders import OrderError
from tests.support import factories


def shipped_order(session: Session) -> tuple[int, int, int]:
    """An order the seller shipped to authentication (the charge step is the saga's own test)."""
    buyer = factories.user(session, "Buyer")
    seller = factories.user(session, "Seller")
    trade = factories.trade(session, buyer_id=buyer, seller_id=seller, price_cents=30_000)
    order, _ = orders.create_from_trade(session=session, trade=trade)
    assert order.id is not None
    for status in ("paid", "awaiting_shipment"):
        orders.transition(session=session, order=order, to_status=status)
    order.inbound_tracking = "1Z999AA10123456784"
    orders.transition(
        session=session,
        order=order,
        to_status="shipped_to_verification",
        actor_kind="seller",
        actor_id=seller,
    )
    session.commit()
    return order.id, buyer, seller


def test_members_are_refused_every_view(session: Session) -> None:
    order_id, buyer, _ = shipped_order(session)
    for call in (
        lambda: verification_views.queue_items(session=session, staff_id=buyer, name="to_receive"),
        lambda: verification_views.order_facts(session=session, staff_id=buyer, order_id=order_id),
        lambda: verification_views.pending_payouts(session=session, staff_id=buyer),
    ):
        with pytest.raises(OrderError, match="verification staff only"):
            call()


def test_queue_row_and_facts_with_who_did_what(session: Session) -> None:
    order_id, buyer, seller = shipped_order(session)
    staff = factories.user(session, "Inspector", staff=True)
    [item] = [
        i
        for i in verification_views.queue_items(session=session, staff_id=staff, name="to_receive")
        if i.order_id == order_id
    ]
    assert (item.pair.size, item.price_cents, item.inbound_tracking) == (
        "10",
        30_000,
        "1Z999AA10123456784",
    )
    verification.receive(session=session, staff_id=staff, order_id=order_id)
    verification.start_inspection(session=session, staff_id=staff, order_id=order_id)
    checklist = verification.Checklist(
        box_ok=True, stitching_ok=False, materials_ok=True, tags_ok=True, size_ok=True
    )
    verification.decide(
        session=session,
        staff_id=staff,
        order_id=order_id,
        checklist=checklist,
        passed=False,
        reason="Stitching is uneven.",
    )
    session.commit()
    facts = verification_views.order_facts(session=session, staff_id=staff, order_id=order_id)
    assert (facts.buyer.id, facts.seller.id) == (buyer, seller)
    assert [e.to_status for e in facts.events][-3:] == ["received", "authenticating", "auth_failed"]
    assert facts.events[-1].actor_name.startswith("Inspector")
    [inspection] = facts.inspections
    assert not inspection.passed and inspection.checks["Stitching"] is False
    assert inspection.reason == "Stitching is uneven."
    for bad in (0, -1, True, "1", 10**9):
        with pytest.raises(OrderError, match="Order not found"):
            verification_views.order_facts(session=session, staff_id=staff, order_id=bad)


def test_pending_manual_payouts_show_where_to_pay(session: Session) -> None:
    order_id, _, seller = shipped_order(session)
    staff = factories.user(session, "Payer", staff=True)
    payments.save_payout_account(
        session=session,
        user_id=seller,
        kind="manual",
        account_ref="GB33BUKB20201555555555",
        holder_name="Seller Payee",
    )
    # The destination is copied onto the payout when it is created (as `saga.complete` does).
    session.add(
        Payout(
            order_id=order_id,
            seller_id=seller,
            amount_cents=25_000,
            method="manual",
            destination_kind="manual",
            destination_ref="GB33BUKB20201555555555",
            destination_holder="Seller Payee",
        )
    )
    session.commit()
    [pending] = [
        p
        for p in verification_views.pending_payouts(session=session, staff_id=staff)
        if p.order_id == order_id
    ]
    assert (pending.holder_name, pending.account_ref, pending.amount_cents) == (
        "Seller Payee",
        "GB33BUKB20201555555555",
        25_000,
    )
