"""The seller's side of the marketplace: sales to ship, payouts, analytics, level.

Read-only views; the seller's open asks, and editing or cancelling one, are `listings`; the
actions on sales (mark shipped, extend, appeal, accept a failed inspection) are the saga and
verification services, which check ownership.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlmodel import Session, col, select

from sneakers_app.models import Order, Payout, utcnow
from sneakers_app.money import format_usd
from sneakers_app.services import fees, orders, sizes
from sneakers_app.services.order_views import (
    Tone,
    VariantLabel,
    label_for,
    tone_for,
    variant_labels,
)
from sneakers_app.vocabulary import ORDER_ACTIVE, OrderStatus, PayoutStatus, plural

Period = Literal["week", "month"]
LIMIT = 200
PENDING: frozenset[str] = ORDER_ACTIVE
"""Sales still on their way: every order status before the story ends."""
CLOSED: frozenset[str] = frozenset(
    {OrderStatus.COMPLETED, OrderStatus.RETURNED_TO_SELLER, OrderStatus.SELLER_DID_NOT_SHIP}
)
"""Sales that ended after the match: sold, sent back after a failed inspection, not shipped."""


@dataclass(frozen=True, kw_only=True)
class Sale:
    order_id: int
    product: VariantLabel
    status: str
    status_label: str
    tone: Tone
    price_cents: int
    payout_cents: int
    penalty_cents: int
    created_at: datetime
    updated_at: datetime
    ship_by: datetime | None
    can_ship: bool
    can_extend: bool
    appeal_deadline: datetime | None
    can_appeal: bool
    can_accept_failure: bool
    inbound_tracking: str | None


def _sale(order: Order, label: VariantLabel, now: datetime) -> Sale:
    ship_by = orders.aware(order.ship_by) if order.ship_by else None
    deadline = orders.aware(order.appeal_deadline) if order.appeal_deadline else None
    waiting = order.status == OrderStatus.AWAITING_SHIPMENT
    failed = order.status == OrderStatus.AUTH_FAILED
    return Sale(
        order_id=order.id or 0,
        product=label,
        status=order.status,
        status_label=label_for(order.status),
        tone=tone_for(order.status),
        price_cents=order.price_cents,
        payout_cents=order.seller_payout_cents,
        penalty_cents=order.penalty_cents,
        created_at=orders.aware(order.created_at),
        updated_at=orders.aware(order.updated_at),
        ship_by=ship_by,
        can_ship=waiting,
        can_extend=waiting and not order.ship_by_extended and ship_by is not None and ship_by > now,
        appeal_deadline=deadline,
        can_appeal=orders.appeal_open(order, now),
        can_accept_failure=failed,
        inbound_tracking=order.inbound_tracking,
    )


def _sales(
    session: Session,
    seller_id: int,
    statuses: frozenset[str],
    now: datetime,
    *,
    newest_first: bool,
    size_system: str,
) -> list[Sale]:
    order_by = col(Order.updated_at).desc() if newest_first else col(Order.created_at)
    rows = list(
        session.exec(
            select(Order)
            .where(Order.seller_id == seller_id, col(Order.status).in_(sorted(statuses)))
            .order_by(order_by, col(Order.id))
            .limit(LIMIT)
        ).all()
    )
    labels = variant_labels(session, (o.variant_id for o in rows), size_system=size_system)
    return [_sale(o, labels[o.variant_id], now) for o in rows if o.variant_id in labels]


def sale(
    *,
    session: Session,
    seller_id: int,
    order_id: object,
    now: datetime | None = None,
    size_system: str = sizes.DEFAULT_SYSTEM,
) -> Sale | None:
    """One of the seller's sales (what the order page's seller actions check), or None for an
    unknown id or someone else's order."""
    if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
        return None
    order = session.get(Order, order_id)
    if order is None or order.seller_id != seller_id:
        return None
    label = variant_labels(session, [order.variant_id], size_system=size_system).get(
        order.variant_id
    )
    return _sale(order, label, now or utcnow()) if label is not None else None


def pending_sales(
    *,
    session: Session,
    seller_id: int,
    now: datetime | None = None,
    size_system: str = sizes.DEFAULT_SYSTEM,
) -> list[Sale]:
    """Sales still on their way: to ship (soonest deadline first), in transit, being checked."""
    now = now or utcnow()
    sales = _sales(session, seller_id, PENDING, now, newest_first=False, size_system=size_system)
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        sales,
        key=lambda s: (
            0 if s.can_ship or s.can_accept_failure else 1,
            s.ship_by or s.appeal_deadline or far,
            s.created_at,
        ),
    )


def completed_sales(
    *,
    session: Session,
    seller_id: int,
    now: datetime | None = None,
    size_system: str = sizes.DEFAULT_SYSTEM,
) -> list[Sale]:
    """Finished sales, newest first: paid out, or returned after a failure or a missed ship-by."""
    return _sales(
        session, seller_id, CLOSED, now or utcnow(), newest_first=True, size_system=size_system
    )


@dataclass(frozen=True, kw_only=True)
class PayoutRow:
    id: int
    order_id: int
    product: VariantLabel | None
    amount_cents: int
    status: str
    method: str
    reference: str | None
    created_at: datetime
    paid_at: datetime | None


