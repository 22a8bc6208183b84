"""/verification: the staff console (staff only; the queue arrives with the order workflow)."""

from __future__ import annotations

import reflex as rx

from components.layout import not_built_yet, page
from sneakers_app import routes
from state.staff import VerificationState


def denied() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("shield-x", size=40, color="var(--red-9)"),
            rx.heading("Staff only", size="6", id="access-denied"),
            rx.text(
                "The verification console is for our authentication team. "
                "Your account does not have access.",
                color="var(--gray-11)",
                text_align="center",
            ),
            rx.link(rx.button("Back to browsing", variant="soft"), href=routes.BROWSE),
            align="center",
            spacing="3",
        ),
        padding_y="80px",
    )


def verification_page() -> rx.Component:
    return page(
        rx.match(
            VerificationState.access,
            ("denied", denied()),
            (
                "granted",
                rx.vstack(
                    rx.heading("Verification console", size="7", id="console-title"),
                    not_built_yet(
                        "The queue is empty",
                        "Orders shipped to the authentication centre will queue here to be "
                        "received, inspected and passed or failed.",
                        "clipboard-check",
                    ),
                    width="100%",
                ),
            ),
            rx.center(rx.spinner(size="3"), padding_y="80px"),
        )
    )
