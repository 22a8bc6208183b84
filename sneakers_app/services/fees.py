"""Fees, seller levels and penalties, in integer cents.

Rounding rule (one rule everywhere): a percentage fee is `price * basis_points / 10_000`
rounded half up to the cent, computed in integers. A quote is snapshotted on the order at the
match, so a later change of schedule never changes an order's money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def percent_of(amount_cents: int, basis_points: int) -> int:
    """`amount * bp / 10000`, rounded half up, for non-negative integers."""
    if amount_cents < 0 or basis_points < 0:
        raise ValueError("fees are computed on non-negative amounts")
    return (amount_cents * basis_points + 5_000) // 10_000


@dataclass(frozen=True, kw_only=True)
class SellerLevel:
    level: int
    fee_bp: int
    min_sales: int
    min_volume_cents: int


DEFAULT_LEVELS: tuple[SellerLevel, ...] = (
    SellerLevel(level=1, fee_bp=900, min_sales=0, min_volume_cents=0),
    SellerLevel(level=2, fee_bp=850, min_sales=12, min_volume_cents=150_000),
    SellerLevel(level=3, fee_bp=800, min_sales=40, min_volume_cents=500_000),
    SellerLevel(level=4, fee_bp=750, min_sales=200, min_volume_cents=2_500_000),
    SellerLevel(level=5, fee_bp=700, min_sales=800, min_volume_cents=10_000_000),
)


@dataclass(frozen=True, kw_only=True)
class FeeSchedule:
    levels: tuple[SellerLevel, ...] = DEFAULT_LEVELS
    seller_processing_bp: int = 300
    seller_shipping_cents: int = 500
    buyer_processing_bp: int = 300
    buyer_shipping_cents: int = 1_495
    penalty_bp: int = 1_500
    penalty_min_cents: int = 1_500
    level_reset: str = field(default="quarterly")

    def level_for(self, *, sales: int, volume_cents: int) -> SellerLevel:
        """The highest level whose sales count OR volume threshold the seller reached."""
        reached = self.levels[0]
        for level in self.levels:
            if sales >= level.min_sales or volume_cents >= level.min_volume_cents:
                reached = level
        return reached

    def next_level(self, current: SellerLevel) -> SellerLevel | None:
        higher = [lv for lv in self.levels if lv.level > current.level]
        return higher[0] if higher else None


DEFAULT_SCHEDULE = FeeSchedule()


@dataclass(frozen=True, kw_only=True)
class BuyerQuote:
    price_cents: int
    processing_fee_cents: int
    shipping_cents: int
    total_cents: int


@dataclass(frozen=True, kw_only=True)
class SellerQuote:
    price_cents: int
    level: int
    fee_bp: int
    transaction_fee_cents: int
    processing_fee_cents: int
    shipping_cents: int
    payout_cents: int


def quote_buyer(price_cents: int, schedule: FeeSchedule = DEFAULT_SCHEDULE) -> BuyerQuote:
    processing = percent_of(price_cents, schedule.buyer_processing_bp)
    shipping = schedule.buyer_shipping_cents
    return BuyerQuote(
        price_cents=price_cents,
        processing_fee_cents=processing,
        shipping_cents=shipping,
        total_cents=price_cents + processing + shipping,
    )


def quote_seller(
    price_cents: int, level: SellerLevel, schedule: FeeSchedule = DEFAULT_SCHEDULE
) -> SellerQuote:
    transaction = percent_of(price_cents, level.fee_bp)
    processing = percent_of(price_cents, schedule.seller_processing_bp)
    shipping = schedule.seller_shipping_cents
    return SellerQuote(
        price_cents=price_cents,
        level=level.level,
        fee_bp=level.fee_bp,
        transaction_fee_cents=transaction,
        processing_fee_cents=processing,
        shipping_cents=shipping,
        payout_cents=price_cents - transaction - processing - shipping,
    )


def penalty_for(price_cents: int, schedule: FeeSchedule = DEFAULT_SCHEDULE) -> int:
    """The seller's penalty for a failed authentication or a missed ship-by: 15%, $15 minimum."""
    return max(schedule.penalty_min_cents, percent_of(price_cents, schedule.penalty_bp))


def quarter_start(moment: datetime) -> datetime:
    """Seller levels reset at the start of each calendar quarter (UTC)."""
    moment = moment.astimezone(UTC)
    month = 3 * ((moment.month - 1) // 3) + 1
    return datetime(moment.year, month, 1, tzinfo=UTC)


def minimum_ask_cents(schedule: FeeSchedule = DEFAULT_SCHEDULE) -> int:
    """The lowest ask whose payout is positive at the highest fee level."""
    worst = max(schedule.levels, key=lambda lv: lv.fee_bp)
    price = 100
    while quote_seller(price, worst, schedule).payout_cents <= 0:
        price += 100
    return price
