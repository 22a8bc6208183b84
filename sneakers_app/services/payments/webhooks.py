"""Stripe webhooks: verify the signature, store each event once by id, and reconcile the
asynchronous outcomes (a late success or failure, a refund settling) onto our payment rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import stripe
from sqlmodel import Session, col, select

from sneakers_app.models import Payment, StripeEvent, utcnow
from sneakers_app.services.payments.charges import payment_by_key, refund_outcome, settle
from sneakers_app.services.payments.client import id_of
from sneakers_app.settings import get_settings

__all__ = [
    "SETTLE_TASK",
    "WebhookOutcome",
    "WebhookVerificationError",
    "handle_webhook",
    "settle_key",
]


class WebhookVerificationError(Exception):
    """The webhook's signature (or its body) is not Stripe's; nothing was stored."""


@dataclass(frozen=True, kw_only=True)
class WebhookOutcome:
    """What one webhook delivery did. `duplicate` means the event was seen before: no-op."""

    event_id: str
    event_type: str
    duplicate: bool
    payment_id: int | None = None
    order_id: int | None = None
    payment_status: str | None = None
    previous_status: str | None = None
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.payment_status is not None and self.payment_status != self.previous_status


SETTLE_TASK = "sneakers.settle_payment"
"""What follows a webhook that changed a payment (`saga.settle_late_payment`, via the outbox)."""


def settle_key(order_id: int) -> str:
    """One outbox key per order for its settlement, from the webhook or the sweep that re-finds
    it, so the two never run it side by side."""
    return f"settle_payment:order:{order_id}"


def handle_webhook(
    *,
    session: Session,
    payload: bytes,
    signature_header: str,
    webhook_secret: str | None = None,
) -> WebhookOutcome:
    """Verify, store once by event id, and reconcile asynchronous outcomes onto our rows.

    The caller commits and answers 2xx; on `WebhookVerificationError` it answers 400.
    """
    secret = webhook_secret or get_settings().STRIPE_WEBHOOK_SECRET
    try:
        stripe.Webhook.construct_event(payload, signature_header, secret)
        event = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
        obj = event["data"]["object"]
        if not isinstance(obj, dict):
            raise ValueError("event data is not an object")
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
        raise WebhookVerificationError(f"Webhook rejected: {exc}") from exc

    if session.get(StripeEvent, event_id) is not None:
        return WebhookOutcome(
            event_id=event_id,
            event_type=event_type,
            duplicate=True,
            detail="already processed; replay ignored",
        )
    stored = StripeEvent(id=event_id, type=event_type, payload=payload.decode("utf-8"))
    session.add(stored)
    session.flush()  # the primary key: a concurrent duplicate delivery fails here

    outcome = _reconcile(session, event_id, event_type, obj)
    stored.processed_at = utcnow()
    session.add(stored)
    session.flush()
    return outcome


def _reconcile(
    session: Session, event_id: str, event_type: str, obj: dict[str, Any]
) -> WebhookOutcome:
    base = WebhookOutcome(event_id=event_id, event_type=event_type, duplicate=False)
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        payment = _charge_for_intent(session, obj)
        if payment is None:
            return replace(base, detail="no matching charge")
        previous = payment.status
        if event_type == "payment_intent.succeeded":
            settle(payment, status="succeeded", stripe_id=id_of(obj.get("id")))
        elif previous != "succeeded":  # a succeeded payment does not fail later
            error = obj.get("last_payment_error") or {}
            message = error.get("message") if isinstance(error, dict) else None
            settle(
                payment,
                status="failed",
                stripe_id=id_of(obj.get("id")),
                reason=str(message or "The payment failed."),
            )
        session.add(payment)
        session.flush()
        return _outcome(base, payment, previous)
    if event_type in ("refund.updated", "refund.failed", "charge.refund.updated"):
        return _reconcile_refund(session, base, obj)
    if event_type == "charge.refunded":
        return _reconcile_charge_refunded(session, base, obj)
    return replace(base, detail="stored; nothing to reconcile")


def _outcome(base: WebhookOutcome, payment: Payment, previous: str) -> WebhookOutcome:
    return replace(
        base,
        payment_id=payment.id,
        order_id=payment.order_id,
        payment_status=payment.status,
        previous_status=previous,
        detail="reconciled",
    )


def _charge_for_intent(session: Session, intent: dict[str, Any]) -> Payment | None:
    """Our charge row for a PaymentIntent: by its id, or by the key we put in its metadata
    (a decline can reach us before we learned the PaymentIntent's id)."""
    intent_id = id_of(intent.get("id"))
    if intent_id:
        found = session.exec(
            select(Payment).where(Payment.stripe_id == intent_id, Payment.kind == "charge")
        ).first()
        if found is not None:
            return found
    metadata = intent.get("metadata") or {}
    key = metadata.get("idempotency_key") if isinstance(metadata, dict) else None
    if isinstance(key, str):
        found = payment_by_key(session, key)
        if found is not None and found.kind == "charge" and found.stripe_id in (None, intent_id):
            return found
    return None


def _reconcile_refund(
    session: Session, base: WebhookOutcome, obj: dict[str, Any]
) -> WebhookOutcome:
    refund_id = id_of(obj.get("id"))
    payment = (
        session.exec(
            select(Payment).where(Payment.stripe_id == refund_id, Payment.kind == "refund")
        ).first()
        if refund_id
        else None
    )
    if payment is None:
        return replace(base, detail="no matching refund")
    previous = payment.status
    status, why = refund_outcome(obj.get("status"), obj.get("failure_reason"))
    if previous != status:
        settle(payment, status=status, stripe_id=refund_id, reason=why)
        session.add(payment)
        session.flush()
    return _outcome(base, payment, previous)


def _reconcile_charge_refunded(
    session: Session, base: WebhookOutcome, obj: dict[str, Any]
) -> WebhookOutcome:
    """Settle our refund rows for a refunded charge: by the refunds the event lists, or (newer
    API versions list none) the order's pending refunds up to the amount refunded."""
    intent_id = id_of(obj.get("payment_intent"))
    charged = (
        session.exec(
            select(Payment).where(Payment.stripe_id == intent_id, Payment.kind == "charge")
        ).first()
        if intent_id
        else None
    )
    if charged is None:
        return replace(base, detail="no matching charge")
    listed = (obj.get("refunds") or {}).get("data") or []
    touched: Payment | None = None
    previous: str | None = None
    if listed:
        for item in listed:
            if not isinstance(item, dict):
                continue
            row = session.exec(
                select(Payment).where(
                    Payment.stripe_id == id_of(item.get("id")), Payment.kind == "refund"
                )
            ).first()
            if row is None or row.order_id != charged.order_id:
                continue
            status, why = refund_outcome(item.get("status"), item.get("failure_reason"))
            if row.status != status:
                touched, previous = row, row.status
                settle(row, status=status, stripe_id=row.stripe_id, reason=why)
                session.add(row)
    else:
        refunded = int(obj.get("amount_refunded") or 0)
        rows = session.exec(
            select(Payment)
            .where(Payment.order_id == charged.order_id, Payment.kind == "refund")
            .order_by(col(Payment.id))
        ).all()
        settled = sum(r.amount_cents for r in rows if r.status == "succeeded")
        for row in rows:
            if row.status == "pending" and settled + row.amount_cents <= refunded:
                settled += row.amount_cents
                touched, previous = row, row.status
                settle(row, status="succeeded", stripe_id=row.stripe_id)
                session.add(row)
    session.flush()
    if touched is None or previous is None:
        return replace(base, order_id=charged.order_id, detail="refunds already settled")
    return _outcome(base, touched, previous)
