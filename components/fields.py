"""Form field parts every form shares: a real `<label for=...>`, the error under a field (announced
when it appears) and the attributes that tie a field to its error and hint.

`rx.text(as_="label", html_for=...)` renders a `<label>` without `for` (Radix Text takes
`htmlFor` as a style), so a field labelled that way has no accessible name: use `field_label`."""

from __future__ import annotations

import reflex as rx

# Radix Themes' own classes for `rx.text(size="2", weight="medium")`, so a label looks as before.
_LABEL_CLASS = "rt-Text rt-r-size-2 rt-r-weight-medium"


def field_label(text: str | rx.Var | rx.Component, for_id: str, **props: object) -> rx.Component:
    """The visible label of the control whose id is `for_id`."""
    return rx.el.label(text, html_for=for_id, class_name=_LABEL_CLASS, **props)


def field_error(message: rx.Var, element_id: str, size: str = "1") -> rx.Component:
    """The error under a field while `message` is not empty; screen readers announce it as it
    appears (`role="alert"` is an assertive live region)."""
    return rx.cond(
        message != "",
        rx.text(
            message,
            size=size,
            color="var(--red-11)",
            id=element_id,
            role="alert",
        ),
    )


def described_by(error: rx.Var, error_id: str, hint_id: str = "") -> dict[str, object]:
    """Props for a field: `aria-describedby` names its error while it shows one (and its hint,
    when it has one), `aria-invalid` says it is wrong. Only ids on the page are named."""
    with_error = f"{error_id} {hint_id}".strip()
    return {
        "aria_describedby": rx.cond(error != "", with_error, hint_id),
        "aria_invalid": rx.cond(error != "", "true", "false"),
    }
