"""What the verification console shows staff: queue rows, one order's facts and audit trail,
and the manual payouts waiting to be sent. Read-only; every function re-checks staff first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from sneakers_app.models import (
    DeliveryConfirmation,
    Notification,
    Order,
    Payout,
    Product,
    ProductVariant,
    User,
    utcnow,
)
from sneakers_app.services import labels, sizes, verification
from sneakers_app.services.notifications import Kind
from sneakers_app.services.orders import OrderError, aware, events_for, require_staff
from sneakers_app.services.saga import conflict_of_interest

PAYOUT_LIST_LIMIT = 200


@dataclass(frozen=True, kw_only=True)
class Pair:
    """The product and size of an order. Staff handle the pair itself, so its size reads as on
    the box: the product's own chart, with every conversion."""

    name: str
    brand: str
    style_code: str
    image: str
    size: str
    """As stored ("10", "11.5W", "7Y")."""
    size_label: str = ""
    """As the product's chart names it: "US M 10", "US W 11.5", "GS 7Y"."""
    size_line: str = ""
    """Every system: "US M 10 \u00b7 US W 11.5 \u00b7 UK 9 \u00b7 EU 44 \u00b7 28 cm"."""


@dataclass(frozen=True, kw_only=True)
class QueueItem:
    order_id: int
    pair: Pair
    status: str
    price_cents: int
    inbound_tracking: str
    outbound_tracking: str
    is_appeal: bool
    waiting_since: datetime
    return_tracking: str = ""


@dataclass(frozen=True, kw_only=True)
class Person:
    id: int
    name: str
    email: str


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    at: datetime
    from_status: str
    to_status: str
    actor_kind: str
    actor_name: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class InspectionRecord:
    at: datetime
    inspector: Person
    is_appeal: bool
    passed: bool
    checks: dict[str, bool]
    reason: str
    notes: str


@dataclass(frozen=True, kw_only=True)
class OrderFacts:
    item: QueueItem
    seller: Person
    buyer: Person
    seller_payout_cents: int
    buyer_total_cents: int
    appeal_used: bool
    events: list[AuditEvent]
    inspections: list[InspectionRecord]
    conflict: str = ""
    """Why this staff member may not act on the order (they bought or sold it), or ""."""
    delivery_confirmed_by: tuple[str, ...] = ()
    """Staff who confirmed delivery of a valuable order that still waits for a second one."""
    buyer_address: tuple[str, ...] = ()
    """Where the pair goes: the buyer's address as snapshotted at the match (lines)."""
    seller_address: tuple[str, ...] = ()
    """Where a failed pair returns: the seller's address as snapshotted at the match."""


@dataclass(frozen=True, kw_only=True)
class PendingPayout:
    payout_id: int
    order_id: int
    seller: Person
    amount_cents: int
    method: str
    holder_name: str
    account_ref: str
    created_at: datetime
    conflict: str = ""


@dataclass(frozen=True, kw_only=True)
class PayoutProblem:
    """A Stripe Connect payout that failed or has not gone out long after it was due."""

    payout_id: int
    order_id: int
    seller: Person
    amount_cents: int
    status: str
    destination_ref: str
    problem: str
    created_at: datetime
    conflict: str = ""


CONNECT_PAYOUT_OVERDUE = timedelta(minutes=30)
"""A Connect payout still pending this long after the sale completed is shown to staff."""


def _pairs(session: Session, variant_ids: Iterable[int]) -> dict[int, Pair]:
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(ProductVariant, Product)
        .join(Product, col(Product.id) == col(ProductVariant.product_id))
        .where(col(ProductVariant.id).in_(ids))
    ).all()
    return {
        variant.id or 0: Pair(
            name=product.name,
            brand=product.brand,
            style_code=product.style_code,
            image=product.image,
            size=variant.size,
            size_label=sizes.own_label(
                brand=product.brand, chart=product.size_chart, size=variant.size
            ),
            size_line=sizes.conversion_line(
                brand=product.brand, chart=product.size_chart, size=variant.size
            ),
        )
        for variant, product in rows
    }


