"""The 404 page for any unknown route."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from sneakers_app import routes


def not_found_page() -> rx.Component:
    return page(
        rx.center(
            rx.vstack(
                rx.text("404", size="9", weight="bold", color="var(--gray-11)"),
                rx.heading("This page doesn't exist", size="5"),
                rx.link(rx.button("Browse sneakers"), href=routes.BROWSE),
                align="center",
                spacing="3",
            ),
            padding_y="80px",
        )
    )
