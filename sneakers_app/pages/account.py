"""/account: profile, addresses, payment method, payout details, preferences."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from state.base import SessionState


def account_page() -> rx.Component:
    return page(
        rx.heading("Account", size="7"),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("circle-user", size=36, color="var(--accent-9)"),
                    rx.vstack(
                        rx.text(SessionState.user_name, size="4", weight="bold", id="account-name"),
                        rx.text(SessionState.user_email, size="2", color="var(--gray-11)"),
                        spacing="0",
                    ),
                    align="center",
                    spacing="3",
                ),
                rx.cond(SessionState.user_is_staff, rx.badge("Staff", color_scheme="purple")),
                rx.separator(size="4"),
                rx.text(
                    "Addresses, payment method, payout details and notification preferences "
                    "will be managed here once buying and selling open.",
                    size="2",
                    color="var(--gray-11)",
                ),
                rx.button(
                    "Log out", variant="soft", color_scheme="red", on_click=SessionState.log_out
                ),
                spacing="3",
                align="start",
            ),
            size="3",
            margin_top="16px",
            max_width="560px",
        ),
    )
