"""A select of the user's saved cards or addresses (the default marked), as the trade dialog
and a paused bid's dialog offer them."""

from __future__ import annotations

import reflex as rx

from state.listing_editor import Choice


def _choice_item(choice: Choice) -> rx.Component:
    return rx.select.item(
        rx.cond(choice.is_default, choice.label + " (default)", choice.label),
        value=choice.id.to_string(),
    )


def choice_select(
    options: rx.Var, value: rx.Var, on_change: rx.EventHandler, empty: str, select_id: str
) -> rx.Component:
    """The options as a select, or `empty` when there are none."""
    return rx.cond(
        options.length() > 0,
        rx.select.root(
            # a long label is cut with an ellipsis, never widens the dialog on a phone
            rx.select.trigger(id=select_id, width="100%", max_width="100%", min_width="0"),
            rx.select.content(rx.foreach(options, _choice_item)),
            value=value,
            on_change=on_change,
        ),
        rx.text(empty, size="1", color="var(--gray-11)", id=f"{select_id}-none"),
    )
