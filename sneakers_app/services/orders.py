"""Orders: the state machine every sale walks through, and the order created from a trade.

Every transition writes an append-only `order_events` row with who, when and why; a transition
the table below does not allow is refused and changes nothing. A transition is a compare-and-set
(`UPDATE orders SET status = :to WHERE id = :id AND status = :from`): of two processes that read
the same status and race to move the order on, exactly one changes it and the other is refused
(`ConcurrentChange`), on every database. `lock_order` also locks the row on PostgreSQL
(SELECT ... FOR UPDATE); on SQLite the read takes no lock, so the compare-and-set is what holds,
and steps with outside effects (Stripe refunds) claim the transition before making them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from sneakers_app import vocabulary
from sneakers_app.models import (
    Address,
    Ask,
    Bid,
    Order,
    OrderEvent,
    PaymentCard,
    Trade,
    User,
    utcnow,
)
from sneakers_app.services import addresses, fees

TRANSITIONS = vocabulary.ORDER_TRANSITIONS
TERMINAL = vocabulary.ORDER_TERMINAL
ACTIVE = vocabulary.ORDER_ACTIVE

SHIP_BY_BUSINESS_DAYS = 2
SHIP_BY_EXTENSION = timedelta(hours=24)
APPEAL_WINDOW = timedelta(hours=48)

STATUS_LABELS = vocabulary.ORDER_LABELS


class OrderError(Exception):
    """A refused order action, with a message for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OrderNotFound(OrderError):
    """No such order, or not one of the caller's (the same answer, so ids reveal nothing)."""


class IllegalTransition(OrderError):
    pass


class ConcurrentChange(IllegalTransition):
    """Someone else moved the order on between our read and our write; nothing was changed."""


def require_staff(session: Session, user_id: int) -> User:
    """Re-checked in the database on every staff action, whatever the caller believes."""
    user = session.get(User, user_id)
    if user is None or not user.is_staff:
        raise OrderError("This action is for verification staff only.")
    return user


