"""Customers and saved cards. Card numbers never reach our server: the browser collects them
with Stripe Elements and confirms a SetupIntent; we only see the resulting payment method id.
A buyer whose off-session charges kept failing may not bid or buy until they save a new card.

A user keeps several cards (`payment_cards`). Exactly one is the default whenever they have
any: a card just saved becomes it (the card you just entered is the one you mean to pay with,
and a buyer blocked by declines is unblocked by saving a new one), deleting the default promotes
the newest remaining one. `User.default_payment_method_id/card_brand/card_last4` mirror the
default card for the callers that read them. A deleted card stays attached at Stripe: an order
matched just before keeps the card it snapshotted (`Order.payment_method_id`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import stripe
from sqlalchemy import ColumnElement, ScalarSelect, func, or_
from sqlmodel import Session, col, select

from sneakers_app.models import Order, OrderEvent, PaymentCard, User, utcnow
from sneakers_app.services.payments.client import (
    PaymentError,
    PaymentTemporarilyUnavailable,
    card_only,
    id_of,
    stripe_call,
    stripe_client,
)

__all__ = [
    "CARD_FAILURE_LIMIT",
    "CARD_FAILURE_WINDOW",
    "MAX_CARDS",
    "CardSummary",
    "SetupIntentSecret",
    "blocked_by_failures",
    "card_blocked_reason",
    "charge_failures_since",
    "complete_setup",
    "create_setup_intent",
    "default_card",
    "default_card_id",
    "delete_card",
    "ensure_customer",
    "find_card",
    "has_card_on_file",
    "has_payment_method",
    "list_cards",
    "recent_charge_failures",
    "save_payment_method",
    "set_default_card",
]

MAX_CARDS = 10

# A buyer whose off-session charges failed this many times within the window may not bid or buy
# until they save a new card (a failing card is a free way to paint the price tape).
CARD_FAILURE_LIMIT = 2
CARD_FAILURE_WINDOW = timedelta(days=30)
_PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,250}$")
_SETUP_INTENT_ID = re.compile(r"^seti_[A-Za-z0-9_]{1,250}$")


@dataclass(frozen=True, kw_only=True)
class CardSummary:
    brand: str
    last4: str
    card_id: int = 0


class SetupIntentSecret(NamedTuple):
    """What the card form needs: the browser confirms the SetupIntent with its client secret."""

    id: str
    client_secret: str


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
    with stripe_call("create a customer"):
        customer = stripe_client(client).v1.customers.create(
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
    with stripe_call("start saving a card"):
        intent = stripe_client(client).v1.setup_intents.create(
            params=card_only(
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
    api = stripe_client(client)
    try:
        with stripe_call("look up the card"):
            method = api.v1.payment_methods.retrieve(payment_method_id)
    except PaymentTemporarilyUnavailable:
        raise
    except PaymentError as exc:
        raise PaymentError("That card was not found. Please enter it again.") from exc
    if method.type != "card" or method.card is None:
        raise PaymentError("Only cards can be saved for bids.")
    owner = id_of(method.customer)
    if owner is not None and owner != customer_id:
        raise PaymentError("That card belongs to another account.")
    if owner is None:
        with stripe_call("save the card"):
            api.v1.payment_methods.attach(payment_method_id, params={"customer": customer_id})
    with stripe_call("make the card your default"):
        api.v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}}
        )
    brand, last4 = str(method.card.brand)[:32], str(method.card.last4)[-4:]
    user = _lock_user(session, user_id)
    card = session.exec(
        select(PaymentCard).where(PaymentCard.payment_method_id == payment_method_id)
    ).first()
    if card is None:
        if len(list_cards(session=session, user_id=user_id)) >= MAX_CARDS:
            raise PaymentError(f"You can keep up to {MAX_CARDS} cards; delete one first.")
        card = PaymentCard(
            user_id=user_id,
            payment_method_id=payment_method_id,
            brand=brand,
            last4=last4,
            exp_month=_int(getattr(method.card, "exp_month", 0)),
            exp_year=_int(getattr(method.card, "exp_year", 0)),
        )
        session.add(card)
        session.flush()
    elif card.user_id != user_id:
        raise PaymentError("That card belongs to another account.")
    _make_default(session, user, card)
    user.card_saved_at = utcnow()
    session.add(user)
    session.flush()
    return CardSummary(brand=brand, last4=last4, card_id=card.id or 0)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def list_cards(*, session: Session, user_id: int) -> list[PaymentCard]:
    """The default first, then newest first."""
    return list(
        session.exec(
            select(PaymentCard)
            .where(PaymentCard.user_id == user_id)
            .order_by(col(PaymentCard.is_default).desc(), col(PaymentCard.id).desc())
        ).all()
    )


def find_card(*, session: Session, user_id: int, card_id: object) -> PaymentCard | None:
    """One of the user's cards, or None (missing and not-yours read the same)."""
    if isinstance(card_id, bool) or not isinstance(card_id, int):
        return None
    card = session.get(PaymentCard, card_id)
    if card is None or card.user_id != user_id:
        return None
    return card


def default_card(*, session: Session, user_id: int) -> PaymentCard | None:
    return session.exec(select(PaymentCard).where(*_is_default_card(user_id))).first()


