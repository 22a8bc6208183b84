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
    assert text.body == "We refunded $123.45 for Your order (your item) to your card. Late."
    assert text.link == routes.ORDERS
