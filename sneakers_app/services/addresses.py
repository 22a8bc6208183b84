"""Shipping addresses: where a buyer's pairs go and where a failed pair returns to a seller.

A user keeps up to `MAX_ADDRESSES`; exactly one of them is the default whenever they have any
(the first one added becomes it, and deleting the default promotes the newest remaining one).
Every function takes the owner's id and looks the row up again, so an address id from the
browser can never reach somebody else's address: missing and not-yours read the same.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import pycountry
from sqlalchemy import ColumnElement, ScalarSelect
from sqlmodel import Session, col, select

from sneakers_app.models import Address

MAX_ADDRESSES = 10
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# The fields in the order the form shows them: the first error is the one a reader meets first.
_FORM_ORDER = ("full_name", "line1", "line2", "city", "region", "postal_code", "country")
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_POSTAL = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,9}$")


class AddressError(Exception):
    """A refusal with a message for the person. `errors` maps each form field that is wrong to
    its message (every one at once, so the form can show them all); `field` and `message` are
    the first of them, or the one refusal that belongs to no field (`field` is then "")."""

    def __init__(self, message: str, field: str = "", errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        one = {field: message} if field else {}
        self.errors: dict[str, str] = dict(errors) if errors else one

    @classmethod
    def of_fields(cls, errors: dict[str, str]) -> AddressError:
        field, message = next(iter(errors.items()))
        return cls(message, field, errors)


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """Every ISO 3166-1 country as (alpha-2 code, the name people use), sorted by that name the
    way a reader expects ("Åland Islands" next to "Albania", "South Korea" under S)."""

    def sort_key(choice: tuple[str, str]) -> str:
        folded = unicodedata.normalize("NFKD", choice[1])
        return "".join(c for c in folded if not unicodedata.combining(c)).casefold()

    choices = [
        (country.alpha_2, getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    ]
    return tuple(sorted(choices, key=sort_key))


def country_name(code: str) -> str:
    """The name shown for a stored code ("GB" -> "United Kingdom"); the code itself when
    pycountry does not know it (an address saved before countries came from the list)."""
    return dict(country_choices()).get(code, code)


@dataclass(frozen=True, kw_only=True)
class AddressInput:
    """What a person typed, untrusted; `clean()` returns a normalised copy or refuses."""

    full_name: str
    line1: str
    city: str
    postal_code: str
    line2: str = ""
    region: str = ""
    country: str = "US"

    def clean(self) -> AddressInput:
        """Checks every field and refuses with all of their errors at once."""
        errors: dict[str, str] = {}

        def text(field: str, label: str, min_len: int, max_len: int) -> str:
            try:
                return _text(getattr(self, field), field, label, min_len, max_len)
            except AddressError as error:
                errors[field] = error.message
                return ""

        full_name = text("full_name", "Full name", 2, 120)
        line1 = text("line1", "Street address", 3, 200)
        line2 = text("line2", "Apartment, suite", 0, 200)
        city = text("city", "City", 2, 100)
        country = _country(self.country, errors)
        postal = text("postal_code", "Postal code", 2, 10).upper()
        if postal and country == "US" and not _US_ZIP.match(postal):
            errors["postal_code"] = "A US ZIP code has 5 digits, like 10001."
        elif postal and country != "US" and not _POSTAL.match(postal):
            errors["postal_code"] = "Enter the postal code in letters and digits."
        region = text("region", "State / region", 0, 100).upper()
        if country == "US" and "region" not in errors and not re.fullmatch(r"[A-Z]{2}", region):
            errors["region"] = "Use the two-letter state code, like NY."
        if errors:
            raise AddressError.of_fields({f: errors[f] for f in _FORM_ORDER if f in errors})
        return AddressInput(
            full_name=full_name,
            line1=line1,
            line2=line2,
            city=city,
            region=region,
            postal_code=postal,
            country=country,
        )


def _country(value: object, errors: dict[str, str]) -> str:
    """An ISO 3166-1 alpha-2 code pycountry knows ("gb" -> "GB"); anything else is refused."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not code:
        errors["country"] = "Choose the country."
    elif len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        errors["country"] = "Choose a country from the list."
    return code


def _text(value: object, field: str, label: str, min_len: int, max_len: int) -> str:
    raw = value if isinstance(value, str) else ""
    if len(raw) > max_len * 4:
        raise AddressError(f"{label} is too long.", field)
    if _CONTROL_CHARS.search(raw.replace("\t", " ")):
        raise AddressError(f"{label} contains characters that are not allowed.", field)
    text = " ".join(raw.split())
    if min_len and not text:
        raise AddressError(f"Enter the {label.lower()}.", field)
    if len(text) < min_len:
        raise AddressError(f"{label} is too short.", field)
    if len(text) > max_len:
        raise AddressError(f"{label} must be at most {max_len} characters.", field)
    return text


