"""Price history: Plotly line of the daily average sale with volume bars, and range buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from components.plot import plot

RANGES = ("1M", "3M", "6M", "1Y", "All")


def range_picker(value: rx.Var, on_change: Callable[..., Any]) -> rx.Component:
    return rx.segmented_control.root(
        *[rx.segmented_control.item(r, value=r, id=f"range-{r}") for r in RANGES],
        value=value,
        on_change=on_change,
        size="1",
        id="range-picker",
        aria_label="Price history range",
    )


def price_chart(figure: rx.Var, empty: rx.Var) -> rx.Component:
    return rx.cond(
        empty,
        rx.center(
            rx.vstack(
                rx.icon("chart-line", size=28, color="var(--gray-8)"),
                rx.text("No sales in this range yet.", size="2", color="var(--gray-11)"),
                rx.text("Pick a longer range or another size.", size="1", color="var(--gray-11)"),
                align="center",
                spacing="1",
            ),
            height="320px",
            width="100%",
        ),
        rx.box(
            plot(figure, "320px"),
            width="100%",
            id="price-chart",
        ),
    )
