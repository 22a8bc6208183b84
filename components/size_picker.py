"""Size picker: every size with its lowest ask (or "Bid" when nobody is selling), plus "All"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx


def _tile(
    label: rx.Var | str,
    price: rx.Var | str,
    selected: rx.Var,
    on_click: Any,
    *,
    tile_id: str | rx.Var = "",
    has_ask: rx.Var | bool = True,
) -> rx.Component:
    return rx.button(
        rx.vstack(
            rx.text(label, size="2", weight="bold"),
            rx.text(
                price,
                size="1",
                weight="medium",
                color=rx.cond(
                    selected, "inherit", rx.cond(has_ask, "var(--green-11)", "var(--gray-10)")
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
    )


def size_picker(
    sizes: rx.Var,
    selected: rx.Var,
    all_price: rx.Var,
    on_select: Callable[[Any], Any],
) -> rx.Component:
    """`sizes` holds items with `size`, `ask`, `has_ask`; `selected` is "" for all sizes."""
    return rx.grid(
        _tile("All", all_price, selected == "", on_select("all"), tile_id="size-all"),
        rx.foreach(
            sizes,
            lambda s: _tile(
                f"US {s.size}",
                s.ask,
                selected == s.size,
                on_select(s.size),
                tile_id=f"size-{s.size}",
                has_ask=s.has_ask,
            ),
        ),
        columns=rx.breakpoints(initial="4", sm="5", md="4", lg="5"),
        spacing="2",
        width="100%",
        id="size-grid",
    )
