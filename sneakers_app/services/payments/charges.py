"""Charges and refunds, exactly once.

Our `payments` row is keyed by the caller's idempotency key (the trade id), so a second call
returns the first result without asking Stripe; the same key goes to Stripe as its
`Idempotency-Key`, so a retry after a lost response (our row still pending) gets Stripe's first
answer instead of a second PaymentIntent. localstripe ignores that header, which is why the
row, not Stripe, is the first line of defence.

A card decline is an outcome (status "failed"), never an exception. Functions take the session
explicitly and flush; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import stripe
from sqlmodel import Session, col, select

from sneakers_app.models import Payment, utcnow
from sneakers_app.services.payments.client import (
    CURRENCY,
    MAX_REASON,
    PaymentError,
    PaymentTemporarilyUnavailable,
    card_only,
    id_of,
    stripe_call,
    stripe_client,
    stripe_message,
)
from sneakers_app.services.sql import as_loaded, insert_for, table_of

__all__ = [
    "CONTROL_CHARS",
    "ChargeResult",
    "charge",
    "check_amount",
    "check_key",
    "payment_by_key",
    "refund",
    "refund_outcome",
    "settle",
]

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, kw_only=True)
class ChargeResult:
    """The outcome of charging a buyer: succeeded, failed, requires_action or pending."""

    status: str
    payment_intent_id: str | None
    failure_reason: str = ""
    payment_id: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


def check_amount(amount_cents: int) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise PaymentError("Amount must be a positive number of cents.")


def check_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 100:
        raise PaymentError("An idempotency key of 1 to 100 characters is required.")


def payment_by_key(session: Session, idempotency_key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()


def _new_pending(
    session: Session, *, kind: str, order_id: int, amount_cents: int, key: str
) -> Payment | None:
    """A new pending payment under `key`, written before Stripe is asked (one statement: the
    key is not looked up first); None when the key is taken (a concurrent call with it is
    waited for). The row is in the session as if read back."""
    now = utcnow()
    values: dict[str, Any] = {
        "order_id": order_id,
        "kind": kind,
        "status": "pending",
        "amount_cents": amount_cents,
        "idempotency_key": key,
        "stripe_id": None,
        "failure_reason": "",
        "created_at": now,
        "updated_at": now,
    }
    table = table_of(Payment)
    written = session.execute(
        insert_for(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    ).first()
    if written is None:
        return None
    return as_loaded(session, Payment(id=written[0], **values))


def _same_request(payment: Payment, *, kind: str, order_id: int, amount_cents: int) -> None:
    if (payment.kind, payment.order_id, payment.amount_cents) != (kind, order_id, amount_cents):
        raise PaymentError(
            f"Idempotency key {payment.idempotency_key!r} was already used for a different "
            f"{payment.kind} (order {payment.order_id}, {payment.amount_cents} cents)."
        )


def settle(payment: Payment, *, status: str, stripe_id: str | None, reason: str = "") -> None:
    payment.status = status
    if stripe_id:
        payment.stripe_id = stripe_id
    payment.failure_reason = reason[:MAX_REASON]
    payment.updated_at = utcnow()


def _charge_result(payment: Payment) -> ChargeResult:
    return ChargeResult(
        status=payment.status,
        payment_intent_id=payment.stripe_id,
        failure_reason=payment.failure_reason,
        payment_id=payment.id,
    )


_AUTHENTICATION_REASON = "The card's bank asked the buyer to confirm this payment."


def _intent_outcome(intent: stripe.PaymentIntent) -> tuple[str, str]:
    """Our status and reason for a PaymentIntent's state."""
    if intent.status == "succeeded":
        return "succeeded", ""
    if intent.status == "requires_action":
        return "requires_action", _AUTHENTICATION_REASON
    if intent.status in ("processing", "requires_capture", "requires_confirmation"):
        return "pending", ""
    error = getattr(intent, "last_payment_error", None)
    message = getattr(error, "message", None) or "The payment was not completed."
    return "failed", message


