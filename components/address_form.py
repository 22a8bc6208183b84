"""The shipping-address form, shown on the account page and inside the trade dialog.

Every field shows its own message under it, all at once; editing a field clears its message
(the event is sent only while that field shows one). Country is a select of names that submits
the ISO alpha-2 code.
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx
from reflex.event import EventSpec

from components.fields import described_by, field_error, field_label
from state.address_form import COUNTRY_CHOICES

# name, label, placeholder, max length, autocomplete
_TEXT_FIELDS: dict[str, tuple[str, str, int, str]] = {
    "full_name": ("Full name", "Ada Lovelace", 120, "name"),
    "line1": ("Street address", "12 Market Street", 200, "address-line1"),
    "line2": ("Apartment, suite (optional)", "Apt 4B", 200, "address-line2"),
    "city": ("City", "New York", 100, "address-level2"),
    "region": ("State / region", "NY", 100, "address-level1"),
    "postal_code": ("ZIP / postal code", "10001", 10, "postal-code"),
}

# Sized and coloured like the Radix size-3 text fields beside it.
_SELECT_STYLE = {
    "width": "100%",
    "height": "var(--space-7)",
    "padding": "0 var(--space-3)",
    "font_size": "var(--font-size-3)",
    "font_family": "inherit",
    "color": "var(--gray-12)",
    "background": "var(--color-surface)",
    "border_width": "1px",
    "border_style": "solid",
    "border_radius": "var(--radius-2)",
}


# A field with an error gets a red outline (Radix draws the text field's border as this shadow).
_ERROR_RING = "inset 0 0 0 1px var(--red-8)"


def _on_edit(message: rx.Var, on_edit: Callable[[str], EventSpec] | None, name: str) -> object:
    if on_edit is None:
        return None
    return rx.cond(message != "", on_edit(name), rx.noop())


def _labelled(label: str, control: rx.Component, message: rx.Var, id: str) -> rx.Component:
    return rx.vstack(
        field_label(label, id),
        control,
        field_error(message, f"{id}-error"),
        spacing="1",
        width="100%",
    )


def _text_field(
    name: str,
    values: rx.Var,
    errors: rx.Var,
    on_edit: Callable[[str], EventSpec] | None,
    id_prefix: str,
) -> rx.Component:
    label, placeholder, max_length, autocomplete = _TEXT_FIELDS[name]
    message = errors.get(name, "")
    props = {"on_change": _on_edit(message, on_edit, name)} if on_edit else {}
    return _labelled(
        label,
        rx.input(
            name=name,
            placeholder=placeholder,
            default_value=values.get(name, ""),
            max_length=max_length,
            auto_complete=autocomplete,
            size="3",
            width="100%",
            color_scheme=rx.cond(message != "", "red", "gray"),
            box_shadow=rx.cond(message != "", _ERROR_RING, ""),
            id=f"{id_prefix}-{name}",
            **described_by(message, f"{id_prefix}-{name}-error"),
            **props,
        ),
        message,
        f"{id_prefix}-{name}",
    )


def _country_field(
    values: rx.Var,
    errors: rx.Var,
    on_edit: Callable[[str], EventSpec] | None,
    id_prefix: str,
) -> rx.Component:
    message = errors.get("country", "")
    # The ZIP and state rules follow the country: a new one makes their messages stale too.
    shown = message + errors.get("region", "") + errors.get("postal_code", "")
    props = {"on_change": _on_edit(shown, on_edit, "country")} if on_edit else {}
    return _labelled(
        "Country",
        rx.el.select(
            rx.el.option("Choose a country", value="", disabled=True),
            *[rx.el.option(name, value=code) for code, name in COUNTRY_CHOICES],
            name="country",
            default_value=values.get("country", ""),
            auto_complete="country",
            id=f"{id_prefix}-country",
            **described_by(message, f"{id_prefix}-country-error"),
            style=_SELECT_STYLE,
            border_color=rx.cond(message != "", "var(--red-8)", "var(--gray-a7)"),
            **props,
        ),
        message,
        f"{id_prefix}-country",
    )


def address_form(
    *,
    values: rx.Var,
    errors: rx.Var,
    form_error: rx.Var,
    on_submit: Callable[..., EventSpec] | rx.event.EventHandler,
    on_edit: Callable[[str], EventSpec] | None = None,
    id_prefix: str = "address",
    submit_label: str = "Save address",
    actions: rx.Component | None = None,
) -> rx.Component:
    """The form. `values` and `errors` are dict[str, str] vars keyed by the field names
    (full_name, line1, line2, city, region, postal_code, country); `on_submit` gets those keys;
    `on_edit(field)` is sent when a field that shows an error is edited (it should drop that
    field's message); `actions` sits left of the submit button (a Cancel, say). Remount it
    (a `key`, or a dialog that opens) to start again from new `values`."""

    def field(name: str) -> rx.Component:
        return _text_field(name, values, errors, on_edit, id_prefix)

    def pair(*children: rx.Component) -> rx.Component:
        return rx.grid(
            *children, columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%"
        )

    return rx.form(
        rx.vstack(
            field("full_name"),
            field("line1"),
            field("line2"),
            pair(field("city"), field("region")),
            pair(field("postal_code"), _country_field(values, errors, on_edit, id_prefix)),
            field_error(form_error, f"{id_prefix}-error"),
            rx.flex(
                actions if actions is not None else rx.fragment(),
                rx.button(submit_label, type="submit", id=f"{id_prefix}-save"),
                spacing="3",
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        width="100%",
        id=f"{id_prefix}-form",
    )
