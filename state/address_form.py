"""The address form's data for any state that shows it (the account page, the trade dialog):
the country list, an empty form, the typed values read off a submit, and a refusal turned into
the messages each field shows. The rules themselves are `services.addresses`."""

from __future__ import annotations

from typing import Any

from sneakers_app.services.account_page import ADDRESS_FIELDS
from sneakers_app.services.addresses import AddressError, AddressInput, country_choices

# (ISO alpha-2 code, name) for the country select, sorted by name; the code is what is stored.
COUNTRY_CHOICES: tuple[tuple[str, str], ...] = country_choices()
DEFAULT_COUNTRY = "US"
MAX_FIELD = 300


def blank_address_form() -> dict[str, str]:
    return {name: "" for name in ADDRESS_FIELDS} | {"country": DEFAULT_COUNTRY}


def typed_address(form_data: Any) -> dict[str, str]:
    """The form's fields as short strings, whatever the browser sent."""
    data = form_data if isinstance(form_data, dict) else {}
    return {name: str(data.get(name, "") or "")[:MAX_FIELD] for name in ADDRESS_FIELDS}


def address_input(values: dict[str, str]) -> AddressInput:
    return AddressInput(**values)


def refusal_messages(error: AddressError) -> tuple[dict[str, str], str]:
    """(message per field, a message that belongs to no field)."""
    if error.errors:
        return dict(error.errors), ""
    return {}, error.message


# The ZIP and state rules follow the country: another country makes their messages stale.
_DEPENDS_ON = {"country": ("country", "region", "postal_code")}


def without_error(errors: dict[str, str], field: object) -> dict[str, str]:
    """The errors once the person edits `field` again (unknown names change nothing)."""
    if not isinstance(field, str):
        return errors
    stale = _DEPENDS_ON.get(field, (field,))
    return {name: message for name, message in errors.items() if name not in stale}