def charge(
    *,
    session: Session,
    order_id: int,
    amount_cents: int,
    customer_id: str,
    payment_method_id: str,
    idempotency_key: str,
    client: stripe.StripeClient | None = None,
) -> ChargeResult:
    """Charge a saved card off-session, at once. The same key twice charges once.

    A decline or a bank asking for authentication is a result, not an exception; only trouble
    reaching Stripe raises (`PaymentTemporarilyUnavailable`: retry with the same key).
    """
    check_amount(amount_cents)
    check_key(idempotency_key)
    payment = _new_pending(
        session, kind="charge", order_id=order_id, amount_cents=amount_cents, key=idempotency_key
    )
    if payment is None:  # the key was used: this charge was asked for before
        payment = payment_by_key(session, idempotency_key)
        assert payment is not None, "a payment with this key exists"
        _same_request(payment, kind="charge", order_id=order_id, amount_cents=amount_cents)
        if payment.status != "pending" or payment.stripe_id:
            return _charge_result(payment)
        # A pending row without a PaymentIntent: an earlier attempt's answer was lost. Ask
        # again with the same key; Stripe replays its first answer instead of charging twice.

    try:
        intent = stripe_client(client).v1.payment_intents.create(
            params=card_only(
                amount=amount_cents,
                currency=CURRENCY,
                customer=customer_id,
                payment_method=payment_method_id,
                confirm=True,
                off_session=True,
                metadata={"order_id": str(order_id), "idempotency_key": idempotency_key},
            ),
            options={"idempotency_key": idempotency_key},
        )
    except stripe.CardError as exc:
        # Off-session, a bank that wants 3-D Secure declines with `authentication_required`
        # (the PaymentIntent waits for a new confirmation); any other card error is a decline.
        error = exc.error
        intent_id = id_of(error.payment_intent) if error else None
        if exc.code == "authentication_required":
            settle(
                payment,
                status="requires_action",
                stripe_id=intent_id,
                reason=_AUTHENTICATION_REASON,
            )
        else:
            settle(
                payment,
                status="failed",
                stripe_id=intent_id,
                reason=stripe_message(exc, "Your card was declined."),
            )
    except stripe.InvalidRequestError as exc:
        # The saved card or customer is gone or unusable: this charge cannot succeed.
        settle(
            payment,
            status="failed",
            stripe_id=None,
            reason=f"The saved card could not be charged: {stripe_message(exc)}",
        )
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise PaymentTemporarilyUnavailable(f"Stripe is unavailable (charge): {exc}") from exc
    except stripe.StripeError as exc:
        # Authentication, permissions: our configuration, not the buyer's card.
        raise PaymentError(f"Payment provider refused the charge: {stripe_message(exc)}") from exc
    else:
        status, reason = _intent_outcome(intent)
        settle(payment, status=status, stripe_id=intent.id, reason=reason)
    session.add(payment)
    session.flush()
    return _charge_result(payment)


def refund_outcome(status: str | None, failure: str | None) -> tuple[str, str]:
    if status == "succeeded":
        return "succeeded", ""
    if status in ("failed", "canceled"):
        return "failed", f"Refund {status}: {failure or 'no reason given'}"
    return "pending", ""


def refund(
    *,
    session: Session,
    order_id: int,
    amount_cents: int,
    idempotency_key: str,
    reason: str,
    client: stripe.StripeClient | None = None,
) -> Payment:
    """Refund (part of) the order's successful charge. The same key twice refunds once."""
    check_amount(amount_cents)
    check_key(idempotency_key)
    reason = CONTROL_CHARS.sub(" ", (reason or "").strip())[:MAX_REASON]
    payment = payment_by_key(session, idempotency_key)
    if payment is not None:
        _same_request(payment, kind="refund", order_id=order_id, amount_cents=amount_cents)
        if payment.status != "pending" or payment.stripe_id:
            return payment

    charged = session.exec(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.kind == "charge")
        .where(Payment.status == "succeeded")
        .order_by(col(Payment.id).desc())
    ).first()
    if charged is None or not charged.stripe_id:
        raise PaymentError(f"Order {order_id} has no successful charge to refund.")
    refunds = session.exec(
        select(Payment).where(
            Payment.order_id == order_id,
            Payment.kind == "refund",
            col(Payment.status).in_(("pending", "succeeded")),
        )
    ).all()
    already = sum(r.amount_cents for r in refunds if payment is None or r.id != payment.id)
    if already + amount_cents > charged.amount_cents:
        raise PaymentError(
            f"Refund of {amount_cents} cents exceeds what is left of the charge "
            f"({charged.amount_cents - already} cents)."
        )
    if payment is None:
        payment = Payment(
            order_id=order_id,
            kind="refund",
            status="pending",
            amount_cents=amount_cents,
            idempotency_key=idempotency_key,
        )
        session.add(payment)
        session.flush()

    with stripe_call("refund"):
        stripe_refund = stripe_client(client).v1.refunds.create(
            params={
                "payment_intent": charged.stripe_id,
                "amount": amount_cents,
                "metadata": {
                    "order_id": str(order_id),
                    "idempotency_key": idempotency_key,
                    "reason": reason,
                },
            },
            options={"idempotency_key": idempotency_key},
        )
    # Optional fields may be absent (localstripe leaves out what it does not model).
    status, why = refund_outcome(
        getattr(stripe_refund, "status", None), getattr(stripe_refund, "failure_reason", None)
    )
    settle(payment, status=status, stripe_id=stripe_refund.id, reason=why)
    session.add(payment)
    session.flush()
    return payment