def lock_order(session: Session, order_id: int) -> Order:
    stmt = select(Order).where(Order.id == order_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    order = session.exec(stmt).first()
    if order is None:
        raise OrderNotFound(f"Order {order_id} does not exist.")
    return order


def transition(
    *,
    session: Session,
    order: Order,
    to_status: str,
    actor_kind: str = "system",
    actor_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> OrderEvent:
    """Move an order from the status it was read in to `to_status` and record the event, or
    refuse. The write is a compare-and-set on the status that was read: if another process
    changed the order meanwhile, nothing is written and `ConcurrentChange` is raised (the caller's
    transaction must then be rolled back, which `session_scope` and the tasks do)."""
    return advance(
        session=session,
        order=order,
        steps=[(to_status, reason)],
        actor_kind=actor_kind,
        actor_id=actor_id,
        now=now,
    )[0]


def advance(
    *,
    session: Session,
    order: Order,
    steps: Sequence[tuple[str, str]],
    values: Mapping[str, Any] | None = None,
    actor_kind: str = "system",
    actor_id: int | None = None,
    now: datetime | None = None,
) -> list[OrderEvent]:
    """`transition` through several statuses at once, `(to_status, reason)` each, every step
    allowed from the one before and recorded as its own event; the order's other `values`
    (e.g. `ship_by`) are written in the same compare-and-set, one `UPDATE` for all of it."""
    from_status = order.status
    for to_status, _ in steps:
        if to_status not in TRANSITIONS.get(from_status, frozenset()):
            raise IllegalTransition(
                f"An order that is {STATUS_LABELS.get(from_status, from_status).lower()} "
                f"cannot become {STATUS_LABELS.get(to_status, to_status).lower()}."
            )
        from_status = to_status
    now = now or utcnow()
    extra = dict(values or {})
    claimed = session.exec(
        update(Order)
        .where(col(Order.id) == order.id, col(Order.status) == order.status)
        .values(status=from_status, updated_at=now, **extra)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        current = session.exec(select(Order.status).where(Order.id == order.id)).first()
        label = STATUS_LABELS.get(current or "", current or "gone").lower()
        raise ConcurrentChange(
            f"Order {order.id} changed while this was being done: it is now {label}. "
            "Nothing was changed; reload to see it."
        )
    events = []
    before = order.status
    for to_status, reason in steps:
        events.append(
            OrderEvent(
                order_id=order.id or 0,
                from_status=before,
                to_status=to_status,
                actor_kind=actor_kind,
                actor_id=actor_id,
                reason=reason[:500],
                created_at=now,
            )
        )
        before = to_status
    # The row already holds the new values: record them on the object without a second UPDATE.
    for name, value in {"status": from_status, "updated_at": now, **extra}.items():
        set_committed_value(order, name, value)
    session.add_all(events)
    session.flush()
    return events


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` business days after `start` (Saturday and Sunday do not count)."""
    moment = start
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment


@dataclass(frozen=True, kw_only=True)
class SellerStanding:
    level: fees.SellerLevel
    sales: int
    volume_cents: int
    next_level: fees.SellerLevel | None


def seller_standing(
    *,
    session: Session,
    seller_id: int,
    now: datetime | None = None,
    schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE,
) -> SellerStanding:
    """The seller's level this quarter, from completed sales since the quarter began."""
    since = fees.quarter_start(now or utcnow())
    sales, volume = session.exec(
        select(func.count(), func.coalesce(func.sum(Order.price_cents), 0)).where(
            Order.seller_id == seller_id,
            Order.status == "completed",
            col(Order.created_at) >= since,
        )
    ).one()
    level = schedule.level_for(sales=int(sales), volume_cents=int(volume))
    return SellerStanding(
        level=level,
        sales=int(sales),
        volume_cents=int(volume),
        next_level=schedule.next_level(level),
    )


def seller_standings(
    *,
    session: Session,
    seller_ids: Iterable[int],
    now: datetime | None = None,
    schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE,
) -> dict[int, SellerStanding]:
    """`seller_standing` of several sellers, in one query."""
    ids = sorted(set(seller_ids))
    if not ids:
        return {}
    since = fees.quarter_start(now or utcnow())
    totals = {
        int(seller): (int(sales), int(volume))
        for seller, sales, volume in session.exec(
            select(Order.seller_id, func.count(), func.coalesce(func.sum(Order.price_cents), 0))
            .where(
                col(Order.seller_id).in_(ids),
                Order.status == "completed",
                col(Order.created_at) >= since,
            )
            .group_by(col(Order.seller_id))
        ).all()
    }
    out = {}
    for seller in ids:
        sales, volume = totals.get(seller, (0, 0))
        level = schedule.level_for(sales=sales, volume_cents=volume)
        out[seller] = SellerStanding(
            level=level, sales=sales, volume_cents=volume, next_level=schedule.next_level(level)
        )
    return out


def create_from_trade(
    *, session: Session, trade: Trade, unit: int = 1, now: datetime | None = None
) -> tuple[Order, bool]:
    """The order for one unit of a recorded trade; (order, created). Idempotent by trade id: a
    trade that has its order already returns it. (The journal writes a read's new orders
    together: `order_for_trade`, then `record_new`.)"""
    existing = session.exec(select(Order).where(Order.trade_id == trade.id)).first()
    if existing is not None:
        return existing, False
    order = order_for_trade(session=session, trade=trade, unit=unit, now=now)
    session.flush()  # the trade first: a flush orders its inserts by table, not by foreign key
    record_new(session, [order])
    return order, True


def order_for_trade(
    *,
    session: Session,
    trade: Trade,
    unit: int = 1,
    now: datetime | None = None,
    schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE,
    standing: SellerStanding | None = None,
) -> Order:
    """The new order for one unit of a trade, its fees and checkout snapshotted, not yet in the
    session: `record_new` writes it (a batch of them at once)."""
    now = now or utcnow()
    if standing is None:
        standing = seller_standing(session=session, seller_id=trade.seller_id, now=now)
    buyer = fees.quote_buyer(trade.price_cents, schedule)
    seller = fees.quote_seller(trade.price_cents, standing.level, schedule)
    order = Order(
        trade_id=trade.id,
        unit=unit,
        buyer_id=trade.buyer_id,
        seller_id=trade.seller_id,
        variant_id=trade.variant_id,
        bid_id=trade.bid_id,
        ask_id=trade.ask_id,
        status="created",
        price_cents=trade.price_cents,
        buyer_processing_fee_cents=buyer.processing_fee_cents,
        buyer_shipping_cents=buyer.shipping_cents,
        buyer_total_cents=buyer.total_cents,
        seller_level=seller.level,
        seller_fee_bp=seller.fee_bp,
        seller_transaction_fee_cents=seller.transaction_fee_cents,
        seller_processing_fee_cents=seller.processing_fee_cents,
        seller_shipping_cents=seller.shipping_cents,
        seller_payout_cents=seller.payout_cents,
        created_at=now,
        updated_at=now,
    )
    _snapshot_checkout(session, order)
    return order


def record_new(session: Session, new: Sequence[Order]) -> None:
    """Write new orders (`order_for_trade`; their trades already flushed) and each one's first
    event, "created": one flush for the orders (with anything else pending), one for the
    events, each a single multi-row INSERT however many orders there are."""
    if not new:
        return
    session.add_all(new)
    session.flush()
    session.add_all(
        OrderEvent(
            order_id=order.id or 0,
            from_status=None,
            to_status="created",
            actor_kind="system",
            reason=f"Matched at {order.price_cents} cents (trade {order.trade_id})",
            created_at=order.created_at,
        )
        for order in new
    )
    session.flush()


def _snapshot_checkout(session: Session, order: Order) -> None:
    """Copy where the pair goes (the bid's address), where a failed pair returns (the ask's),
    and the card charged (the bid's) onto the order: later edits or deletions of an address
    book or a card never change an order. A listing without one (placed before listings kept
    them) falls back to its owner's default at the match."""
    bid = session.get(Bid, order.bid_id) if order.bid_id else None
    ask = session.get(Ask, order.ask_id) if order.ask_id else None
    order.buyer_address = addresses.snapshot_json(
        _listing_address(session, bid.address_id if bid else None, order.buyer_id)
    )
    order.seller_address = addresses.snapshot_json(
        _listing_address(session, ask.address_id if ask else None, order.seller_id)
    )
    card = session.get(PaymentCard, bid.payment_card_id) if bid and bid.payment_card_id else None
    if card is None or card.user_id != order.buyer_id:
        card = session.exec(
            select(PaymentCard).where(
                PaymentCard.user_id == order.buyer_id, col(PaymentCard.is_default).is_(True)
            )
        ).first()
    if card is not None:
        order.payment_method_id = card.payment_method_id
        order.card_brand = card.brand
        order.card_last4 = card.last4
        return
    buyer = session.get(User, order.buyer_id)
    if buyer is not None and buyer.default_payment_method_id:
        order.payment_method_id = buyer.default_payment_method_id
        order.card_brand = buyer.card_brand or ""
        order.card_last4 = buyer.card_last4 or ""


def _listing_address(session: Session, address_id: int | None, owner_id: int) -> Address | None:
    address = session.get(Address, address_id) if address_id else None
    if address is not None and address.user_id == owner_id:
        return address
    return addresses.default_address(session=session, user_id=owner_id)


def events_for(*, session: Session, order_id: int) -> list[OrderEvent]:
    return list(
        session.exec(
            select(OrderEvent)
            .where(OrderEvent.order_id == order_id)
            .order_by(col(OrderEvent.created_at), col(OrderEvent.id))
        ).all()
    )


def order_for_party(*, session: Session, order_id: int, user_id: int) -> Order:
    """An order its buyer or seller may see; anyone else gets the same 'not found'."""
    order = session.get(Order, order_id)
    if order is None or user_id not in (order.buyer_id, order.seller_id):
        raise OrderError("Order not found.")
    return order


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def appeal_open(order: Order, now: datetime) -> bool:
    """Whether the seller may still appeal this failed inspection: once, before the deadline."""
    deadline = aware(order.appeal_deadline) if order.appeal_deadline else None
    return (
        order.status == vocabulary.OrderStatus.AUTH_FAILED
        and not order.appeal_used
        and deadline is not None
        and deadline > now
    )
