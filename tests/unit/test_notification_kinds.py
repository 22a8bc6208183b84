"""The kinds table and rendering without a database: a context with no ids looks nothing up."""

from __future__ import annotations

import string
from typing import cast

from sqlmodel import Session

from sneakers_app import routes
from sneakers_app.services import notifications
from sneakers_app.services.notifications.kinds import KINDS, Kind
from sneakers_app.services.notifications.rendering import render, render_context

NO_SESSION = cast(Session, None)  # never used: no context below names an id


def test_every_kind_has_a_spec_whose_templates_parse() -> None:
    assert set(KINDS) == set(Kind)
    for kind, spec in KINDS.items():
        assert spec.kind is kind and spec.label
        for template in (spec.title, spec.body, spec.link):
            list(string.Formatter().parse(template))


def test_the_package_re_exports_what_callers_use() -> None:
    assert notifications.Kind is Kind and notifications.KINDS is KINDS
    assert notifications.email_key(7) == "email:7"
    assert notifications.ALWAYS_SENT <= set(Kind)


def test_cents_render_in_dollars_and_a_missing_order_falls_back_to_the_list() -> None:
    values = render_context(NO_SESSION, {"amount_cents": 12_345, "reason": "Late."})
    assert values["amount"] == "$123.45" and values["item"] == "your item"
    text = render(
        session=NO_SESSION,
        kind=Kind.REFUND_ISSUED,
        context={"amount_cents": 12_345, "reason": "Late."},
    )
    assert text.title == "Refund issued: $123.45"
    assert text.body == (
        "We refunded $123.45 for Your order (your item) to your card. Late. Refunds take "
        "5 to 10 business days to appear on your statement."
    )
    assert text.link == routes.ORDERS


def test_a_match_reads_after_what_the_member_did() -> None:
    """The trade's maker side decides the words; without a trade the taker's words."""
    bought = {"price_cents": 20_000, "total_cents": 21_500}
    sold = {"price_cents": 20_000, "payout_cents": 18_000}
    cases = [
        (Kind.BID_MATCHED, bought, "ask", "You bought your item", "You bought at $200.00"),
        (Kind.BID_MATCHED, bought, "bid", "Your bid matched: your item", "Your bid matched at"),
        (Kind.ASK_MATCHED, sold, "bid", "You sold your item for $200.00", "You sold at $200.00"),
        (Kind.ASK_MATCHED, sold, "ask", "Your ask sold: your item for $200.00", "Your ask sold"),
        (Kind.BID_MATCHED, bought, None, "You bought your item", "You bought at"),
    ]
    for kind, context, maker_side, title, lead in cases:
        extra = {} if maker_side is None else {"maker_side": maker_side}
        text = render(session=NO_SESSION, kind=kind, context={**context, **extra})
        assert (text.title, text.body.startswith(lead)) == (title, True), (maker_side, text)


def test_a_count_of_bids_agrees_with_its_noun() -> None:
    one = render(session=NO_SESSION, kind=Kind.BIDS_CANCELLED_CARD, context={"count": 1})
    three = render(session=NO_SESSION, kind=Kind.BIDS_CANCELLED_CARD, context={"count": 3})
    assert "cancelled your 1 open bid before" in one.body
    assert "cancelled your 3 open bids before" in three.body
