"""Size picker: every size with its lowest ask (or "Bid" when nobody is selling), plus "All";
each size in the viewer's size system, its conversions on hover and under the grid; and the
picker of the size system itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

# The size systems a member can read sizes in, as the picker names them (services/sizes.py).
SYSTEM_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("us_m", "US M", "US men's"),
    ("us_w", "US W", "US women's"),
    ("uk", "UK", "UK"),
    ("eu", "EU", "EU"),
    ("cm", "cm", "Centimetres"),
)


def size_system_picker(value: rx.Var, on_change: Any, *, picker_id: str) -> rx.Component:
    """US men's / US women's / UK / EU / cm, as one row of buttons."""
    return rx.segmented_control.root(
        *[
            rx.segmented_control.item(
                name, value=key, id=f"{picker_id}-{key}", title=full_name, aria_label=full_name
            )
            for key, name, full_name in SYSTEM_CHOICES
        ],
        value=value,
        on_change=on_change,
        size="1",
        id=picker_id,
        aria_label="Show sizes in",
    )


def _tile(
    label: rx.Var | str,
    price: rx.Var | str,
    selected: rx.Var,
    on_click: Any,
    *,
    tile_id: str | rx.Var = "",
    has_ask: rx.Var | bool = True,
    title: rx.Var | str = "",
) -> rx.Component:
    return rx.button(
        rx.vstack(
            rx.text(label, size="2", weight="bold"),
            rx.text(
                price,
                size="1",
                weight="medium",
                color=rx.cond(
                    selected, "inherit", rx.cond(has_ask, "var(--green-11)", "var(--gray-11)")
                ),
            ),
            spacing="0",
            align="center",
        ),
        variant=rx.cond(selected, "solid", "surface"),
        color_scheme=rx.cond(selected, "green", "gray"),
        on_click=on_click,
        height="54px",
        width="100%",
        id=tile_id,
        aria_pressed=rx.cond(selected, "true", "false"),
        class_name="size-tile",
        title=title,
    )


def size_picker(
    sizes: rx.Var,
    selected: rx.Var,
    all_price: rx.Var,
    on_select: Callable[[Any], Any],
    *,
    label: Callable[[Any], Any],
    conversions: Any,
) -> rx.Component:
    """`sizes` holds items with `size`, `ask`, `has_ask`; `selected` is "" for all sizes;
    `label(size)` is a size in the viewer's system, `conversions[size]` all its systems."""
    return rx.grid(
        _tile("All", all_price, selected == "", on_select("all"), tile_id="size-all"),
        rx.foreach(
            sizes,
            lambda s: _tile(
                label(s.size),
                s.ask,
                selected == s.size,
                on_select(s.size),
                tile_id=f"size-{s.size}",
                has_ask=s.has_ask,
                title=conversions[s.size],
            ),
        ),
        columns=rx.breakpoints(initial="4", sm="5", md="4", lg="5"),
        spacing="2",
        width="100%",
        role="group",
        aria_label="Sizes",
        id="size-grid",
    )


def size_conversions(selected: rx.Var, conversions: Any, chart_name: rx.Var) -> rx.Component:
    """The chosen size in every system (readable on a phone, where there is no hover)."""
    return rx.text(
        rx.cond(
            selected != "",
            conversions[selected],
            chart_name + ". Pick a size to see it in every system.",
        ),
        size="1",
        color="var(--gray-11)",
        id="size-conversions",
    )