def _people(session: Session, user_ids: Iterable[int | None]) -> dict[int, Person]:
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = session.exec(select(User).where(col(User.id).in_(ids))).all()
    return {u.id or 0: Person(id=u.id or 0, name=u.display_name, email=u.email) for u in rows}


_UNKNOWN_PAIR = Pair(name="Unknown product", brand="", style_code="", image="", size="")


def _item(order: Order, pair: Pair | None) -> QueueItem:
    return QueueItem(
        order_id=order.id or 0,
        pair=pair or _UNKNOWN_PAIR,
        status=order.status,
        price_cents=order.price_cents,
        inbound_tracking=order.inbound_tracking or "",
        outbound_tracking=order.outbound_tracking or "",
        is_appeal=order.appeal_used and order.status == "authenticating",
        waiting_since=aware(order.updated_at),
        return_tracking=order.return_tracking or "",
    )


def _address_lines(session: Session, order: Order, *, buyer: bool) -> tuple[str, ...]:
    address = labels.party_address(session, order, buyer=buyer)
    return tuple(address.lines()) if address is not None else ()


def find_order(*, session: Session, staff_id: int, text: object) -> int | None:
    """The order a scanned or typed code names (`SNK-000123`, `#123`, `123`), in any queue or
    none, if it exists."""
    require_staff(session, staff_id)
    order_id = labels.parse_order_code(text)
    if order_id is None or session.get(Order, order_id) is None:
        return None
    return order_id


def queue_items(*, session: Session, staff_id: int, name: str) -> list[QueueItem]:
    """One queue, oldest first, with each order's product and size."""
    rows = verification.queue(session=session, staff_id=staff_id, name=name)
    pairs = _pairs(session, (o.variant_id for o in rows))
    return [_item(o, pairs.get(o.variant_id)) for o in rows]


def order_facts(*, session: Session, staff_id: int, order_id: object) -> OrderFacts:
    """Everything an inspector needs about one order, and who did what to it, when."""
    require_staff(session, staff_id)
    if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
        raise OrderError("Order not found.")
    order = session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderError("Order not found.")
    events = events_for(session=session, order_id=order_id)
    inspections = verification.inspections_for(session=session, order_id=order_id)
    confirmations = session.exec(
        select(DeliveryConfirmation.staff_id).where(
            DeliveryConfirmation.order_id == order_id, DeliveryConfirmation.source == "staff"
        )
    ).all()
    people = _people(
        session,
        [order.buyer_id, order.seller_id]
        + [e.actor_id for e in events]
        + [i.inspector_id for i in inspections]
        + list(confirmations),
    )
    nobody = Person(id=0, name="Unknown", email="")
    actor_names = {"system": "Sneakers", "buyer": "Buyer", "seller": "Seller", "staff": "Staff"}
    return OrderFacts(
        item=_item(order, _pairs(session, [order.variant_id]).get(order.variant_id)),
        seller=people.get(order.seller_id, nobody),
        buyer=people.get(order.buyer_id, nobody),
        seller_payout_cents=order.seller_payout_cents,
        buyer_total_cents=order.buyer_total_cents,
        appeal_used=order.appeal_used,
        conflict=conflict_of_interest(order, staff_id),
        buyer_address=_address_lines(session, order, buyer=True),
        seller_address=_address_lines(session, order, buyer=False),
        delivery_confirmed_by=tuple(
            people[c].name
            for c in confirmations
            if c is not None and c in people and order.status == "shipped_to_buyer"
        ),
        events=[
            AuditEvent(
                at=aware(e.created_at),
                from_status=e.from_status or "",
                to_status=e.to_status,
                actor_kind=e.actor_kind,
                actor_name=(
                    people[e.actor_id].name
                    if e.actor_id is not None and e.actor_id in people
                    else actor_names.get(e.actor_kind, e.actor_kind)
                ),
                reason=e.reason,
            )
            for e in events
        ],
        inspections=[
            InspectionRecord(
                at=aware(i.created_at),
                inspector=people.get(i.inspector_id, nobody),
                is_appeal=i.is_appeal,
                passed=i.result == "pass",
                checks={
                    "Box condition": i.box_ok,
                    "Stitching": i.stitching_ok,
                    "Materials": i.materials_ok,
                    "Tags": i.tags_ok,
                    "Size matches": i.size_ok,
                },
                reason=i.reason,
                notes=i.notes,
            )
            for i in inspections
        ],
    )


