"""Payments: the one place that talks to Stripe (or to localstripe, the embedded default).

Card numbers never reach our server: the browser collects them with Stripe Elements and confirms a
SetupIntent; we only see the resulting payment method id. The saga charges the saved card
off-session at the match and refunds it on every failure branch.

Two layers make money movement exactly-once. Our `payments` row is keyed by the caller's
idempotency key (the trade id), so a second call returns the first result without asking Stripe;
the same key goes to Stripe as its `Idempotency-Key`, so a retry after a lost response (our row
still pending) gets Stripe's first answer instead of a second PaymentIntent. localstripe ignores
that header, which is why the row, not Stripe, is the first line of defence.

Errors: a card decline is an outcome (status "failed"), never an exception. Network trouble,
rate limits and Stripe 5xx raise `PaymentTemporarilyUnavailable`, which Celery retries with
backoff. Other problems raise `PaymentError` with a message fit for the person who caused it.

Functions take the session explicitly and flush; the caller commits. Each accepts an explicit
`client` (tests, scripts); otherwise one is built from settings. No module-level SDK configuration:
`stripe.api_key` and friends are never touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import stripe
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from sneakers_app.models import (
    Order,
    OrderEvent,
    Payment,
    Payout,
    PayoutAccount,
    StripeEvent,
    User,
    utcnow,
)
from sneakers_app.services import accounts, notifications
from sneakers_app.settings import Settings, get_settings

# The Stripe API version of every request (and the one to set on the webhook endpoint). Not the
# SDK's own default (2026-10-28.endive): from endive on, PaymentIntents and SetupIntents refuse
# `payment_method_types`, and without it a server-side confirm demands a `return_url` (dynamic
# payment methods may redirect). localstripe, our embedded default and test backend, knows only
# `payment_method_types=["card"]` and refuses the newer alternatives. 2026-07-29.dahlia is the
# newest version that accepts the one request shape both understand; every field we read is the
# same in endive. Move forward when localstripe learns `allowed_payment_method_types`.
STRIPE_API_VERSION = "2026-07-29.dahlia"
CURRENCY = "usd"
# The SDK's own retries for connection errors, 409s and 5xx, with the same idempotency key.
NETWORK_RETRIES = 2

PAYOUT_KINDS = ("stripe_connect", "manual")
# A buyer whose off-session charges failed this many times within the window may not bid or buy
# until they save a new card (a failing card is a free way to paint the price tape).
CARD_FAILURE_LIMIT = 2
CARD_FAILURE_WINDOW = timedelta(days=30)
_PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,250}$")
_SETUP_INTENT_ID = re.compile(r"^seti_[A-Za-z0-9_]{1,250}$")
_CONNECT_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]{1,250}$")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_MAX_REASON = 500  # Payment.failure_reason, and Stripe's limit for a metadata value


class PaymentError(Exception):
    """A payment problem that retrying will not fix; the message can be shown to the user."""


class PaymentTemporarilyUnavailable(Exception):
    """Stripe could not be reached or asked us to slow down: retry later with the same key."""


class WebhookVerificationError(Exception):
    """The webhook's signature (or its body) is not Stripe's; nothing was stored."""


@dataclass(frozen=True, kw_only=True)
class CardSummary:
    brand: str
    last4: str


class SetupIntentSecret(NamedTuple):
    """What the card form needs: the browser confirms the SetupIntent with its client secret."""

    id: str
    client_secret: str


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


# --- client ---------------------------------------------------------------------------------


def make_client(
    settings: Settings | None = None, *, max_network_retries: int = NETWORK_RETRIES
) -> stripe.StripeClient:
    """A new client for these settings (STRIPE_API_BASE points it at localstripe)."""
    settings = settings or get_settings()
    return _new_client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        max_network_retries,
        settings.STRIPE_TIMEOUT_SECONDS,
    )


def _new_client(api_key: str, api_base: str, retries: int, timeout: float) -> stripe.StripeClient:
    # Every request gives up after `timeout` seconds (connect and read; the SDK's own default
    # is 80 s) and raises APIConnectionError, which callers see as PaymentTemporarilyUnavailable.
    return stripe.StripeClient(
        api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


@lru_cache(maxsize=4)
def _shared_client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    # Keyed by immutable configuration only, so tests with other settings get other clients.
    return _new_client(api_key, api_base, NETWORK_RETRIES, timeout)


def _client(client: stripe.StripeClient | None) -> stripe.StripeClient:
    if client is not None:
        return client
    settings = get_settings()
    return _shared_client(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS
    )


@contextmanager
def _stripe_call(action: str) -> Iterator[None]:
    """Translate SDK errors: transient ones become retryable, the rest a plain PaymentError."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise PaymentTemporarilyUnavailable(f"Stripe is unavailable ({action}): {exc}") from exc
    except stripe.CardError as exc:
        raise PaymentError(_stripe_message(exc, "Your card was declined.")) from exc
    except stripe.StripeError as exc:
        raise PaymentError(f"Payment provider refused to {action}: {_stripe_message(exc)}") from exc


