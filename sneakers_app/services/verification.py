"""The authentication centre: receive pairs, inspect them against a checklist, pass or fail,
appeals re-reviewed by a different inspector, and shipping on to the buyer.

Every function re-checks in the database that the acting user is staff, and that they are
neither the buyer nor the seller of the order (conflict of interest). Delivering an order priced
above `DELIVERY_SECOND_CONFIRMATION_CENTS` needs the carrier's delivery event or a second,
different staff member's confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from sneakers_app.models import DeliveryConfirmation, Inspection, Order, utcnow
from sneakers_app.money import format_usd
from sneakers_app.services import order_views, outbox
from sneakers_app.services.notifications import Kind
from sneakers_app.services.orders import (
    APPEAL_WINDOW,
    IllegalTransition,
    OrderError,
    aware,
    lock_order,
    require_staff,
    transition,
)
from sneakers_app.services.saga import (
    StepResult,
    _emails,
    _notify,
    clean_tracking,
    require_no_conflict,
)
from sneakers_app.settings import get_settings
from sneakers_app.vocabulary import OrderStatus

QUEUES = {
    "to_receive": ("shipped_to_verification",),
    "to_inspect": ("received", "authenticating"),
    "to_ship": ("authenticated",),
    "in_transit": ("shipped_to_buyer",),
    # failed for good (buyer refunded): the pair waits to be shipped back to its seller
    "to_return": ("returning_to_seller",),
}
MAX_NOTES = 2000
MAX_REASON = 500
COMPLETE_TASK = "sneakers.complete_order"


@dataclass(frozen=True, kw_only=True)
class Checklist:
    box_ok: bool
    stitching_ok: bool
    materials_ok: bool
    tags_ok: bool
    size_ok: bool

    @property
    def all_ok(self) -> bool:
        return all((self.box_ok, self.stitching_ok, self.materials_ok, self.tags_ok, self.size_ok))


def queue_of(status: str) -> str | None:
    """The console queue an order in this status waits in, if any."""
    return next((name for name, statuses in QUEUES.items() if status in statuses), None)


def queue_counts(*, session: Session, staff_id: int) -> dict[str, int]:
    require_staff(session, staff_id)
    counts = dict.fromkeys(QUEUES, 0)
    rows = session.exec(select(Order.status, func.count()).group_by(col(Order.status))).all()
    by_status = {status: int(n) for status, n in rows}
    for name, statuses in QUEUES.items():
        counts[name] = sum(by_status.get(s, 0) for s in statuses)
    counts["appeals"] = int(
        session.exec(
            select(func.count())
            .select_from(Order)
            .where(Order.status == "authenticating", col(Order.appeal_used).is_(True))
        ).one()
    )
    return counts


def queue(*, session: Session, staff_id: int, name: str, limit: int = 100) -> list[Order]:
    """Orders in one queue, oldest first (appeals: re-reviews waiting for a second inspector)."""
    require_staff(session, staff_id)
    stmt = select(Order)
    if name == "appeals":
        stmt = stmt.where(Order.status == "authenticating", col(Order.appeal_used).is_(True))
    elif name in QUEUES:
        stmt = stmt.where(col(Order.status).in_(QUEUES[name]))
    else:
        raise OrderError("Unknown queue.")
    return list(session.exec(stmt.order_by(col(Order.updated_at)).limit(limit)).all())


def receive(
    *, session: Session, staff_id: int, order_id: int, now: datetime | None = None
) -> StepResult:
    require_staff(session, staff_id)
    order = lock_order(session, order_id)
    require_no_conflict(order, staff_id)
    if order.status == "received":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    transition(
        session=session,
        order=order,
        to_status="received",
        actor_kind="staff",
        actor_id=staff_id,
        now=now,
        reason="Received at the authentication centre",
    )
    emails = _emails(
        _notify(session, user_id=order.buyer_id, kind=Kind.ITEM_RECEIVED, order=order, key="b"),
        _notify(session, user_id=order.seller_id, kind=Kind.ITEM_RECEIVED, order=order, key="s"),
    )
    return StepResult(order_id=order_id, status=order.status, changed=True, emails=emails)


def start_inspection(
    *, session: Session, staff_id: int, order_id: int, now: datetime | None = None
) -> StepResult:
    require_staff(session, staff_id)
    order = lock_order(session, order_id)
    require_no_conflict(order, staff_id)
    if order.status == "authenticating":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    transition(
        session=session,
        order=order,
        to_status="authenticating",
        actor_kind="staff",
        actor_id=staff_id,
        now=now,
        reason="Inspection started",
    )
    return StepResult(order_id=order_id, status=order.status, changed=True)


def inspections_for(*, session: Session, order_id: int) -> list[Inspection]:
    return list(
        session.exec(
            select(Inspection).where(Inspection.order_id == order_id).order_by(col(Inspection.id))
        ).all()
    )


def decide(
    *,
    session: Session,
    staff_id: int,
    order_id: int,
    checklist: Checklist,
    passed: bool,
    reason: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> StepResult:
    """Record an inspection and pass or fail the pair."""
    now = now or utcnow()
    require_staff(session, staff_id)
    reason = (reason or "").strip()
    notes = (notes or "").strip()
    if len(reason) > MAX_REASON or len(notes) > MAX_NOTES:
        raise OrderError("The reason or notes are too long.")
    if passed and not checklist.all_ok:
        raise OrderError("A pair can only pass when every check on the list is ticked.")
    if not passed and not reason:
        raise OrderError("Say why the pair failed.")
    order = lock_order(session, order_id)
    require_no_conflict(order, staff_id)
    if order.status != "authenticating":
        raise OrderError("Start the inspection before recording a decision.")
    earlier = inspections_for(session=session, order_id=order_id)
    if order.appeal_used and any(i.inspector_id == staff_id for i in earlier):
        raise OrderError("An appeal must be reviewed by a different inspector.")
    session.add(
        Inspection(
            order_id=order_id,
            inspector_id=staff_id,
            is_appeal=order.appeal_used,
            box_ok=checklist.box_ok,
            stitching_ok=checklist.stitching_ok,
            materials_ok=checklist.materials_ok,
            tags_ok=checklist.tags_ok,
            size_ok=checklist.size_ok,
            result="pass" if passed else "fail",
            reason=reason,
            notes=notes,
            created_at=now,
        )
    )
    if passed:
        transition(
            session=session,
            order=order,
            to_status="authenticated",
            actor_kind="staff",
            actor_id=staff_id,
            now=now,
            reason="Passed on appeal" if order.appeal_used else "Passed authentication",
        )
        emails = _emails(
            _notify(session, user_id=order.buyer_id, kind=Kind.AUTHENTICATED, order=order, key="b"),
            _notify(
                session, user_id=order.seller_id, kind=Kind.AUTHENTICATED, order=order, key="s"
            ),
        )
        return StepResult(order_id=order_id, status=order.status, changed=True, emails=emails)
    if not order.appeal_used:
        order.appeal_deadline = now + APPEAL_WINDOW
    transition(
        session=session,
        order=order,
        to_status="auth_failed",
        actor_kind="staff",
        actor_id=staff_id,
        now=now,
        reason=reason,
    )
    failure: dict[str, Any] = {"order": order, "key": "appeal" if order.appeal_used else "first"}
    emails = _emails(
        _notify(
            session,
            user_id=order.seller_id,
            kind=Kind.AUTH_FAILED,
            reason=reason,
            can_appeal=not order.appeal_used,
            **failure,
        ),
        # The buyer hears at once, not only when the refund is made: what happens next and when.
        _notify(
            session,
            user_id=order.buyer_id,
            kind=Kind.AUTH_FAILED_BUYER,
            next_steps=order_views.failure_next_steps(order, now),
            **failure,
        ),
    )
    return StepResult(order_id=order_id, status=order.status, changed=True, emails=emails)


def appeal(
    *, session: Session, seller_id: int, order_id: int, reason: str, now: datetime | None = None
) -> StepResult:
    """The seller contests a failed inspection, once, before the appeal deadline."""
    now = now or utcnow()
    order = lock_order(session, order_id)
    if order.seller_id != seller_id:
        raise OrderError("Order not found.")
    if order.status != "auth_failed":
        raise OrderError("Only a failed inspection can be appealed.")
    if order.appeal_used:
        raise OrderError("This order was already appealed once; the decision is final.")
    if order.appeal_deadline is None or aware(order.appeal_deadline) <= now:
        raise OrderError("The appeal window has closed.")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise OrderError("Explain the appeal in up to 500 characters.")
    order.appeal_used = True
    transition(
        session=session,
        order=order,
        to_status="authenticating",
        actor_kind="seller",
        actor_id=seller_id,
        now=now,
        reason=f"Appeal: {reason}",
    )
    return StepResult(order_id=order_id, status=order.status, changed=True)


@dataclass(frozen=True, kw_only=True)
class _Leg:
    """A parcel the centre sends: from which status, to which, and what refuses another."""

    from_status: OrderStatus
    to_status: OrderStatus
    refusal: str


_TO_BUYER = _Leg(
    from_status=OrderStatus.AUTHENTICATED,
    to_status=OrderStatus.SHIPPED_TO_BUYER,
    refusal="Only an authenticated pair is shipped to its buyer.",
)
_BACK_TO_SELLER = _Leg(
    from_status=OrderStatus.RETURNING_TO_SELLER,
    to_status=OrderStatus.RETURNED_TO_SELLER,
    refusal="Only a pair that failed authentication for good is shipped back.",
)


def _send_parcel(
    session: Session,
    staff_id: int,
    order_id: int,
    tracking: str,
    now: datetime | None,
    leg: _Leg,
) -> StepResult:
    """A parcel leaves the centre with its carrier's tracking number (on the order's record
    for that leg), and its recipient is told the number. Sent twice: nothing more happens."""
    require_staff(session, staff_id)
    tracking = clean_tracking(tracking)
    order = lock_order(session, order_id)
    require_no_conflict(order, staff_id)
    if order.status == leg.to_status:
        return StepResult(order_id=order_id, status=order.status, changed=False)
    if order.status != leg.from_status:
        raise IllegalTransition(leg.refusal)
    to_buyer = leg is _TO_BUYER
    if to_buyer:
        order.outbound_tracking = tracking
    else:
        order.return_tracking = tracking
    transition(
        session=session,
        order=order,
        to_status=leg.to_status,
        actor_kind="staff",
        actor_id=staff_id,
        now=now,
        reason=(f"Tracking {tracking}" if to_buyer else f"Back to the seller, tracking {tracking}"),
    )
    emails = _emails(
        _notify(
            session,
            user_id=order.buyer_id if to_buyer else order.seller_id,
            kind=Kind.SHIPPED_TO_BUYER if to_buyer else Kind.ITEM_RETURNED,
            order=order,
            key="b" if to_buyer else "s",
            tracking=tracking,
        ),
    )
    return StepResult(order_id=order_id, status=order.status, changed=True, emails=emails)


def ship_to_buyer(
    *, session: Session, staff_id: int, order_id: int, tracking: str, now: datetime | None = None
) -> StepResult:
    """An authenticated pair leaves for its buyer."""
    return _send_parcel(session, staff_id, order_id, tracking, now, _TO_BUYER)


def ship_back_to_seller(
    *, session: Session, staff_id: int, order_id: int, tracking: str, now: datetime | None = None
) -> StepResult:
    """A pair that failed authentication for good (the buyer already refunded) leaves the centre
    for its seller with its own tracking number; the seller is told the number."""
    return _send_parcel(session, staff_id, order_id, tracking, now, _BACK_TO_SELLER)


def complete_key(order_id: int) -> str:
    """The outbox key of a delivered order's completion (payout release), written on delivery."""
    return f"complete_order:{order_id}"


