"""What a buyer or seller may see of their orders: lists per side and one order's detail.

Read-only views over `orders`, `order_events` and the catalog. An order is shown only to its
buyer or its seller; anyone else, and a missing id, get the same "not found".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlmodel import Session, col, select

from sneakers_app import vocabulary
from sneakers_app.models import Order, Payment, Product, ProductVariant, Trade, utcnow
from sneakers_app.money import format_usd
from sneakers_app.services import orders, sizes
from sneakers_app.vocabulary import ORDER_FAILED, OrderStatus, PaymentStatus

Role = Literal["buying", "selling"]
Tone = vocabulary.Tone

LIST_LIMIT = 200
REFUND_LANDS = vocabulary.REFUND_LANDS
_CENTS = re.compile(r"\b(\d{1,12}) cents\b")


tone_for = vocabulary.order_tone
label_for = vocabulary.order_label


@dataclass(frozen=True, kw_only=True)
class VariantLabel:
    variant_id: int
    product_id: int
    name: str
    brand: str
    slug: str
    image: str
    size: str
    """The size as stored ("10", "11.5W", "7Y")."""
    size_label: str
    """The size in the reader's size system ("US M 10", "EU 44")."""
    retail_price_cents: int


def variant_labels(
    session: Session, variant_ids: Iterable[int], *, size_system: str = sizes.DEFAULT_SYSTEM
) -> dict[int, VariantLabel]:
    """Product name, image and size (in the reader's size system) for many variants in one
    query."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(ProductVariant, Product)
        .join(Product, col(Product.id) == col(ProductVariant.product_id))
        .where(col(ProductVariant.id).in_(ids))
    ).all()
    return {
        variant.id or 0: VariantLabel(
            variant_id=variant.id or 0,
            product_id=product.id or 0,
            name=product.name,
            brand=product.brand,
            slug=product.slug,
            image=product.image,
            size=variant.size,
            size_label=sizes.label(
                brand=product.brand, chart=product.size_chart, size=variant.size, system=size_system
            ),
            retail_price_cents=product.retail_price_cents,
        )
        for variant, product in rows
    }


@dataclass(frozen=True, kw_only=True)
class OrderRow:
    id: int
    role: Role
    product: VariantLabel
    status: str
    status_label: str
    tone: Tone
    price_cents: int
    amount_cents: int
    """What this side paid net of refunds (buyer) or receives (seller payout; a penalty is
    negative), as `amount_label` names it."""
    amount_label: str
    note: str
    """A line under the amount: "Refunded $275.00", "No payout"; "" when there is nothing."""
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class BuyerPayments:
    """What went through the buyer's card for one order (succeeded charges and refunds)."""

    charged_cents: int = 0
    refunded_cents: int = 0
    refunded_at: datetime | None = None

    @property
    def net_cents(self) -> int:
        return self.charged_cents - self.refunded_cents