def _stripe_message(exc: stripe.StripeError, default: str = "unknown error") -> str:
    message = exc.user_message or (exc.error.message if exc.error else None) or default
    return str(message)[:_MAX_REASON]


def _card_only(**params: Any) -> Any:
    """Request parameters with `payment_method_types=["card"]`: valid for the pinned API version,
    though the SDK's types (generated for a later version) no longer list it."""
    return {**params, "payment_method_types": ["card"]}


def _id_of(value: Any) -> str | None:
    """An expandable field is an id or an object; give the id either way."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None


# --- customers and saved cards --------------------------------------------------------------


def _lock_user(session: Session, user_id: int) -> User:
    user = session.exec(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise PaymentError("Account not found.")
    return user


def ensure_customer(
    *, session: Session, user_id: int, client: stripe.StripeClient | None = None
) -> str:
    """The user's Stripe customer id, creating the customer the first time (and only then)."""
    user = _lock_user(session, user_id)
    if user.stripe_customer_id:
        return user.stripe_customer_id
    # Tied to this user row, so a retry after a lost response finds the same customer at Stripe.
    key = f"customer:user:{user.id}:{int(user.created_at.timestamp() * 1_000_000)}"
    with _stripe_call("create a customer"):
        customer = _client(client).v1.customers.create(
            params={
                "email": user.email,
                "name": user.display_name,
                "metadata": {"user_id": str(user.id)},
            },
            options={"idempotency_key": key},
        )
    user.stripe_customer_id = customer.id
    session.add(user)
    session.flush()
    return customer.id


def create_setup_intent(
    *, session: Session, user_id: int, client: stripe.StripeClient | None = None
) -> SetupIntentSecret:
    """Start saving a card: Stripe Elements confirms this SetupIntent in the browser."""
    customer_id = ensure_customer(session=session, user_id=user_id, client=client)
    with _stripe_call("start saving a card"):
        intent = _client(client).v1.setup_intents.create(
            params=_card_only(
                customer=customer_id, usage="off_session", metadata={"user_id": str(user_id)}
            )
        )
    if not intent.client_secret:
        raise PaymentError("Payment provider returned no client secret for the card form.")
    return SetupIntentSecret(id=intent.id, client_secret=intent.client_secret)


