"""Seller payouts: where a seller is paid (a Stripe Connect account, or details staff pay by
hand), changing it (password and an always-sent notice), and the Connect transfer itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import Exists, exists, update
from sqlmodel import Session, col, select

from sneakers_app.models import Payout, PayoutAccount, User, utcnow
from sneakers_app.services import accounts, notifications
from sneakers_app.services.payments.charges import CONTROL_CHARS, check_amount, check_key
from sneakers_app.services.payments.client import (
    CURRENCY,
    PaymentError,
    stripe_call,
    stripe_client,
)
from sneakers_app.settings import Settings, get_settings

__all__ = [
    "PAYOUT_KINDS",
    "PayoutDetailsSaved",
    "change_payout_details",
    "default_payout_kind",
    "has_payout_account",
    "mask_destination",
    "payout_account_for",
    "save_payout_account",
    "transfer_to_connect_account",
]

PAYOUT_KINDS = ("stripe_connect", "manual")
_CONNECT_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]{1,250}$")


def _clean_text(value: str, *, field: str, min_len: int, max_len: int) -> str:
    raw = value or ""
    if CONTROL_CHARS.search(re.sub(r"[\r\n\t]", " ", raw)):
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


def has_payout_account(user_id: Any) -> Exists:
    """SQL: whether the user has payout details (`payout_account_for`), for a query reading
    more."""
    return exists().where(col(PayoutAccount.user_id) == user_id)


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
    check_amount(amount_cents)
    check_key(idempotency_key)
    if not _CONNECT_ACCOUNT_ID.match(destination or ""):
        raise PaymentError("The seller's payout account is not a Stripe Connect account.")
    with stripe_call("pay the seller"):
        transfer = stripe_client(client).v1.transfers.create(
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