def buyer_payments(session: Session, order_ids: Iterable[int]) -> dict[int, BuyerPayments]:
    """Charged and refunded per order, from the payments that succeeded (one query). For the
    buyer's eyes only: the seller never reads what the buyer's card was charged or refunded."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Payment).where(
            col(Payment.order_id).in_(ids), Payment.status == PaymentStatus.SUCCEEDED
        )
    ).all()
    out: dict[int, BuyerPayments] = {}
    for p in rows:
        seen = out.get(p.order_id, BuyerPayments())
        if p.kind == "charge":
            seen = BuyerPayments(
                charged_cents=seen.charged_cents + p.amount_cents,
                refunded_cents=seen.refunded_cents,
                refunded_at=seen.refunded_at,
            )
        else:
            at = orders.aware(p.updated_at)
            seen = BuyerPayments(
                charged_cents=seen.charged_cents,
                refunded_cents=seen.refunded_cents + p.amount_cents,
                refunded_at=max(at, seen.refunded_at) if seen.refunded_at else at,
            )
        out[p.order_id] = seen
    return out


def card_text(order: Order) -> str:
    """The card the order was charged to and is refunded to: "Visa ending 4242", or "your card"
    when the match took no snapshot of it."""
    if order.card_brand and order.card_last4:
        return f"{order.card_brand.strip().title()} ending {order.card_last4}"
    return "your card"


def _no_payout(order: Order) -> bool:
    return order.penalty_cents > 0 or order.status in ORDER_FAILED


def _amount(order: Order, role: Role, paid: BuyerPayments) -> tuple[int, str, str]:
    """(amount, its label, a note) as the order list shows them to this side."""
    if role == "selling":
        if order.penalty_cents:
            return -order.penalty_cents, "Penalty", "No payout"
        if _no_payout(order):
            return 0, "No payout", ""
        if order.status == OrderStatus.AUTH_FAILED:
            return order.seller_payout_cents, "Payout on hold", ""
        return order.seller_payout_cents, "Payout", ""
    if paid.refunded_cents:
        return paid.net_cents, "Paid net", f"Refunded {format_usd(paid.refunded_cents)}"
    if paid.charged_cents:
        return paid.charged_cents, "Total paid", ""
    if order.status in ORDER_FAILED:
        return 0, "Not charged", ""
    return order.buyer_total_cents, "Total", ""


def list_orders(
    *,
    session: Session,
    user_id: int,
    role: Role,
    limit: int = LIST_LIMIT,
    size_system: str = sizes.DEFAULT_SYSTEM,
) -> list[OrderRow]:
    """The user's orders on one side, newest first, sizes in the member's size system."""
    party = col(Order.buyer_id) if role == "buying" else col(Order.seller_id)
    rows = list(
        session.exec(
            select(Order)
            .where(party == user_id)
            .order_by(col(Order.created_at).desc(), col(Order.id).desc())
            .limit(max(1, min(limit, LIST_LIMIT)))
        ).all()
    )
    labels = variant_labels(session, (o.variant_id for o in rows), size_system=size_system)
    paid = buyer_payments(session, (o.id or 0 for o in rows)) if role == "buying" else {}
    return [
        _row(o, role, labels[o.variant_id], paid.get(o.id or 0, BuyerPayments()))
        for o in rows
        if o.variant_id in labels
    ]


def _row(order: Order, role: Role, label: VariantLabel, paid: BuyerPayments) -> OrderRow:
    amount, amount_label, note = _amount(order, role, paid)
    return OrderRow(
        id=order.id or 0,
        role=role,
        product=label,
        status=order.status,
        status_label=label_for(order.status),
        tone=tone_for(order.status),
        price_cents=order.price_cents,
        amount_cents=amount,
        amount_label=amount_label,
        note=note,
        created_at=orders.aware(order.created_at),
        updated_at=orders.aware(order.updated_at),
    )


@dataclass(frozen=True, kw_only=True)
class TimelineStep:
    status: str
    label: str
    tone: Tone
    at: datetime
    actor: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class MoneyLine:
    label: str
    amount_cents: int
    """Signed from this party's point of view: a fee the seller pays is negative."""
    is_total: bool = False


@dataclass(frozen=True, kw_only=True)
class Refund:
    amount_cents: int
    at: datetime | None
    card: str
    """ "Visa ending 4242" or "your card"."""


@dataclass(frozen=True, kw_only=True)
class OrderDetail:
    """One order as one side may read it: the buyer never gets the seller's fees, payout or
    penalty amount (only `seller_penalised`), the seller never the buyer's card, charge or
    refund."""

    row: OrderRow
    headline: str
    """What this member did: "You bought", "Your bid matched", "You sold", "Your ask sold"."""
    timeline: list[TimelineStep]
    money: list[MoneyLine]
    inbound_tracking: str | None
    outbound_tracking: str | None
    ship_by: datetime | None
    appeal_deadline: datetime | None
    can_appeal: bool
    """The seller may still appeal the failed inspection (never True for the buyer)."""
    penalty_cents: int
    """The seller's penalty; 0 on the buyer's side."""
    seller_penalised: bool
    refund: Refund | None
    """The buyer's refund; None on the seller's side."""
    next_steps: str
    """For the buyer of a pair that failed authentication: what happens next and when."""
    seller_level: int
    seller_fee_bp: int