def _is_default_card(user_id: Any) -> tuple[ColumnElement[bool], ...]:
    return col(PaymentCard.user_id) == user_id, col(PaymentCard.is_default).is_(True)


def default_card_id(user_id: Any) -> ScalarSelect[int | None]:
    """SQL for the id of the user's default card (`default_card`), for a query reading more."""
    return select(col(PaymentCard.id)).where(*_is_default_card(user_id)).limit(1).scalar_subquery()


def _mirror(user: User, card: PaymentCard | None) -> None:
    user.default_payment_method_id = card.payment_method_id if card else None
    user.card_brand = card.brand if card else None
    user.card_last4 = card.last4 if card else None


def _make_default(session: Session, user: User, card: PaymentCard) -> None:
    for other in list_cards(session=session, user_id=user.id or 0):
        if other.id != card.id and other.is_default:
            other.is_default = False
            session.add(other)
    card.is_default = True
    session.add(card)
    _mirror(user, card)
    session.add(user)


def set_default_card(*, session: Session, user_id: int, card_id: object) -> PaymentCard:
    """Make one of the user's saved cards the default (what new bids preselect)."""
    card = find_card(session=session, user_id=user_id, card_id=card_id)
    if card is None:
        raise PaymentError("Card not found.")
    _make_default(session, _lock_user(session, user_id), card)
    session.flush()
    return card


def delete_card(*, session: Session, user_id: int, card_id: object) -> None:
    """Forget one of the user's cards (the newest remaining becomes the default). Bids that
    named it are paused by the caller first (`services/checkout.py`)."""
    card = find_card(session=session, user_id=user_id, card_id=card_id)
    if card is None:
        raise PaymentError("Card not found.")
    user = _lock_user(session, user_id)
    was_default = card.is_default
    session.delete(card)
    session.flush()
    if was_default:
        remaining = list_cards(session=session, user_id=user_id)
        if remaining:
            _make_default(session, user, remaining[0])
        else:
            _mirror(user, None)
            session.add(user)
    session.flush()


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
        with stripe_call("look up the card setup"):
            intent = stripe_client(client).v1.setup_intents.retrieve(setup_intent_id)
    except PaymentTemporarilyUnavailable:
        raise
    except PaymentError as exc:
        raise PaymentError("That card setup was not found.") from exc
    if id_of(intent.customer) != customer_id:
        raise PaymentError("That card setup belongs to another account.")
    if intent.status != "succeeded":
        raise PaymentError("The card was not confirmed. Please try again.")
    payment_method_id = id_of(intent.payment_method)
    if payment_method_id is None:
        raise PaymentError("The card setup has no card.")
    return save_payment_method(
        session=session, user_id=user_id, payment_method_id=payment_method_id, client=client
    )


def has_payment_method(user: User) -> bool:
    """Whether the user can bid or buy: a Stripe customer with a default card."""
    return has_card_on_file(user.stripe_customer_id, user.default_payment_method_id)


def has_card_on_file(stripe_customer_id: str | None, default_payment_method_id: str | None) -> bool:
    """`has_payment_method` from the two columns of the user's row (a caller that read only
    them)."""
    return bool(stripe_customer_id and default_payment_method_id)


def charge_failures_since(user_id: Any, since: Any) -> ScalarSelect[int]:
    """SQL for the number of the buyer's orders whose charge failed at or after `since`,
    counting only failures after the card now on file was saved (a new card starts afresh).
    `user_id` and `since` are values or SQL (bound parameters), so a caller can read it in the
    same query as other facts."""
    saved = select(col(User.card_saved_at)).where(col(User.id) == user_id).scalar_subquery()
    return (
        select(func.count())
        .select_from(OrderEvent)
        .join(Order, col(Order.id) == col(OrderEvent.order_id))
        .where(
            col(Order.buyer_id) == user_id,
            col(OrderEvent.to_status) == "payment_failed",
            col(OrderEvent.created_at) >= since,
            or_(saved.is_(None), col(OrderEvent.created_at) >= saved),
        )
        .scalar_subquery()
    )


def recent_charge_failures(*, session: Session, user_id: int, now: datetime | None = None) -> int:
    """The buyer's orders whose charge failed within `CARD_FAILURE_WINDOW`, counting only
    failures after the card now on file was saved (a new card starts afresh)."""
    since = (now or utcnow()) - CARD_FAILURE_WINDOW
    return int(session.exec(select(charge_failures_since(user_id, since))).one())


def blocked_by_failures(failures: int) -> str:
    """Why a buyer with `failures` recent failed charges may not bid or buy, or "" (the rule
    `card_blocked_reason` applies)."""
    if failures >= CARD_FAILURE_LIMIT:
        days = CARD_FAILURE_WINDOW.days
        return (
            f"Your card was declined twice in the last {days} days: update your card in your "
            "account before you bid or buy."
        )
    return ""


def card_blocked_reason(*, session: Session, user_id: int, now: datetime | None = None) -> str:
    """Why this buyer may not bid or buy now, or "" when they may."""
    return blocked_by_failures(recent_charge_failures(session=session, user_id=user_id, now=now))
