"""What the account page shows of the user's own data: each address as a display row, the
stored values of one address for its edit form, the saved card, and each working API key as a
display row. Plain values that state copies into its vars as they are."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from sneakers_app.models import Address, User
from sneakers_app.services import addresses, api_keys, order_views, payments

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "region", "postal_code", "country")


@dataclasses.dataclass
class AddressRow:
    id: int
    full_name: str
    line1: str
    line2: str
    city_line: str
    country: str
    country_name: str
    is_default: bool


def _address_row(a: Address) -> AddressRow:
    region = f", {a.region}" if a.region else ""
    return AddressRow(
        id=a.id or 0,
        full_name=a.full_name,
        line1=a.line1,
        line2=a.line2,
        city_line=f"{a.city}{region} {a.postal_code}",
        country=a.country,
        country_name=addresses.country_name(a.country),
        is_default=a.is_default,
    )


def address_rows(*, session: Session, user_id: int) -> list[AddressRow]:
    """The user's addresses, the default first, then newest first."""
    return [_address_row(a) for a in addresses.list_addresses(session=session, user_id=user_id)]


def address_form(*, session: Session, user_id: int, address_id: int) -> dict[str, str] | None:
    """The stored fields of one of the user's addresses (None: not theirs, or gone)."""
    row = addresses.find_owned(session=session, user_id=user_id, address_id=address_id)
    if row is None:
        return None
    return {name: str(getattr(row, name)) for name in ADDRESS_FIELDS}


def saved_card(*, session: Session, user_id: int) -> payments.CardSummary | None:
    """The card the user can bid and buy with, or None."""
    user = session.get(User, user_id)
    if user is None or not payments.has_payment_method(user):
        return None
    return payments.CardSummary(brand=user.card_brand or "card", last4=user.card_last4 or "")


@dataclasses.dataclass
class ApiKeyRow:
    id: int
    name: str
    prefix: str
    scopes: str
    """ "Read" or "Read and trade"."""
    trades: bool
    created: str
    last_used: str
    """When the key was last used (to the minute), or "never"."""


def api_key_row(key: api_keys.KeyView) -> ApiKeyRow:
    return ApiKeyRow(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes="Read and trade" if api_keys.TRADE in key.scopes else "Read",
        trades=api_keys.TRADE in key.scopes,
        created=order_views.day(key.created_at),
        last_used=order_views.when(key.last_used_at) if key.last_used_at else "never",
    )


def api_key_rows(*, session: Session, user_id: int) -> list[ApiKeyRow]:
    """The user's keys that work (not revoked), newest first."""
    return [api_key_row(k) for k in api_keys.list_keys(session=session, user_id=user_id)]