_ACTORS = {
    "system": "Sneakers",
    "buyer": "Buyer",
    "seller": "Seller",
    "staff": "Authentication team",
}


# What the seller reads of the buyer's payment: whether it went through, never the amount
# charged (the buyer's total, with the buyer's own fees) or why the buyer's card was declined.
_SELLER_TEXT = {
    "paid": "The buyer's payment went through.",
    "payment_failed": "The buyer's payment did not go through, so the sale was cancelled.",
    "cancelled": "The sale was cancelled.",
}


def _reason(event_status: str, reason: str, price_cents: int, role: Role = "buying") -> str:
    """Event reasons written for the log, reworded where a person reads them (and, for the
    seller, without the buyer's payment details)."""
    if event_status == "created":
        return f"Bid and ask matched at {format_usd(price_cents)}."
    if role == "selling" and event_status in _SELLER_TEXT:
        return _SELLER_TEXT[event_status]
    return _CENTS.sub(lambda m: format_usd(int(m.group(1))), reason)


def order_detail(
    *, session: Session, user_id: int, order_id: object, size_system: str = sizes.DEFAULT_SYSTEM
) -> OrderDetail:
    """One order for its buyer or seller (its size in the member's size system);
    OrderError("Order not found.") for anyone else."""
    if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
        raise orders.OrderError("Order not found.")
    order = orders.order_for_party(session=session, order_id=order_id, user_id=user_id)
    role: Role = "buying" if order.buyer_id == user_id else "selling"
    label = variant_labels(session, [order.variant_id], size_system=size_system).get(
        order.variant_id
    )
    if label is None:
        raise orders.OrderError("Order not found.")
    timeline = [
        TimelineStep(
            status=e.to_status,
            label=label_for(e.to_status),
            tone=tone_for(e.to_status),
            at=orders.aware(e.created_at),
            actor=_ACTORS.get(e.actor_kind, e.actor_kind),
            reason=_reason(e.to_status, e.reason, order.price_cents, role),
        )
        for e in orders.events_for(session=session, order_id=order_id)
    ]
    trade = session.get(Trade, order.trade_id)
    headline = vocabulary.match_headline(role, trade.maker_side if trade else None)
    paid = BuyerPayments()
    if role == "buying":
        paid = buyer_payments(session, [order_id]).get(order_id, BuyerPayments())
    row = _row(order, role, label, paid)
    return _side_detail(order, row, headline=headline, timeline=timeline, paid=paid)


def failure_next_steps(order: Order, now: datetime | None = None) -> str:
    """What the buyer of a pair that failed authentication reads next: the seller's appeal
    window, then the refund, to which card and when it lands. One text for the notice sent at
    the failure and the order page."""
    card = card_text(order)
    refund = (
        f"we refund {format_usd(order.buyer_total_cents)} to {card}; refunds take "
        f"{REFUND_LANDS} to appear on your statement."
    )
    if order.appeal_deadline and orders.appeal_open(order, now or utcnow()):
        return (
            f"The seller may appeal until {when(order.appeal_deadline)}. If the pair fails "
            f"again or is not appealed, {refund}"
        )
    return f"The decision is final: {refund}"


