from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sneakers_app.services import fees

SCHEDULE = fees.DEFAULT_SCHEDULE


@pytest.mark.parametrize(
    ("amount", "bp", "expected"),
    [
        (10_000, 900, 900),
        (10_050, 300, 302),
        (10_016, 300, 300),
        (10_017, 300, 301),
        (1, 9999, 1),
        (0, 900, 0),
        (33_333, 850, 2_833),
    ],
)
def test_percent_of_rounds_half_up(amount: int, bp: int, expected: int) -> None:
    assert fees.percent_of(amount, bp) == expected


@pytest.mark.parametrize(
    ("sales", "volume", "level", "bp"),
    [
        (0, 0, 1, 900),
        (11, 149_999, 1, 900),
        (12, 0, 2, 850),
        (0, 150_000, 2, 850),
        (40, 0, 3, 800),
        (0, 500_000, 3, 800),
        (199, 2_499_999, 3, 800),
        (200, 0, 4, 750),
        (0, 2_500_000, 4, 750),
        (800, 0, 5, 700),
        (0, 10_000_000, 5, 700),
    ],
)
def test_seller_levels(sales: int, volume: int, level: int, bp: int) -> None:
    reached = SCHEDULE.level_for(sales=sales, volume_cents=volume)
    assert (reached.level, reached.fee_bp) == (level, bp)


def test_quotes_for_a_250_dollar_pair() -> None:
    buyer = fees.quote_buyer(25_000)
    assert (buyer.processing_fee_cents, buyer.shipping_cents, buyer.total_cents) == (
        750,
        1_495,
        27_245,
    )
    seller = fees.quote_seller(25_000, SCHEDULE.levels[0])
    assert seller.transaction_fee_cents == 2_250
    assert seller.processing_fee_cents == 750
    assert seller.payout_cents == 25_000 - 2_250 - 750 - 500


@given(
    price=st.integers(min_value=100, max_value=10_000_000),
    level=st.sampled_from(fees.DEFAULT_LEVELS),
)
def test_money_adds_up_to_the_cent(price: int, level: fees.SellerLevel) -> None:
    buyer = fees.quote_buyer(price)
    seller = fees.quote_seller(price, level)
    platform = (
        buyer.processing_fee_cents
        + buyer.shipping_cents
        + seller.transaction_fee_cents
        + seller.processing_fee_cents
        + seller.shipping_cents
    )
    assert buyer.total_cents == seller.payout_cents + platform
    assert all(isinstance(v, int) for v in (buyer.total_cents, seller.payout_cents))


@pytest.mark.parametrize(
    ("price", "penalty"),
    [(5_000, 1_500), (10_000, 1_500), (10_001, 1_500), (20_000, 3_000), (123_457, 18_519)],
)
def test_penalty_is_15_percent_with_a_15_dollar_minimum(price: int, penalty: int) -> None:
    assert fees.penalty_for(price) == penalty


def test_quarter_start() -> None:
    assert fees.quarter_start(datetime(2026, 11, 24, 5, tzinfo=UTC)) == datetime(
        2026, 10, 1, tzinfo=UTC
    )
    assert fees.quarter_start(datetime(2026, 3, 31, 23, tzinfo=UTC)) == datetime(
        2026, 1, 1, tzinfo=UTC
    )


def test_minimum_ask_leaves_a_positive_payout() -> None:
    minimum = fees.minimum_ask_cents()
    worst = max(SCHEDULE.levels, key=lambda lv: lv.fee_bp)
    assert fees.quote_seller(minimum, worst).payout_cents > 0
    assert fees.quote_seller(minimum - 100, worst).payout_cents <= 0
