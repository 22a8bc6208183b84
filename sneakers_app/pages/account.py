"""/account: profile, addresses, payment method, payout details, password and sessions, API
keys, notification preferences."""

from __future__ import annotations

import reflex as rx

from components.account_sections import (
    addresses_section,
    card_section,
    payout_section,
    preferences_section,
    profile_section,
    section,
)
from components.api_keys import api_keys_section
from components.layout import page
from components.security import security_section
from components.size_picker import size_system_picker
from state.account import AccountState
from state.api_keys import ApiKeyState
from state.base import SessionState
from state.security import PasswordChangeState

# Registered by the app module: the page's data, loaded after the session is re-checked.
ACCOUNT_ON_LOAD = [AccountState.on_load, PasswordChangeState.on_load, ApiKeyState.on_load]


def size_system_section() -> rx.Component:
    """The size system every page shows sizes in (saved to the account)."""
    return section(
        "Sizes",
        "How product pages and the trade dialog show sizes; a size typed in search can be in any.",
        "ruler",
        size_system_picker(
            SessionState.size_system, SessionState.set_size_system, picker_id="account-size-system"
        ),
        id="size-system-section",
    )


def account_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading("Account", size="7"),
            rx.cond(
                AccountState.loaded,
                rx.vstack(
                    profile_section(),
                    size_system_section(),
                    rx.grid(
                        card_section(),
                        payout_section(),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="4",
                        width="100%",
                    ),
                    addresses_section(),
                    security_section(),
                    api_keys_section(),
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