def _buyer_money(order: Order, paid: BuyerPayments) -> tuple[list[MoneyLine], Refund | None]:
    money = [
        MoneyLine(label="Price", amount_cents=order.price_cents),
        MoneyLine(label="Processing fee", amount_cents=order.buyer_processing_fee_cents),
        MoneyLine(label="Shipping", amount_cents=order.buyer_shipping_cents),
        MoneyLine(label="Total", amount_cents=order.buyer_total_cents, is_total=True),
    ]
    if not paid.refunded_cents:
        return money, None
    card = card_text(order)
    money += [
        MoneyLine(label=f"Refunded to {card}", amount_cents=-paid.refunded_cents),
        MoneyLine(label="Paid net", amount_cents=paid.net_cents, is_total=True),
    ]
    return money, Refund(amount_cents=paid.refunded_cents, at=paid.refunded_at, card=card)


def _seller_money(order: Order) -> list[MoneyLine]:
    if _no_payout(order):
        money = [
            MoneyLine(label="Sale price", amount_cents=order.price_cents),
            MoneyLine(label="No payout: the sale did not go through", amount_cents=0),
        ]
        if order.penalty_cents:
            penalty = -order.penalty_cents
            money += [
                MoneyLine(label="Penalty (taken from your next payout)", amount_cents=penalty),
                MoneyLine(label="You owe", amount_cents=penalty, is_total=True),
            ]
        return money
    pct = f"{order.seller_fee_bp / 100:g}%"
    return [
        MoneyLine(label="Sale price", amount_cents=order.price_cents),
        MoneyLine(
            label=f"Transaction fee (level {order.seller_level}, {pct})",
            amount_cents=-order.seller_transaction_fee_cents,
        ),
        MoneyLine(label="Payment processing", amount_cents=-order.seller_processing_fee_cents),
        MoneyLine(label="Shipping to authentication", amount_cents=-order.seller_shipping_cents),
        MoneyLine(
            label="Payout on hold" if order.status == OrderStatus.AUTH_FAILED else "Your payout",
            amount_cents=order.seller_payout_cents,
            is_total=True,
        ),
    ]


def _side_detail(
    order: Order, row: OrderRow, *, headline: str, timeline: list[TimelineStep], paid: BuyerPayments
) -> OrderDetail:
    """The detail one side reads; the other side's figures stay empty."""
    seller = row.role == "selling"
    money, refund = (_seller_money(order), None) if seller else _buyer_money(order, paid)
    waiting_for_refund = not seller and order.status == OrderStatus.AUTH_FAILED and not refund
    return OrderDetail(
        row=row,
        headline=headline,
        timeline=timeline,
        money=money,
        inbound_tracking=order.inbound_tracking,
        outbound_tracking=order.outbound_tracking,
        ship_by=orders.aware(order.ship_by) if order.ship_by else None,
        appeal_deadline=orders.aware(order.appeal_deadline) if order.appeal_deadline else None,
        can_appeal=seller and orders.appeal_open(order, utcnow()),
        penalty_cents=order.penalty_cents if seller else 0,
        seller_penalised=order.penalty_cents > 0,
        refund=refund,
        next_steps=failure_next_steps(order) if waiting_for_refund else "",
        seller_level=order.seller_level if seller else 0,
        seller_fee_bp=order.seller_fee_bp if seller else 0,
    )


# --- text for people ----------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    """ "Jun 18, 3:04 PM UTC": times are stored and shown in UTC."""
    if moment is None:
        return "\u2014"
    return orders.aware(moment).strftime("%b %-d, %Y, %-I:%M %p UTC")


def day(moment: datetime | date | None) -> str:
    if moment is None:
        return "\u2014"
    return moment.strftime("%b %-d, %Y")


def time_left(deadline: datetime | None, now: datetime) -> str:
    """ "1d 4h left", "3h 20m left", "overdue": a countdown to a deadline."""
    if deadline is None:
        return ""
    seconds = int((orders.aware(deadline) - now).total_seconds())
    if seconds <= 0:
        return "Overdue"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h left"
    if hours:
        return f"{hours}h {minutes}m left"
    return f"{max(minutes, 1)}m left"