def list_addresses(*, session: Session, user_id: int) -> list[Address]:
    """The default first, then newest first."""
    return list(
        session.exec(
            select(Address)
            .where(Address.user_id == user_id)
            .order_by(col(Address.is_default).desc(), col(Address.id).desc())
        ).all()
    )


def _owned(session: Session, user_id: int, address_id: int) -> Address:
    if isinstance(address_id, bool) or not isinstance(address_id, int):
        raise AddressError("Address not found.")
    address = session.get(Address, address_id)
    if address is None or address.user_id != user_id:
        raise AddressError("Address not found.")
    return address


def find_owned(*, session: Session, user_id: int, address_id: int) -> Address | None:
    """One of the user's addresses, or None (missing and not-yours read the same)."""
    try:
        return _owned(session, user_id, address_id)
    except AddressError:
        return None


def _make_default(session: Session, user_id: int, address: Address) -> None:
    for other in list_addresses(session=session, user_id=user_id):
        if other.id != address.id and other.is_default:
            other.is_default = False
            session.add(other)
    address.is_default = True
    session.add(address)


def add_address(
    *, session: Session, user_id: int, data: AddressInput, make_default: bool = False
) -> Address:
    clean = data.clean()
    existing = list_addresses(session=session, user_id=user_id)
    if len(existing) >= MAX_ADDRESSES:
        raise AddressError(f"You can keep up to {MAX_ADDRESSES} addresses; delete one first.")
    address = Address(
        user_id=user_id,
        full_name=clean.full_name,
        line1=clean.line1,
        line2=clean.line2,
        city=clean.city,
        region=clean.region,
        postal_code=clean.postal_code,
        country=clean.country,
    )
    session.add(address)
    session.flush()
    if make_default or not existing:
        _make_default(session, user_id, address)
    session.flush()
    return address


def update_address(
    *,
    session: Session,
    user_id: int,
    address_id: int,
    data: AddressInput,
    make_default: bool = False,
) -> Address:
    address = _owned(session, user_id, address_id)
    clean = data.clean()
    for name, value in _fields(clean).items():
        setattr(address, name, value)
    session.add(address)
    if make_default:
        _make_default(session, user_id, address)
    session.flush()
    return address


def set_default(*, session: Session, user_id: int, address_id: int) -> Address:
    address = _owned(session, user_id, address_id)
    _make_default(session, user_id, address)
    session.flush()
    return address


def delete_address(*, session: Session, user_id: int, address_id: int) -> None:
    address = _owned(session, user_id, address_id)
    was_default = address.is_default
    session.delete(address)
    session.flush()
    if was_default:
        remaining = list_addresses(session=session, user_id=user_id)
        if remaining:
            _make_default(session, user_id, remaining[0])
            session.flush()


def default_address(*, session: Session, user_id: int) -> Address | None:
    return session.exec(select(Address).where(*_is_default(user_id))).first()


def _is_default(user_id: Any) -> tuple[ColumnElement[bool], ...]:
    return col(Address.user_id) == user_id, col(Address.is_default).is_(True)


def default_address_id(user_id: Any) -> ScalarSelect[int | None]:
    """SQL for the id of the user's default address (`default_address`), for a query reading
    more."""
    return select(col(Address.id)).where(*_is_default(user_id)).limit(1).scalar_subquery()


def _fields(data: AddressInput) -> dict[str, str]:
    return {
        "full_name": data.full_name,
        "line1": data.line1,
        "line2": data.line2,
        "city": data.city,
        "region": data.region,
        "postal_code": data.postal_code,
        "country": data.country,
    }


@dataclass(frozen=True, kw_only=True)
class AddressSnapshot:
    """An address as it was when an order was made: stored on the order as JSON, so a later
    edit or deletion in the address book never moves a pair in transit. The one encoder and
    decoder of `Order.buyer_address` / `Order.seller_address`."""

    full_name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def of(cls, address: Address) -> AddressSnapshot:
        return cls(
            full_name=address.full_name,
            line1=address.line1,
            line2=address.line2 or "",
            city=address.city,
            region=address.region or "",
            postal_code=address.postal_code,
            country=address.country,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> AddressSnapshot | None:
        """The snapshot stored on an order, or None when there is none ("" or unreadable)."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        fields = {name: data.get(name, "") for name in cls.__dataclass_fields__}
        return cls(**{k: v if isinstance(v, str) else "" for k, v in fields.items()})

    def lines(self) -> list[str]:
        """The address as printed on a label or shown on a page, one line each, blanks left out."""
        city_line = " ".join(part for part in (self.region, self.postal_code) if part)
        city_line = ", ".join(part for part in (self.city, city_line) if part)
        return [
            line
            for line in (self.full_name, self.line1, self.line2, city_line, self.country)
            if line
        ]


def snapshot_json(address: Address | None) -> str:
    """What an order stores for this address ("" for none)."""
    return AddressSnapshot.of(address).to_json() if address is not None else ""