def payouts(
    *, session: Session, seller_id: int, size_system: str = sizes.DEFAULT_SYSTEM
) -> list[PayoutRow]:
    rows = list(
        session.exec(
            select(Payout, Order)
            .join(Order, col(Order.id) == col(Payout.order_id))
            .where(Payout.seller_id == seller_id)
            .order_by(col(Payout.created_at).desc(), col(Payout.id).desc())
            .limit(LIMIT)
        ).all()
    )
    labels = variant_labels(session, (o.variant_id for _, o in rows), size_system=size_system)
    return [
        PayoutRow(
            id=p.id or 0,
            order_id=p.order_id,
            product=labels.get(o.variant_id),
            amount_cents=p.amount_cents,
            status=p.status,
            method=p.method,
            reference=p.reference,
            created_at=orders.aware(p.created_at),
            paid_at=orders.aware(p.paid_at) if p.paid_at else None,
        )
        for p, o in rows
    ]


def payout_total(rows: list[PayoutRow], status: PayoutStatus) -> int:
    """What the listed payouts in one status add up to (pending: on its way; paid: sent)."""
    return sum(p.amount_cents for p in rows if p.status == status)


@dataclass(frozen=True, kw_only=True)
class Bucket:
    start: date
    label: str
    revenue_cents: int
    fees_cents: int
    payout_cents: int
    units: int


@dataclass(frozen=True, kw_only=True)
class Analytics:
    period: Period
    buckets: list[Bucket]
    revenue_cents: int
    fees_cents: int
    payout_cents: int
    units: int


def _bucket_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _previous(start: date, period: Period) -> date:
    if period == "week":
        return start - timedelta(days=7)
    return (start - timedelta(days=1)).replace(day=1)


def analytics(
    *,
    session: Session,
    seller_id: int,
    period: Period = "week",
    count: int = 12,
    now: datetime | None = None,
) -> Analytics:
    """Completed sales per week (Monday start) or calendar month, oldest first, UTC."""
    if period not in ("week", "month"):
        period = "week"
    now = now or utcnow()
    starts = [_bucket_start(now.date(), period)]
    for _ in range(max(1, min(count, 52)) - 1):
        starts.append(_previous(starts[-1], period))
    starts.reverse()
    since = datetime(starts[0].year, starts[0].month, starts[0].day, tzinfo=UTC)
    rows = session.exec(
        select(Order).where(
            Order.seller_id == seller_id,
            Order.status == OrderStatus.COMPLETED,
            col(Order.updated_at) >= since,
        )
    ).all()
    sums: dict[date, list[int]] = {s: [0, 0, 0, 0] for s in starts}
    for order in rows:
        key = _bucket_start(orders.aware(order.updated_at).date(), period)
        if key not in sums:
            continue
        acc = sums[key]
        acc[0] += order.price_cents
        acc[1] += (
            order.seller_transaction_fee_cents
            + order.seller_processing_fee_cents
            + order.seller_shipping_cents
        )
        acc[2] += order.seller_payout_cents
        acc[3] += 1
    buckets = [
        Bucket(
            start=s,
            label=s.strftime("%b %-d") if period == "week" else s.strftime("%b '%y"),
            revenue_cents=sums[s][0],
            fees_cents=sums[s][1],
            payout_cents=sums[s][2],
            units=sums[s][3],
        )
        for s in starts
    ]
    return Analytics(
        period=period,
        buckets=buckets,
        revenue_cents=sum(b.revenue_cents for b in buckets),
        fees_cents=sum(b.fees_cents for b in buckets),
        payout_cents=sum(b.payout_cents for b in buckets),
        units=sum(b.units for b in buckets),
    )


@dataclass(frozen=True, kw_only=True)
class LevelCard:
    level: int
    fee_bp: int
    sales: int
    volume_cents: int
    next_level: int | None
    next_fee_bp: int | None
    sales_to_next: int
    volume_to_next_cents: int
    progress_pct: int
    """How far toward the next level, by whichever threshold (sales or volume) is closer."""
    quarter_ends: date

    @property
    def hint(self) -> str:
        """What unlocks the next level (or that there is none above)."""
        if self.next_level is None:
            return "You are at the top level: the lowest fee on the marketplace."
        return (
            f"{plural(self.sales_to_next, 'more sale')} or "
            f"{format_usd(self.volume_to_next_cents, whole=True)} more in sales this quarter "
            f"unlock level {self.next_level}."
        )


def level_card(
    *,
    session: Session,
    seller_id: int,
    now: datetime | None = None,
    schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE,
) -> LevelCard:
    now = now or utcnow()
    standing = orders.seller_standing(
        session=session, seller_id=seller_id, now=now, schedule=schedule
    )
    start = fees.quarter_start(now)
    month = start.month + 3
    next_quarter = start.replace(year=start.year + (month > 12), month=(month - 1) % 12 + 1)
    nxt = standing.next_level
    if nxt is None:
        progress, sales_to, volume_to = 100, 0, 0
    else:
        sales_to = max(0, nxt.min_sales - standing.sales)
        volume_to = max(0, nxt.min_volume_cents - standing.volume_cents)
        by_sales = standing.sales * 100 // nxt.min_sales if nxt.min_sales else 100
        by_volume = (
            standing.volume_cents * 100 // nxt.min_volume_cents if nxt.min_volume_cents else 100
        )
        progress = min(99, max(by_sales, by_volume))
    return LevelCard(
        level=standing.level.level,
        fee_bp=standing.level.fee_bp,
        sales=standing.sales,
        volume_cents=standing.volume_cents,
        next_level=nxt.level if nxt else None,
        next_fee_bp=nxt.fee_bp if nxt else None,
        sales_to_next=sales_to,
        volume_to_next_cents=volume_to,
        progress_pct=progress,
        quarter_ends=(next_quarter - timedelta(days=1)).date(),
    )
