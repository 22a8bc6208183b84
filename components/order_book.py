"""Live order book: bids and asks by price level with quantities; the viewer's own marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from components.a11y import sr_only

SizeLabel = Callable[[Any], Any]


def _us(size: Any) -> Any:
    return "US " + size


def _row(
    level: rx.Var, side: str, show_size: rx.Var, own: rx.Var, size_label: SizeLabel
) -> rx.Component:
    tint = "var(--green-a3)" if side == "bid" else "var(--red-a3)"
    color = "var(--green-11)" if side == "bid" else "var(--red-11)"
    return rx.hstack(
        rx.text(level.price, size="2", weight="bold", color=color, class_name="tabular", flex="1"),
        rx.cond(
            show_size,
            rx.text(size_label(level.size), size="1", color="var(--gray-11)", width="64px"),
        ),
        rx.cond(
            own.contains(level.key),
            rx.badge("You", color_scheme="blue", variant="solid", size="1", radius="full"),
        ),
        rx.text(level.quantity, size="2", class_name="tabular", width="32px", text_align="right"),
        sr_only(" pairs"),
        role="listitem",
        align="center",
        spacing="2",
        padding_x="10px",
        padding_y="5px",
        border_radius="var(--radius-2)",
        background=f"linear-gradient(to left, {tint} {level.bar}, transparent {level.bar})",
        class_name=f"book-row book-{side}",
        width="100%",
    )


def _side(
    title: str,
    side: str,
    levels: rx.Var,
    show_size: rx.Var,
    own: rx.Var,
    empty: str,
    size_label: SizeLabel,
) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(title, size="1", weight="bold", color="var(--gray-11)", flex="1"),
            rx.text("Qty", size="1", color="var(--gray-11)"),
            width="100%",
            padding_x="10px",
        ),
        rx.cond(
            levels.length() > 0,
            rx.vstack(
                rx.foreach(levels, lambda level: _row(level, side, show_size, own, size_label)),
                role="list",
                aria_label=title,
                spacing="1",
                width="100%",
            ),
            rx.center(
                rx.text(empty, size="1", color="var(--gray-11)", text_align="center"),
                padding="18px 8px",
                width="100%",
                border="1px dashed var(--gray-a6)",
                border_radius="var(--radius-3)",
            ),
        ),
        spacing="2",
        width="100%",
        role="region",
        aria_label=title,
        id=f"book-{side}s",
    )


def order_book(
    bids: rx.Var, asks: rx.Var, show_size: rx.Var, own: rx.Var, size_label: SizeLabel = _us
) -> rx.Component:
    """`own`: the keys of the levels that hold the viewer's own orders (marked "You");
    `size_label(size)`: a size as the viewer reads it."""
    return rx.grid(
        _side(
            "Bids (buyers)",
            "bid",
            bids,
            show_size,
            own,
            "No bids yet. Place the first one.",
            size_label,
        ),
        _side(
            "Asks (sellers)",
            "ask",
            asks,
            show_size,
            own,
            "No asks yet. Be the first to list.",
            size_label,
        ),
        columns="2",
        spacing="4",
        width="100%",
    )
