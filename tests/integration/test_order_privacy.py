# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""What each side of a sale may read: the seller never sees the buyer's card decline reason,
card, refund or the total the buyer was charged (price plus the buyer's own fees), on the order
page, in the seller dashboard, or in the notifications and emails the seller gets; the buyer
never sees the seller's fees, payout or penalty amount (only that the seller was penalised)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sqlmodel import select

from sneakers_app.db import session_scope
from sneakers_app.models import Notification, Order, Payment, User
from sneakers_app.money import format_usd
from sneakers_app.services import notifications, order_views, portfolio, saga, seller_dashboard
from tests.integration.test_after_failure import failed_order, snapshot_card
from tests.integration.test_payments import CARD_DECLINED_ON_CHARGE
from tests.integration.test_saga import (  # noqa: F401 (fixtures)
    Market,
    mk,
    smtp,
    variant,
)


def _seller_sees(mk: Market, seller: int, order_id: int) -> str:
    """Everything the seller's pages and messages show about their sales, as one text."""
    with session_scope(mk.db) as s:
        detail = order_views.order_detail(session=s, user_id=seller, order_id=order_id)
        rows = order_views.list_orders(session=s, user_id=seller, role="selling")
        pending = seller_dashboard.pending_sales(session=s, seller_id=seller)
        done = seller_dashboard.completed_sales(session=s, seller_id=seller)
        inbox = notifications.inbox(session=s, user_id=seller, limit=50)
        user = s.get(User, seller)
        assert user is not None
        emails = [
            notifications.build_email(
                notification=n, user=user, settings=mk.settings
            ).message.as_string()
            for n in s.exec(select(Notification).where(Notification.user_id == seller)).all()
        ]
    views: list[Any] = [detail, *rows, *pending, *done]
    parts = [dataclasses.asdict(view) for view in views]
    parts += [dataclasses.asdict(n) for n in inbox]
    return "\n".join([*map(repr, parts), *emails])


def _buyer_detail(mk: Market, buyer: int, order_id: int) -> str:
    with session_scope(mk.db) as s:
        return repr(
            dataclasses.asdict(
                order_views.order_detail(session=s, user_id=buyer, order_id=order_id)
            )
        )


def _amounts(cents: int) -> list[str]:
    return [format_usd(cents), f"{cents} cents", f"{cents / 100:.2f}"]


def test_the_seller_never_reads_the_buyers_decline_reason(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer(CARD_DECLINED_ON_CHARGE)
    order_id = mk.matched_order(seller, buyer, variant)
    result = mk.step(saga.charge, order_id=order_id, client=mk.stripe)
    assert result.status == "payment_failed"
    with mk.session() as s:
        failed = s.exec(select(Payment).where(Payment.order_id == order_id)).one()
    decline = failed.failure_reason
    assert decline and len(decline) > 8

    seen = _seller_sees(mk, seller, order_id)
    assert decline not in seen
    assert "payment did not go through" in seen
    for amount in _amounts(mk.order(order_id).buyer_total_cents):
        assert amount not in seen
    # The buyer is told why.
    assert decline in _buyer_detail(mk, buyer, order_id)


def test_the_seller_never_reads_the_buyers_total_charge(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    order = mk.order(order_id)
    assert order.buyer_total_cents > order.price_cents

    seen = _seller_sees(mk, seller, order_id)
    for amount in _amounts(order.buyer_total_cents):
        assert amount not in seen
    assert format_usd(order.seller_payout_cents) in seen
    assert "payment went through" in seen
    assert format_usd(order.buyer_total_cents) in _buyer_detail(mk, buyer, order_id)


def _buyer_sees(mk: Market, buyer: int, order_id: int) -> str:
    """Everything the buyer's order page, order list, portfolio and messages show, as one text."""
    with session_scope(mk.db) as s:
        detail = order_views.order_detail(session=s, user_id=buyer, order_id=order_id)
        rows = order_views.list_orders(session=s, user_id=buyer, role="buying")
        history = portfolio.purchase_history(session=s, user_id=buyer)
        inbox = notifications.inbox(session=s, user_id=buyer, limit=50)
    views: list[Any] = [detail, *rows, *history, *inbox]
    parts = [dataclasses.asdict(view) for view in views]
    return "\n".join(map(repr, parts))


def _failed_for_good(mk: Market, variant_id: int) -> tuple[int, int, Order]:
    """(seller, buyer, order) of a sale whose pair failed and whose seller accepted it."""
    seller, buyer = mk.seller(), mk.buyer()
    order_id = failed_order(mk, seller, buyer, mk.staff(), variant_id)
    snapshot_card(mk, order_id)
    mk.step(saga.finalize_failure, order_id=order_id, seller_id=seller, client=mk.stripe)
    return seller, buyer, mk.order(order_id)


def test_after_a_failure_the_buyer_reads_only_that_the_seller_was_penalised(
    mk: Market, variant: int
) -> None:
    _, buyer, order = _failed_for_good(mk, variant)
    order_id = order.id or 0
    assert order.penalty_cents > 0

    seen = _buyer_sees(mk, buyer, order_id)
    detail = _buyer_detail(mk, buyer, order_id)
    assert "'seller_penalised': True" in detail
    assert "'penalty_cents': 0" in detail and "'seller_fee_bp': 0" in detail
    for cents in (order.penalty_cents, order.seller_payout_cents):
        for amount in _amounts(cents):
            assert amount not in seen, amount
    assert "Penalty" not in seen and "payout" not in seen.lower()
    # ...while the buyer's own refund is there.
    assert "Visa ending 4242" in seen
    assert format_usd(order.buyer_total_cents) in seen


def test_after_a_failure_the_seller_never_reads_the_buyers_card_or_refund(
    mk: Market, variant: int
) -> None:
    seller, _, order = _failed_for_good(mk, variant)

    seen = _seller_sees(mk, seller, order.id or 0)
    # (the last four on their own: a timestamp's digits may hold 4242 by chance)
    assert not re.search(r"(?<!\d)4242(?!\d)", seen) and "visa" not in seen.lower()
    # (that the buyer was refunded is the order's status; how much and to which card is not)
    for amount in _amounts(order.buyer_total_cents):
        assert amount not in seen
    assert "'refund': None" in seen
    # ...while the seller's own penalty is there.
    assert format_usd(order.penalty_cents) in seen
