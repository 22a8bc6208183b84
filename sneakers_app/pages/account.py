"""/account: profile, addresses, payment method, payout details, notification preferences."""

from __future__ import annotations

import reflex as rx

from components.account_sections import (
    addresses_section,
    card_section,
    payout_section,
    preferences_section,
    profile_section,
)
from components.layout import page
from components.security import security_section
from state.account import AccountState
from state.security import PasswordChangeState

# Registered by the app module: the page's data, loaded after the session is re-checked.
ACCOUNT_ON_LOAD = [AccountState.on_load, PasswordChangeState.on_load]


def account_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading("Account", size="7"),
            rx.cond(
                AccountState.loaded,
                rx.vstack(
                    profile_section(),
                    rx.grid(
                        card_section(),
                        payout_section(),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="4",
                        width="100%",
                    ),
                    addresses_section(),
                    security_section(),
                    preferences_section(),
                    spacing="4",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
            ),
            spacing="4",
            width="100%",
        ),
        max_width="960px",
    )
