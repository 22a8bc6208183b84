"""The marketplace's words: statuses, transitions, groups, labels, the ratio rule and routes."""

from __future__ import annotations

import pytest

from sneakers_app import routes, vocabulary
from sneakers_app.models import ORDER_SIDE_STATUSES, ORDER_STATUSES
from sneakers_app.vocabulary import (
    LISTING_OPEN,
    LISTING_TRANSITIONS,
    ORDER_ACTIVE,
    ORDER_LABELS,
    ORDER_TERMINAL,
    ORDER_TONES,
    ORDER_TRANSITIONS,
    ListingStatus,
    OrderStatus,
    change_bp,
    percent_text,
    ratio_bp,
)


def test_statuses_are_their_database_strings() -> None:
    paid: str = OrderStatus.PAID
    partially_filled: str = ListingStatus.PARTIALLY_FILLED
    assert paid == "paid"
    assert partially_filled == "partially_filled"
    assert ORDER_STATUSES == tuple(s.value for s in OrderStatus)
    assert ORDER_SIDE_STATUSES == tuple(s.value for s in ListingStatus)
    assert "'awaiting_shipment'" in f"'{OrderStatus.AWAITING_SHIPMENT}'"


def test_every_order_status_has_transitions_a_label_and_a_tone() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)
    assert set(ORDER_LABELS) == set(OrderStatus)
    assert set(ORDER_TONES) == set(OrderStatus)
    for nexts in ORDER_TRANSITIONS.values():
        assert nexts <= set(OrderStatus)
    assert ORDER_TERMINAL == {
        OrderStatus.COMPLETED,
        OrderStatus.PAYMENT_FAILED,
        OrderStatus.SELLER_DID_NOT_SHIP,
        OrderStatus.RETURNED_TO_SELLER,
        OrderStatus.CANCELLED,
    }
    assert ORDER_ACTIVE.isdisjoint(ORDER_TERMINAL)
    assert ORDER_ACTIVE | ORDER_TERMINAL == set(OrderStatus)


def test_the_tables_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        ORDER_TRANSITIONS["completed"] = frozenset()  # type: ignore[index]


def test_labels_take_plain_strings_and_spell_out_unknown_ones() -> None:
    assert vocabulary.order_label("awaiting_shipment") == "Waiting for the seller to ship"
    assert vocabulary.order_label("on_the_moon") == "On the moon"
    assert vocabulary.order_tone("auth_failed") == "red"
    assert vocabulary.order_tone("on_the_moon") == "gray"


def test_open_listings_are_the_ones_that_may_still_trade() -> None:
    assert LISTING_OPEN == ("open", "partially_filled")
    assert all(LISTING_TRANSITIONS[s] for s in LISTING_OPEN)
    assert vocabulary.LISTING_CLOSED == {"filled", "cancelled", "expired"}
    assert vocabulary.listing_is_open("partially_filled")
    assert not vocabulary.listing_is_open("filled")


@pytest.mark.parametrize(
    ("part", "whole", "bp"),
    [
        (1, 3, 3_333),  # 3333.33 -> down
        (2, 3, 6_667),  # 6666.67 -> up
        (1, 20_000, 1),  # 0.5 bp: half goes up
        (-1, 20_000, -1),  # and a fall the same distance reads alike
        (1, 20_001, 0),  # just under a half
        (-1, 3, -3_333),
        (-2, 3, -6_667),
        (0, 7, 0),
        (20, 240, 833),
        (55_000, 74_000, 7_432),
    ],
)
def test_ratio_bp_rounds_half_up_on_the_magnitude(part: int, whole: int, bp: int) -> None:
    assert ratio_bp(part, whole) == bp


def test_a_ratio_needs_a_positive_whole() -> None:
    with pytest.raises(ValueError):
        ratio_bp(1, 0)
    assert change_bp(100, 0) is None
    assert change_bp(None, 100) is None
    assert change_bp(110, 100) == 1_000
    assert change_bp(90, 100) == -1_000


@pytest.mark.parametrize(
    ("bp", "signed", "text"),
    [
        (1_234, True, "+12.3%"),
        (1_235, True, "+12.4%"),  # half of a tenth goes up
        (-1_235, True, "-12.4%"),
        (1_234, False, "12.3%"),
        (-1_234, False, "-12.3%"),
        (4, True, "0.0%"),
        (5, True, "+0.1%"),
        (-4, True, "0.0%"),
        (0, True, "0.0%"),
        (900, False, "9.0%"),
        (None, True, "\u2014"),
    ],
)
def test_percent_text_has_one_decimal_rounded_half_up(
    bp: int | None, signed: bool, text: str
) -> None:
    assert percent_text(bp, signed=signed) == text


def test_routes_are_built_and_read_in_one_place() -> None:
    assert routes.product("air-jordan-1") == "/product/air-jordan-1"
    assert routes.order(42) == "/orders/42"
    assert routes.product_image("aj1.svg") == "/products/aj1.svg"
    assert routes.product_image("") == ""
    assert routes.slug_in("/product/air-jordan-1/") == "air-jordan-1"
    assert routes.slug_in("/orders/3") == ""
    assert routes.order_id_in("/orders/17") == "17"
    assert routes.order_id_in("/product/x") == ""
