"""The order saga: from a matched trade to a paid seller or a refunded buyer.

Each step takes an order id, re-reads and locks the order, and does nothing if the order is no
longer where the step expects it: steps are safe to run twice (Celery may deliver a task again).
Money moves through Stripe with idempotency keys derived from our ids, and every movement posts
balanced ledger entries in the same database transaction as the state change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import stripe
from sqlalchemy import update
from sqlmodel import Session, col, select

from sneakers_app.models import Order, Payment, Payout, User, utcnow
from sneakers_app.services import (
    fees,
    ledger,
    notifications,
    order_views,
    outbox,
    payments,
    portfolio,
    tape,
)
from sneakers_app.services.notifications import Kind
from sneakers_app.services.orders import (
    APPEAL_WINDOW,
    SHIP_BY_BUSINESS_DAYS,
    SHIP_BY_EXTENSION,
    OrderError,
    OrderNotFound,
    add_business_days,
    advance,
    aware,
    lock_order,
    require_staff,
    transition,
)
from sneakers_app.services.read_once import kept_many
from sneakers_app.vocabulary import OrderStatus, PayoutStatus


@dataclass(frozen=True, kw_only=True)
class StepResult:
    order_id: int
    status: str
    changed: bool
    relist_ask_id: int | None = None
    emails: tuple[int, ...] = ()
    note: str = ""  # for the person who acted, when the step waits for something else


def _notify(
    session: Session, *, user_id: int, kind: str, order: Order, key: str, **context: object
) -> int | None:
    """In-app notification (and the id of an email to send after commit, if one is due)."""
    result = notifications.notify(
        session=session,
        user_id=user_id,
        kind=kind,
        context={"order_id": order.id, **context},
        dedupe_key=f"{kind}:order:{order.id}:{key}",
    )
    return result.email_notification_id if result is not None else None


def _emails(*ids: int | None) -> tuple[int, ...]:
    return tuple(i for i in ids if i is not None)


def charge(
    *,
    session: Session,
    order_id: int,
    now: datetime | None = None,
    client: stripe.StripeClient | None = None,
) -> StepResult:
    """Charge the buyer's saved card off-session for the order's total."""
    now = now or utcnow()
    order = lock_order(session, order_id)
    if order.status != "created":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    assert order.id is not None
    # both parties at once: the seller's notice reads its recipient too
    buyer = kept_many(session, User, [order.buyer_id, order.seller_id]).get(order.buyer_id)
    # the card the bid named, snapshotted at the match; orders from before then: the default
    method_id = order.payment_method_id or (buyer.default_payment_method_id if buyer else None)
    if buyer is None or not buyer.stripe_customer_id or not method_id:
        outcome = payments.ChargeResult(
            status="failed", payment_intent_id=None, failure_reason="No saved payment method."
        )
    else:
        outcome = payments.charge(
            session=session,
            order_id=order.id,
            amount_cents=order.buyer_total_cents,
            customer_id=buyer.stripe_customer_id,
            payment_method_id=method_id,
            idempotency_key=f"charge:{order.trade_id}",
            client=client,
        )
    if outcome.status == "succeeded":
        ledger.post(
            session=session,
            txn_id=f"order:{order.id}:charge",
            entries=[
                (ledger.CLEARING, order.buyer_total_cents),
                (ledger.escrow(order.id), -order.buyer_total_cents),
            ],
            order_id=order.id,
            memo="buyer charged",
        )
        ship_by = add_business_days(now, SHIP_BY_BUSINESS_DAYS)
        notifications.preload_channels(
            session, [(order.buyer_id, Kind.BID_MATCHED), (order.seller_id, Kind.ASK_MATCHED)]
        )
        advance(
            session=session,
            order=order,
            steps=[
                ("paid", f"Charged {order.buyer_total_cents} cents"),
                ("awaiting_shipment", "Waiting for the seller to ship to authentication"),
            ],
            values={"ship_by": ship_by},
            now=now,
        )
        emails = _emails(
            _notify(
                session,
                user_id=order.buyer_id,
                kind=Kind.BID_MATCHED,
                order=order,
                key="matched",
                price_cents=order.price_cents,
                total_cents=order.buyer_total_cents,
            ),
            _notify(
                session,
                user_id=order.seller_id,
                kind=Kind.ASK_MATCHED,
                order=order,
                key="matched",
                price_cents=order.price_cents,
                payout_cents=order.seller_payout_cents,
                ship_by=ship_by.isoformat(),
            ),
        )
        return StepResult(order_id=order.id, status=order.status, changed=True, emails=emails)
    reason = outcome.failure_reason or "The card was declined."
    transition(session=session, order=order, to_status="payment_failed", now=now, reason=reason)
    # Never paid: the trade leaves the public tape (the order history keeps it).
    tape.void_trade(session=session, trade_id=order.trade_id, now=now)
    emails = _emails(
        _notify(
            session,
            user_id=order.buyer_id,
            kind=Kind.PAYMENT_FAILED,
            order=order,
            key="buyer",
            reason=reason,
        ),
        _notify(
            session,
            user_id=order.seller_id,
            kind=Kind.SALE_CANCELLED,
            order=order,
            key="seller",
            reason="The buyer's payment failed; your ask is listed again.",
        ),
    )
    return StepResult(
        order_id=order.id,
        status=order.status,
        changed=True,
        relist_ask_id=order.ask_id,
        emails=emails,
    )


def mark_shipped(
    *, session: Session, order_id: int, seller_id: int, tracking: str, now: datetime | None = None
) -> StepResult:
    """The seller sends the pair to authentication with a tracking number."""
    tracking = clean_tracking(tracking)
    order = lock_order(session, order_id)
    if order.seller_id != seller_id:
        raise OrderNotFound("Order not found.")
    if order.status == "shipped_to_verification" and order.inbound_tracking == tracking:
        return StepResult(order_id=order_id, status=order.status, changed=False)
    order.inbound_tracking = tracking
    transition(
        session=session,
        order=order,
        to_status="shipped_to_verification",
        actor_kind="seller",
        actor_id=seller_id,
        now=now,
        reason=f"Tracking {tracking}",
    )
    return StepResult(order_id=order_id, status=order.status, changed=True)


def extend_ship_by(*, session: Session, order_id: int, seller_id: int) -> StepResult:
    """One 24-hour extension of the ship-by deadline, before it passes."""
    order = lock_order(session, order_id)
    if order.seller_id != seller_id:
        raise OrderNotFound("Order not found.")
    if order.status != "awaiting_shipment" or order.ship_by is None:
        raise OrderError("Only an order waiting to ship can be extended.")
    if order.ship_by_extended:
        raise OrderError("The ship-by date was already extended once.")
    if aware(order.ship_by) <= utcnow():
        raise OrderError("The ship-by date has passed.")
    order.ship_by = aware(order.ship_by) + SHIP_BY_EXTENSION
    order.ship_by_extended = True
    session.add(order)
    session.flush()
    return StepResult(order_id=order_id, status=order.status, changed=True)


_TRACKING = re.compile(r"[A-Za-z0-9]{8,40}")


def clean_tracking(raw: object) -> str:
    """A carrier tracking number validated as typed: 8 to 40 ASCII letters and digits (spaces
    around it aside). Anything else is refused, never cleaned into shape: a number with symbols,
    inner spaces or look-alike characters (full-width or other scripts' digits) is not one the
    carrier knows. Stored upper-case, as carriers print them."""
    tracking = raw.strip() if isinstance(raw, str) else ""
    if not _TRACKING.fullmatch(tracking):
        raise OrderError(
            "Enter the carrier's tracking number as 8 to 40 letters and digits "
            "(no spaces, dashes or other characters)."
        )
    return tracking.upper()


def _refund_buyer(
    session: Session,
    order: Order,
    amount_cents: int,
    reason: str,
    memo: str,
    client: stripe.StripeClient | None,
) -> None:
    """Refund through Stripe (keyed by the trade, so at most once) and post it to the ledger."""
    assert order.id is not None
    payments.refund(
        session=session,
        order_id=order.id,
        amount_cents=amount_cents,
        idempotency_key=f"refund:{order.trade_id}",
        reason=reason,
        client=client,
    )
    ledger.post(
        session=session,
        txn_id=f"order:{order.id}:refund",
        entries=[(ledger.escrow(order.id), amount_cents), (ledger.CLEARING, -amount_cents)],
        order_id=order.id,
        memo=memo,
    )


def _refund_and_penalise(
    session: Session,
    order: Order,
    *,
    to_status: str,
    reason: str,
    actor_kind: str,
    actor_id: int | None,
    now: datetime,
    client: stripe.StripeClient | None = None,
) -> StepResult:
    """Compensation, exactly once: refund the buyer in full and charge the seller's penalty.

    The transition is claimed first (compare-and-set): a process that lost the race to another
    change of this order (the seller marking it shipped) is refused before it refunds anyone."""
    assert order.id is not None
    penalty = fees.penalty_for(order.price_cents)
    order.penalty_cents = penalty
    transition(
        session=session,
        order=order,
        to_status=to_status,
        actor_kind=actor_kind,
        actor_id=actor_id,
        now=now,
        reason=reason,
    )
    _refund_buyer(session, order, order.buyer_total_cents, reason, "buyer refunded", client)
    ledger.post(
        session=session,
        txn_id=f"order:{order.id}:penalty",
        entries=[(ledger.seller_account(order.seller_id), penalty), (ledger.PENALTIES, -penalty)],
        order_id=order.id,
        memo="seller penalty",
    )
    emails = _emails(
        _notify(
            session,
            user_id=order.buyer_id,
            kind=Kind.REFUND_ISSUED,
            order=order,
            key="refund",
            amount_cents=order.buyer_total_cents,
            reason=reason,
            card=order_views.card_text(order),
        ),
        _notify(
            session,
            user_id=order.seller_id,
            kind=Kind.PENALTY_CHARGED,
            order=order,
            key="penalty",
            amount_cents=penalty,
            reason=reason,
        ),
    )
    return StepResult(order_id=order.id, status=order.status, changed=True, emails=emails)


def enforce_ship_by(
    *,
    session: Session,
    order_id: int,
    now: datetime | None = None,
    client: stripe.StripeClient | None = None,
) -> StepResult:
    """Past the ship-by deadline without a shipment: refund the buyer, penalise the seller."""
    now = now or utcnow()
    order = lock_order(session, order_id)
    if order.status != "awaiting_shipment" or order.ship_by is None or aware(order.ship_by) > now:
        return StepResult(order_id=order_id, status=order.status, changed=False)
    return _refund_and_penalise(
        session,
        order,
        to_status="seller_did_not_ship",
        reason="The seller did not ship by the deadline.",
        actor_kind="system",
        actor_id=None,
        now=now,
        client=client,
    )


def finalize_failure(
    *,
    session: Session,
    order_id: int,
    now: datetime | None = None,
    seller_id: int | None = None,
    client: stripe.StripeClient | None = None,
) -> StepResult:
    """A failed inspection becomes final (seller accepted it, appeal denied or window passed):
    the buyer is refunded, the seller penalised, and the pair waits for staff to ship it back
    (`verification.ship_back_to_seller`)."""
    now = now or utcnow()
    order = lock_order(session, order_id)
    if seller_id is not None and order.seller_id != seller_id:
        raise OrderNotFound("Order not found.")
    if order.status != "auth_failed":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    window_open = (
        not order.appeal_used
        and order.appeal_deadline is not None
        and aware(order.appeal_deadline) > now
    )
    if window_open and seller_id is None:
        return StepResult(order_id=order_id, status=order.status, changed=False)
    return _refund_and_penalise(
        session,
        order,
        to_status=OrderStatus.RETURNING_TO_SELLER,
        reason="The pair failed authentication and goes back to the seller.",
        actor_kind="seller" if seller_id else "system",
        actor_id=seller_id,
        now=now,
        client=client,
    )


def complete(*, session: Session, order_id: int, now: datetime | None = None) -> StepResult:
    """Delivered: release the buyer's money to the seller (minus fees) and queue the payout."""
    now = now or utcnow()
    order = lock_order(session, order_id)
    if order.status != "delivered":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    assert order.id is not None
    seller_acct = ledger.seller_account(order.seller_id)
    ledger.post(
        session=session,
        txn_id=f"order:{order.id}:release",
        entries=[
            (ledger.escrow(order.id), order.buyer_total_cents),
            (seller_acct, -order.seller_payout_cents),
            (
                ledger.FEES,
                -(
                    order.seller_transaction_fee_cents
                    + order.seller_processing_fee_cents
                    + order.buyer_processing_fee_cents
                ),
            ),
            (ledger.SHIPPING, -(order.seller_shipping_cents + order.buyer_shipping_cents)),
        ],
        order_id=order.id,
        memo="sale completed",
    )
    transition(
        session=session,
        order=order,
        to_status="completed",
        now=now,
        reason="Delivered; payout released",
    )
    portfolio.record_purchase(session, order.id)
    # Penalties the seller still owes are netted against this payout.
    owed_to_seller = -ledger.balance(session=session, account=seller_acct)
    amount = min(order.seller_payout_cents, max(0, owed_to_seller))
    if (
        amount > 0
        and session.exec(select(Payout).where(Payout.order_id == order.id)).first() is None
    ):
        account = payments.payout_account_for(session=session, user_id=order.seller_id)
        # The destination is copied now: a later change of the seller's details (which needs
        # their password) does not redirect money already owed.
        session.add(
            Payout(
                order_id=order.id,
                seller_id=order.seller_id,
                amount_cents=amount,
                method=account.kind if account else "manual",
                destination_kind=account.kind if account else "",
                destination_ref=account.account_ref if account else "",
                destination_holder=account.holder_name if account else "",
                created_at=now,
            )
        )
        session.flush()
    return StepResult(order_id=order.id, status=order.status, changed=True)


class PayoutAlreadyPaid(OrderError):
    """A payout someone else recorded first; the message says when and by whom."""


def conflict_of_interest(order: Order, staff_id: int) -> str:
    """Why this staff member may not handle the order ("" when they may): nobody receives,
    inspects, ships, delivers or pays out a sale they are the buyer or the seller of."""
    if staff_id == order.seller_id:
        return (
            f"Order #{order.id} is one you sold: another staff member must handle it "
            "(conflict of interest)."
        )
    if staff_id == order.buyer_id:
        return (
            f"Order #{order.id} is one you bought: another staff member must handle it "
            "(conflict of interest)."
        )
    return ""


def require_no_conflict(order: Order, staff_id: int) -> None:
    reason = conflict_of_interest(order, staff_id)
    if reason:
        raise OrderError(reason)


def already_paid_message(session: Session, payout: Payout) -> str:
    when = payout.paid_at
    by = "a Stripe Connect transfer"
    if payout.paid_by_id is not None:
        staff = session.get(User, payout.paid_by_id)
        by = staff.display_name if staff is not None else f"staff member #{payout.paid_by_id}"
    day = f"{aware(when):%b %-d, %Y at %H:%M} UTC" if when is not None else "an earlier date"
    reference = f" (reference {payout.reference})" if payout.reference else ""
    return f"This payout was already paid on {day} by {by}{reference}."


def pay_out(
    *, session: Session, payout_id: int, staff_id: int, reference: str, now: datetime | None = None
) -> Payout:
    """Staff record a manual payout as paid (the embedded default's payout path).

    Exactly once however many staff confirm at the same moment: the payout row changes from
    pending to paid with a compare-and-set (`UPDATE ... WHERE status = 'pending'`, which waits
    for a concurrent one on both SQLite and PostgreSQL), and only the transaction whose update
    changed the row posts to the ledger. The others are told when and by whom it was paid.
    """
    now = now or utcnow()
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise OrderError("Payout not found.")
    require_staff(session, staff_id)
    order = session.get(Order, payout.order_id)
    if order is not None:
        require_no_conflict(order, staff_id)
    if payout.status == "paid":
        raise PayoutAlreadyPaid(already_paid_message(session, payout))
    if payout.method != "manual":
        raise OrderError("This payout is sent by Stripe Connect; retry the transfer instead.")
    reference = (reference or "").strip()[:255]
    if not reference:
        raise OrderError("Enter the payment reference of the transfer you made.")
    if not payout.destination_ref:
        raise OrderError("The seller has no payout details yet; nothing can be sent.")
    return _record_payout(
        session, payout, reference=reference, staff_id=staff_id, now=now, from_status=("pending",)
    )


def _record_payout(
    session: Session,
    payout: Payout,
    *,
    reference: str,
    staff_id: int | None,
    now: datetime,
    from_status: tuple[str, ...],
) -> Payout:
    changed = session.execute(
        update(Payout)
        .where(col(Payout.id) == payout.id, col(Payout.status).in_(from_status))
        .values(status="paid", reference=reference, paid_by_id=staff_id, paid_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(payout)
    if getattr(changed, "rowcount", 0) != 1:
        raise PayoutAlreadyPaid(already_paid_message(session, payout))
    ledger.post(
        session=session,
        txn_id=f"payout:{payout.id}",
        entries=[
            (ledger.seller_account(payout.seller_id), payout.amount_cents),
            (ledger.CLEARING, -payout.amount_cents),
        ],
        order_id=payout.order_id,
        memo="payout sent",
    )
    order = session.get(Order, payout.order_id)
    if order is not None:
        _notify(
            session,
            user_id=payout.seller_id,
            kind=Kind.PAYOUT_SENT,
            order=order,
            key="payout",
            amount_cents=payout.amount_cents,
        )
    session.flush()
    return payout


def _payout_failed(session: Session, payout: Payout, reason: str) -> Payout:
    session.execute(
        update(Payout)
        .where(col(Payout.id) == payout.id, col(Payout.status).in_(("pending", "failed")))
        .values(status="failed", failure_reason=reason[:500])
        .execution_options(synchronize_session=False)
    )
    session.refresh(payout)
    return payout


def pay_out_connect(
    *,
    session: Session,
    payout_id: int,
    now: datetime | None = None,
    client: stripe.StripeClient | None = None,
) -> Payout:
    """Production payout: a Stripe Connect transfer to the destination the payout was created
    with, then the payout is recorded as paid. A transfer Stripe refuses marks the payout
    failed with Stripe's reason (staff see it in the console and may retry); network trouble
    raises `PaymentTemporarilyUnavailable` for the task to retry."""
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise OrderError("Payout not found.")
    if payout.status == "paid" or payout.method != "stripe_connect":
        return payout
    if payout.destination_kind != "stripe_connect" or not payout.destination_ref:
        return _payout_failed(
            session, payout, "The seller had no Stripe Connect account when the sale completed."
        )
    try:
        transfer_id = payments.transfer_to_connect_account(
            amount_cents=payout.amount_cents,
            destination=payout.destination_ref,
            idempotency_key=f"payout:{payout.id}",
            order_id=payout.order_id,
            client=client,
        )
    except payments.PaymentTemporarilyUnavailable:
        raise  # for the task to retry, not a refusal
    except payments.PaymentError as exc:
        return _payout_failed(session, payout, str(exc))
    try:
        return _record_payout(
            session,
            payout,
            reference=transfer_id,
            staff_id=None,
            now=now or utcnow(),
            from_status=("pending", "failed"),
        )
    except PayoutAlreadyPaid:
        return payout


PAYOUT_TASK = "sneakers.send_payout"


def payout_key(payout_id: int) -> str:
    return f"send_payout:{payout_id}"


def queue_connect_payout(session: Session, order_id: int) -> int | None:
    """After `complete`: a Stripe Connect payout of the order still pending is sent by the
    `send_payout` task (an outbox row in this transaction); returns its id. Manual payouts are
    paid by staff."""
    payout_id = session.exec(
        select(Payout.id).where(
            Payout.order_id == order_id,
            Payout.method == "stripe_connect",
            Payout.status == PayoutStatus.PENDING,
        )
    ).first()
    if payout_id is not None:
        outbox.add(session, PAYOUT_TASK, payout_id, key=payout_key(payout_id))
    return payout_id


RELIST_TASK = "sneakers.relist_ask"
CANCEL_BIDS_TASK = "sneakers.cancel_bids_of_blocked_buyer"


def relist_key(order_id: int) -> str:
    return f"relist_ask:{order_id}"


def queue_after_failed_payment(session: Session, result: StepResult) -> None:
    """After a charge or a late settlement: when the buyer's payment failed, the seller's ask
    goes back on the book, and a buyer whose card is now blocked loses their resting bids (each
    an outbox row in this transaction)."""
    if result.relist_ask_id is not None:
        outbox.add(
            session,
            RELIST_TASK,
            result.relist_ask_id,
            result.order_id,
            key=relist_key(result.order_id),
        )
    if result.status == OrderStatus.PAYMENT_FAILED and result.changed:
        order = session.get(Order, result.order_id)
        if order is not None:
            outbox.add(
                session, CANCEL_BIDS_TASK, order.buyer_id, key=f"cancel_bids:{result.order_id}"
            )


def retry_connect_payout(*, session: Session, payout_id: int, staff_id: int) -> Payout:
    """Staff ask for a Stripe Connect payout that failed or was never sent to be tried again
    (the transfer is an outbox row committed with this; its idempotency key is the payout's id,
    so a transfer that did go out is not repeated)."""
    require_staff(session, staff_id)
    payout = session.get(Payout, payout_id)
    if payout is None or payout.method != "stripe_connect":
        raise OrderError("Payout not found.")
    order = session.get(Order, payout.order_id)
    if order is not None:
        require_no_conflict(order, staff_id)
    if payout.status == "paid":
        raise PayoutAlreadyPaid(already_paid_message(session, payout))
    outbox.add(session, PAYOUT_TASK, payout_id, key=payout_key(payout_id))
    return payout


__all__ = [
    "APPEAL_WINDOW",
    "StepResult",
    "charge",
    "complete",
    "enforce_ship_by",
    "extend_ship_by",
    "finalize_failure",
    "mark_shipped",
    "pay_out",
]


def settle_late_payment(
    *,
    session: Session,
    order_id: int,
    now: datetime | None = None,
    client: stripe.StripeClient | None = None,
) -> StepResult:
    """A charge Stripe settled after we gave up on it (e.g. 3-D Secure completed later, reported
    by webhook): an order still waiting for payment proceeds; a voided one is refunded in full."""
    order = lock_order(session, order_id)
    if order.status == "created":
        return charge(session=session, order_id=order_id, now=now, client=client)
    if order.status != "payment_failed":
        return StepResult(order_id=order_id, status=order.status, changed=False)
    assert order.id is not None
    charged = session.exec(
        select(Payment).where(
            Payment.order_id == order.id, Payment.kind == "charge", Payment.status == "succeeded"
        )
    ).first()
    refunded = session.exec(
        select(Payment.id).where(
            Payment.order_id == order.id, Payment.kind == "refund", Payment.status == "succeeded"
        )
    ).first()
    if charged is None or refunded is not None:
        return StepResult(order_id=order_id, status=order.status, changed=False)
    ledger.post(
        session=session,
        txn_id=f"order:{order.id}:charge",
        entries=[
            (ledger.CLEARING, charged.amount_cents),
            (ledger.escrow(order.id), -charged.amount_cents),
        ],
        order_id=order.id,
        memo="late charge settled after the trade was voided",
    )
    _refund_buyer(
        session,
        order,
        charged.amount_cents,
        "The payment completed after the sale was cancelled.",
        "late charge refunded",
        client,
    )
    emails = _emails(
        _notify(
            session,
            user_id=order.buyer_id,
            kind=Kind.REFUND_ISSUED,
            order=order,
            key="late",
            amount_cents=charged.amount_cents,
            reason="Your payment completed after the sale was cancelled.",
        ),
    )
    return StepResult(order_id=order_id, status=order.status, changed=True, emails=emails)