def _orders(session: Session, order_ids: Iterable[int]) -> dict[int, Order]:
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    return {o.id or 0: o for o in session.exec(select(Order).where(col(Order.id).in_(ids))).all()}


def _unknown_seller(seller_id: int) -> Person:
    return Person(id=seller_id, name="?", email="")


def pending_payouts(*, session: Session, staff_id: int) -> list[PendingPayout]:
    """Manual payouts waiting for staff to send the money, oldest first, with where to send it
    (the destination the seller had when the payout was created)."""
    require_staff(session, staff_id)
    rows = session.exec(
        select(Payout)
        .where(Payout.status == "pending", Payout.method == "manual")
        .order_by(col(Payout.created_at), col(Payout.id))
        .limit(PAYOUT_LIST_LIMIT)
    ).all()
    people = _people(session, (p.seller_id for p in rows))
    orders = _orders(session, (p.order_id for p in rows))
    result = []
    for payout in rows:
        seller = people.get(payout.seller_id, Person(id=payout.seller_id, name="?", email=""))
        order = orders.get(payout.order_id)
        result.append(
            PendingPayout(
                payout_id=payout.id or 0,
                order_id=payout.order_id,
                seller=seller,
                amount_cents=payout.amount_cents,
                method=payout.method,
                holder_name=payout.destination_holder,
                account_ref=payout.destination_ref,
                created_at=aware(payout.created_at),
                conflict=conflict_of_interest(order, staff_id) if order else "",
            )
        )
    return result


def payout_problems(
    *, session: Session, staff_id: int, now: datetime | None = None
) -> list[PayoutProblem]:
    """Stripe Connect payouts that Stripe refused, or that are still not sent
    `CONNECT_PAYOUT_OVERDUE` after the sale completed (their task was lost or keeps failing)."""
    require_staff(session, staff_id)
    now = now or utcnow()
    rows = session.exec(
        select(Payout)
        .where(
            Payout.method == "stripe_connect",
            (col(Payout.status) == "failed")
            | (
                (col(Payout.status) == "pending")
                & (col(Payout.created_at) <= now - CONNECT_PAYOUT_OVERDUE)
            ),
        )
        .order_by(col(Payout.created_at), col(Payout.id))
        .limit(PAYOUT_LIST_LIMIT)
    ).all()
    people = _people(session, (p.seller_id for p in rows))
    orders = _orders(session, (p.order_id for p in rows))
    result = []
    for payout in rows:
        if payout.status == "failed":
            problem = f"Stripe refused the transfer: {payout.failure_reason or 'no reason given'}"
        else:
            minutes = int((now - aware(payout.created_at)).total_seconds() // 60)
            waited = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
            problem = (
                f"Transfer not sent {waited} after the sale completed: its task was lost or "
                "keeps failing."
            )
        order = orders.get(payout.order_id)
        result.append(
            PayoutProblem(
                payout_id=payout.id or 0,
                order_id=payout.order_id,
                seller=people.get(payout.seller_id, _unknown_seller(payout.seller_id)),
                amount_cents=payout.amount_cents,
                status=payout.status,
                destination_ref=payout.destination_ref,
                problem=problem,
                created_at=aware(payout.created_at),
                conflict=conflict_of_interest(order, staff_id) if order else "",
            )
        )
    return result


def payout_email_ids(*, session: Session, order_id: int) -> list[int]:
    """The payout-sent notice's email still to send after a manual payout was recorded
    (`saga.pay_out` writes the notice but returns no email ids; sending is idempotent)."""
    key = f"{Kind.PAYOUT_SENT}:order:{order_id}:payout"
    found = session.exec(
        select(Notification.id).where(
            Notification.dedupe_key == key, col(Notification.emailed_at).is_(None)
        )
    ).all()
    return [i for i in found if i is not None]