def save_payment_method(
    *,
    session: Session,
    user_id: int,
    payment_method_id: str,
    client: stripe.StripeClient | None = None,
) -> CardSummary:
    """Make a card the user entered in the browser their default for off-session charges."""
    payment_method_id = (payment_method_id or "").strip()
    if not _PAYMENT_METHOD_ID.match(payment_method_id):
        raise PaymentError("That is not a card from the card form.")
    customer_id = ensure_customer(session=session, user_id=user_id, client=client)
    stripe_client = _client(client)
    try:
        with _stripe_call("look up the card"):
            method = stripe_client.v1.payment_methods.retrieve(payment_method_id)
    except PaymentError as exc:
        raise PaymentError("That card was not found. Please enter it again.") from exc
    if method.type != "card" or method.card is None:
        raise PaymentError("Only cards can be saved for bids.")
    owner = _id_of(method.customer)
    if owner is not None and owner != customer_id:
        raise PaymentError("That card belongs to another account.")
    if owner is None:
        with _stripe_call("save the card"):
            stripe_client.v1.payment_methods.attach(
                payment_method_id, params={"customer": customer_id}
            )
    with _stripe_call("make the card your default"):
        stripe_client.v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}}
        )
    summary = CardSummary(brand=str(method.card.brand)[:32], last4=str(method.card.last4)[-4:])
    user = _lock_user(session, user_id)
    user.default_payment_method_id = payment_method_id
    user.card_brand = summary.brand
    user.card_last4 = summary.last4
    user.card_saved_at = utcnow()
    session.add(user)
    session.flush()
    return summary


def complete_setup(
    *,
    session: Session,
    user_id: int,
    setup_intent_id: str,
    client: stripe.StripeClient | None = None,
) -> CardSummary:
    """Save the card of a SetupIntent the browser confirmed, after checking it is this user's."""
    setup_intent_id = (setup_intent_id or "").strip()
    if not _SETUP_INTENT_ID.match(setup_intent_id):
        raise PaymentError("That card setup was not found.")
    customer_id = ensure_customer(session=session, user_id=user_id, client=client)
    try:
        with _stripe_call("look up the card setup"):
            intent = _client(client).v1.setup_intents.retrieve(setup_intent_id)
    except PaymentError as exc:
        raise PaymentError("That card setup was not found.") from exc
    if _id_of(intent.customer) != customer_id:
        raise PaymentError("That card setup belongs to another account.")
    if intent.status != "succeeded":
        raise PaymentError("The card was not confirmed. Please try again.")
    payment_method_id = _id_of(intent.payment_method)
    if payment_method_id is None:
        raise PaymentError("The card setup has no card.")
    return save_payment_method(
        session=session, user_id=user_id, payment_method_id=payment_method_id, client=client
    )


def has_payment_method(user: User) -> bool:
    """Whether the user can bid or buy: a Stripe customer with a default card."""
    return bool(user.stripe_customer_id and user.default_payment_method_id)


def recent_charge_failures(*, session: Session, user_id: int, now: datetime | None = None) -> int:
    """The buyer's orders whose charge failed within `CARD_FAILURE_WINDOW`, counting only
    failures after the card now on file was saved (a new card starts afresh)."""
    now = now or utcnow()
    since = now - CARD_FAILURE_WINDOW
    user = session.get(User, user_id)
    if user is not None and user.card_saved_at is not None:
        saved = user.card_saved_at
        saved = saved if saved.tzinfo else saved.replace(tzinfo=UTC)
        since = max(since, saved)
    count = session.exec(
        select(func.count())
        .select_from(OrderEvent)
        .join(Order, col(Order.id) == col(OrderEvent.order_id))
        .where(
            Order.buyer_id == user_id,
            OrderEvent.to_status == "payment_failed",
            col(OrderEvent.created_at) >= since,
        )
    ).one()
    return int(count)


def card_blocked_reason(*, session: Session, user_id: int, now: datetime | None = None) -> str:
    """Why this buyer may not bid or buy now, or "" when they may."""
    if recent_charge_failures(session=session, user_id=user_id, now=now) >= CARD_FAILURE_LIMIT:
        days = CARD_FAILURE_WINDOW.days
        return (
            f"Your card was declined twice in the last {days} days: update your card in your "
            "account before you bid or buy."
        )
    return ""


# --- charges and refunds --------------------------------------------------------------------


def _check_amount(amount_cents: int) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise PaymentError("Amount must be a positive number of cents.")