def needs_second_confirmation(order: Order) -> bool:
    return order.price_cents > get_settings().DELIVERY_SECOND_CONFIRMATION_CENTS


def _deliver(
    session: Session,
    order: Order,
    *,
    actor_kind: str,
    actor_id: int | None,
    reason: str,
    now: datetime,
) -> StepResult:
    transition(
        session=session,
        order=order,
        to_status="delivered",
        actor_kind=actor_kind,
        actor_id=actor_id,
        now=now,
        reason=reason,
    )
    assert order.id is not None
    outbox.add(session, COMPLETE_TASK, order.id, key=complete_key(order.id))
    emails = _emails(
        _notify(session, user_id=order.buyer_id, kind=Kind.DELIVERED, order=order, key="b"),
    )
    return StepResult(order_id=order.id, status=order.status, changed=True, emails=emails)


def mark_delivered(
    *, session: Session, staff_id: int, order_id: int, now: datetime | None = None
) -> StepResult:
    """Staff record the carrier's delivery. Above the threshold one staff member is not enough:
    the first confirmation is recorded and the order waits for a different staff member (or the
    carrier's own delivery event, `carrier_delivered`)."""
    now = now or utcnow()
    require_staff(session, staff_id)
    order = lock_order(session, order_id)
    require_no_conflict(order, staff_id)
    if order.status == "delivered":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    if order.status != "shipped_to_buyer" or not needs_second_confirmation(order):
        return _deliver(
            session,
            order,
            actor_kind="staff",
            actor_id=staff_id,
            reason="Delivered to the buyer",
            now=now,
        )
    earlier = session.exec(
        select(DeliveryConfirmation).where(DeliveryConfirmation.order_id == order_id)
    ).all()
    if any(c.staff_id == staff_id for c in earlier):
        raise OrderError(
            "You already confirmed this delivery: a different staff member must confirm it too "
            "(or the carrier's delivery event will)."
        )
    session.add(
        DeliveryConfirmation(order_id=order_id, source="staff", staff_id=staff_id, created_at=now)
    )
    session.flush()
    if not earlier:
        limit = format_usd(get_settings().DELIVERY_SECOND_CONFIRMATION_CENTS)
        return StepResult(
            order_id=order_id,
            status=order.status,
            changed=False,
            note=(
                f"Your confirmation is recorded. Orders above {limit} also need a second staff "
                "member's confirmation (or the carrier's delivery event)."
            ),
        )
    return _deliver(
        session,
        order,
        actor_kind="staff",
        actor_id=staff_id,
        reason="Delivered to the buyer (confirmed by two staff members)",
        now=now,
    )


def carrier_delivered(
    *, session: Session, order_id: int, tracking: str, event_id: str, now: datetime | None = None
) -> StepResult:
    """The carrier reported the outbound parcel delivered: enough on its own at any value.
    For a carrier integration (webhook or polling); the tracking number must be the order's."""
    now = now or utcnow()
    tracking = clean_tracking(tracking)
    event_id = (event_id or "").strip()[:100]
    if not event_id:
        raise OrderError("A carrier event needs its id.")
    order = lock_order(session, order_id)
    if order.outbound_tracking != tracking:
        raise OrderError("That tracking number is not this order's parcel to the buyer.")
    if order.status == "delivered":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    session.add(
        DeliveryConfirmation(
            order_id=order_id, source="carrier", carrier_event=event_id, created_at=now
        )
    )
    return _deliver(
        session,
        order,
        actor_kind="system",
        actor_id=None,
        reason=f"Delivered to the buyer (carrier event {event_id})",
        now=now,
    )
