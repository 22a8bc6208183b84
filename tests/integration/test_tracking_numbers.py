# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""Tracking numbers are validated as typed: 8 to 40 letters and digits. Anything else is refused
with a message and changes nothing; it is never cleaned into something that passes."""

from __future__ import annotations

import pytest

from sneakers_app.db import session_scope
from sneakers_app.services import orders, saga
from sneakers_app.services import verification as vf
from tests.integration.test_saga import (  # noqa: F401 (fixtures)
    ALL_OK,
    Market,
    mk,
    smtp,
    variant,
)

REFUSED = [
    "",
    "   ",
    "abc",  # too short
    "A" * 41,  # too long
    "1Z 999 AA1 0123456784",  # inner spaces
    "1Z999AA1-0123456784",  # a dash
    "x'; DROP TABLE orders; --1234567",
    "<script>alert(1)</script>12345678",
    "1Z999AA10123456784\n1Z999AA10123456785",
    "\uff11\uff3a\uff19\uff19\uff19\uff21\uff21\uff11\uff10\uff11\uff12\uff13",  # full-width
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",  # Arabic-Indic digits
    "1Z999AA1012345\u00e9784",  # a letter outside ASCII
    "1Z999AA1012345\u200b6784",  # zero-width space
]


@pytest.mark.parametrize("typed", REFUSED)
def test_the_seller_cannot_ship_with_a_malformed_tracking_number(
    mk: Market,
    variant: int,
    typed: str,
) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    with pytest.raises(orders.OrderError) as refused:
        with session_scope(mk.db) as s:
            saga.mark_shipped(session=s, order_id=order_id, seller_id=seller, tracking=typed)
    assert "8 to 40 letters and digits" in refused.value.message
    order = mk.order(order_id)
    assert order.status == "awaiting_shipment" and order.inbound_tracking is None
    assert mk.statuses(order_id)[-1] == "awaiting_shipment"


@pytest.mark.parametrize("typed", REFUSED[4:9])
def test_staff_cannot_ship_to_the_buyer_with_a_malformed_tracking_number(
    mk: Market,
    variant: int,
    typed: str,
) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    with pytest.raises(orders.OrderError) as refused:
        with session_scope(mk.db) as s:
            vf.ship_to_buyer(session=s, staff_id=staff, order_id=order_id, tracking=typed)
    assert "8 to 40 letters and digits" in refused.value.message
    order = mk.order(order_id)
    assert order.status == "authenticated" and order.outbound_tracking is None


def test_a_well_formed_number_is_kept_as_typed(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    typed = "1z999aa10123456784" + "0" * 22  # 40 characters, the longest allowed
    with session_scope(mk.db) as s:
        saga.mark_shipped(session=s, order_id=order_id, seller_id=seller, tracking=f" {typed} ")
    order = mk.order(order_id)
    assert order.status == "shipped_to_verification"
    assert order.inbound_tracking == typed.upper()