def _check_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 100:
        raise PaymentError("An idempotency key of 1 to 100 characters is required.")


def _payment_by_key(session: Session, idempotency_key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()


def _same_request(payment: Payment, *, kind: str, order_id: int, amount_cents: int) -> None:
    if (payment.kind, payment.order_id, payment.amount_cents) != (kind, order_id, amount_cents):
        raise PaymentError(
            f"Idempotency key {payment.idempotency_key!r} was already used for a different "
            f"{payment.kind} (order {payment.order_id}, {payment.amount_cents} cents)."
        )


def _settle(payment: Payment, *, status: str, stripe_id: str | None, reason: str = "") -> None:
    payment.status = status
    if stripe_id:
        payment.stripe_id = stripe_id
    payment.failure_reason = reason[:_MAX_REASON]
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
    _check_amount(amount_cents)
    _check_key(idempotency_key)
    payment = _payment_by_key(session, idempotency_key)
    if payment is not None:
        _same_request(payment, kind="charge", order_id=order_id, amount_cents=amount_cents)
        if payment.status != "pending" or payment.stripe_id:
            return _charge_result(payment)
        # A pending row without a PaymentIntent: an earlier attempt's answer was lost. Ask
        # again with the same key; Stripe replays its first answer instead of charging twice.
    else:
        payment = Payment(
            order_id=order_id,
            kind="charge",
            status="pending",
            amount_cents=amount_cents,
            idempotency_key=idempotency_key,
        )
        session.add(payment)
        session.flush()  # the unique key: a concurrent second charge fails here, before Stripe

    try:
        intent = _client(client).v1.payment_intents.create(
            params=_card_only(
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
        intent_id = _id_of(error.payment_intent) if error else None
        if exc.code == "authentication_required":
            _settle(
                payment,
                status="requires_action",
                stripe_id=intent_id,
                reason=_AUTHENTICATION_REASON,
            )
        else:
            _settle(
                payment,
                status="failed",
                stripe_id=intent_id,
                reason=_stripe_message(exc, "Your card was declined."),
            )
    except stripe.InvalidRequestError as exc:
        # The saved card or customer is gone or unusable: this charge cannot succeed.
        _settle(
            payment,
            status="failed",
            stripe_id=None,
            reason=f"The saved card could not be charged: {_stripe_message(exc)}",
        )
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise PaymentTemporarilyUnavailable(f"Stripe is unavailable (charge): {exc}") from exc
    except stripe.StripeError as exc:
        # Authentication, permissions: our configuration, not the buyer's card.
        raise PaymentError(f"Payment provider refused the charge: {_stripe_message(exc)}") from exc
    else:
        status, reason = _intent_outcome(intent)
        _settle(payment, status=status, stripe_id=intent.id, reason=reason)
    session.add(payment)
    session.flush()
    return _charge_result(payment)


def _refund_outcome(status: str | None, failure: str | None) -> tuple[str, str]:
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
    _check_amount(amount_cents)
    _check_key(idempotency_key)
    reason = _CONTROL_CHARS.sub(" ", (reason or "").strip())[:_MAX_REASON]
    payment = _payment_by_key(session, idempotency_key)
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

    with _stripe_call("refund"):
        stripe_refund = _client(client).v1.refunds.create(
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
    status, why = _refund_outcome(
        getattr(stripe_refund, "status", None), getattr(stripe_refund, "failure_reason", None)
    )
    _settle(payment, status=status, stripe_id=stripe_refund.id, reason=why)
    session.add(payment)
    session.flush()
    return payment


# --- seller payout destination --------------------------------------------------------------


def _clean_text(value: str, *, field: str, min_len: int, max_len: int) -> str:
    raw = value or ""
    if _CONTROL_CHARS.search(re.sub(r"[\r\n\t]", " ", raw)):
        raise PaymentError(f"{field} contains characters that are not allowed.")
    text = " ".join(raw.split())
    if not (min_len <= len(text) <= max_len):
        raise PaymentError(f"{field} must be {min_len} to {max_len} characters.")
    return text


def default_payout_kind(settings: Settings | None = None) -> str:
    """Stripe Connect with real Stripe; manual payouts with localstripe (it has no Connect)."""
    return "manual" if (settings or get_settings()).uses_localstripe else "stripe_connect"


def save_payout_account(
    *,
    session: Session,
    user_id: int,
    kind: str,
    account_ref: str,
    holder_name: str,
    password: str | None = None,
) -> PayoutAccount:
    """Where the seller is paid: a Connect account id, or details staff pay by hand.

    Setting them the first time needs nothing more than the session; changing saved details
    needs the account's password (a stolen session must not redirect the seller's money).
    Payouts already created keep the destination they were created with, except ones that had
    none (the seller had no details then), which take these.
    """
    if kind not in PAYOUT_KINDS:
        raise PaymentError("Choose Stripe Connect or manual payout.")
    if kind == "stripe_connect":
        account_ref = (account_ref or "").strip()
        if not _CONNECT_ACCOUNT_ID.match(account_ref):
            raise PaymentError("A Stripe Connect account id looks like acct_1A2b3C.")
        holder_name = _clean_text(holder_name, field="Account holder", min_len=0, max_len=120)
    else:
        account_ref = _clean_text(account_ref, field="Payout details", min_len=6, max_len=255)
        holder_name = _clean_text(holder_name, field="Account holder", min_len=2, max_len=120)
    if session.get(User, user_id) is None:
        raise PaymentError("Account not found.")
    account = session.exec(select(PayoutAccount).where(PayoutAccount.user_id == user_id)).first()
    changed = account is not None and (
        (account.kind, account.account_ref, account.holder_name) != (kind, account_ref, holder_name)
    )
    if changed or password is not None:
        try:
            right = accounts.verify_password(
                session=session, user_id=user_id, password=password or ""
            )
        except accounts.AccountError as exc:
            raise PaymentError(exc.message) from exc
        if not right:
            raise PaymentError(
                "Enter your current password to change your payout details."
                if password is None
                else "That password is not right; your payout details were not changed."
            )
    if account is None:
        account = PayoutAccount(user_id=user_id, kind=kind, account_ref=account_ref)
    account.kind = kind
    account.account_ref = account_ref
    account.holder_name = holder_name
    session.add(account)
    session.execute(
        update(Payout)
        .where(
            col(Payout.seller_id) == user_id,
            col(Payout.status).in_(("pending", "failed")),
            col(Payout.destination_ref) == "",
        )
        .values(destination_kind=kind, destination_ref=account_ref, destination_holder=holder_name)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return account


@dataclass(frozen=True, kw_only=True)
class PayoutDetailsSaved:
    account: PayoutAccount
    email_notification_id: int | None


def change_payout_details(
    *,
    session: Session,
    user_id: int,
    kind: str,
    account_ref: str,
    holder_name: str,
    password: str | None,
) -> PayoutDetailsSaved:
    """The account page's save: checks the password, saves, and tells the seller by email
    (always, whatever their notification settings) that their payout destination changed."""
    account = save_payout_account(
        session=session,
        user_id=user_id,
        kind=kind,
        account_ref=account_ref,
        holder_name=holder_name,
        password=password or None,
    )
    result = notifications.notify(
        session=session,
        user_id=user_id,
        kind=notifications.Kind.PAYOUT_DETAILS_CHANGED,
        context={"destination": mask_destination(account.account_ref), "holder": holder_name},
        dedupe_key=f"payout_details:{user_id}:{utcnow().timestamp():.6f}",
    )
    return PayoutDetailsSaved(
        account=account,
        email_notification_id=result.email_notification_id if result is not None else None,
    )


def mask_destination(account_ref: str) -> str:
    """Enough of a destination for its owner to recognise it, not enough to copy it."""
    ref = account_ref.strip()
    if ref.startswith("acct_"):
        return f"Stripe account ending {ref[-4:]}"
    digits = ref.replace(" ", "")
    return f"account ending {digits[-4:]}" if len(digits) > 4 else "a new account"


def payout_account_for(*, session: Session, user_id: int) -> PayoutAccount | None:
    return session.exec(select(PayoutAccount).where(PayoutAccount.user_id == user_id)).first()


def transfer_to_connect_account(
    *,
    amount_cents: int,
    destination: str,
    idempotency_key: str,
    order_id: int,
    client: stripe.StripeClient | None = None,
) -> str:
    """Pay a seller through Stripe Connect (production): a Transfer to their connected account.

    Returns the transfer id. The idempotency key (derived from our payout id) makes a retried
    call return the same transfer instead of paying twice.
    """
    _check_amount(amount_cents)
    _check_key(idempotency_key)
    if not _CONNECT_ACCOUNT_ID.match(destination or ""):
        raise PaymentError("The seller's payout account is not a Stripe Connect account.")
    with _stripe_call("pay the seller"):
        transfer = _client(client).v1.transfers.create(
            params={
                "amount": amount_cents,
                "currency": CURRENCY,
                "destination": destination,
                "transfer_group": f"order-{order_id}",
                "metadata": {"order_id": str(order_id), "idempotency_key": idempotency_key},
            },
            options={"idempotency_key": idempotency_key},
        )
    return str(transfer.id)


# --- webhooks -------------------------------------------------------------------------------


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
            _settle(payment, status="succeeded", stripe_id=_id_of(obj.get("id")))
        elif previous != "succeeded":  # a succeeded payment does not fail later
            error = obj.get("last_payment_error") or {}
            message = error.get("message") if isinstance(error, dict) else None
            _settle(
                payment,
                status="failed",
                stripe_id=_id_of(obj.get("id")),
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
    intent_id = _id_of(intent.get("id"))
    if intent_id:
        found = session.exec(
            select(Payment).where(Payment.stripe_id == intent_id, Payment.kind == "charge")
        ).first()
        if found is not None:
            return found
    metadata = intent.get("metadata") or {}
    key = metadata.get("idempotency_key") if isinstance(metadata, dict) else None
    if isinstance(key, str):
        found = _payment_by_key(session, key)
        if found is not None and found.kind == "charge" and found.stripe_id in (None, intent_id):
            return found
    return None


def _reconcile_refund(
    session: Session, base: WebhookOutcome, obj: dict[str, Any]
) -> WebhookOutcome:
    refund_id = _id_of(obj.get("id"))
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
    status, why = _refund_outcome(obj.get("status"), obj.get("failure_reason"))
    if previous != status:
        _settle(payment, status=status, stripe_id=refund_id, reason=why)
        session.add(payment)
        session.flush()
    return _outcome(base, payment, previous)


def _reconcile_charge_refunded(
    session: Session, base: WebhookOutcome, obj: dict[str, Any]
) -> WebhookOutcome:
    """Settle our refund rows for a refunded charge: by the refunds the event lists, or (newer
    API versions list none) the order's pending refunds up to the amount refunded."""
    intent_id = _id_of(obj.get("payment_intent"))
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
                    Payment.stripe_id == _id_of(item.get("id")), Payment.kind == "refund"
                )
            ).first()
            if row is None or row.order_id != charged.order_id:
                continue
            status, why = _refund_outcome(item.get("status"), item.get("failure_reason"))
            if row.status != status:
                touched, previous = row, row.status
                _settle(row, status=status, stripe_id=row.stripe_id, reason=why)
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
                _settle(row, status="succeeded", stripe_id=row.stripe_id)
                session.add(row)
    session.flush()
    if touched is None or previous is None:
        return replace(base, order_id=charged.order_id, detail="refunds already settled")
    return _outcome(base, touched, previous)
