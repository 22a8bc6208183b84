"""Pages for a logged-in member whose features arrive with the trading and order issues."""

from __future__ import annotations

import reflex as rx

from components.layout import not_built_yet, page
from state.base import SessionState


def portfolio_page() -> rx.Component:
    return page(
        rx.heading("Portfolio", size="7"),
        not_built_yet(
            "Your collection lives here",
            "Items you buy, pairs you add by hand, their market value and your gains will show "
            "here once trading opens. Nothing is tracked yet.",
            "briefcase",
        ),
    )


def sell_page() -> rx.Component:
    return page(
        rx.heading("Seller dashboard", size="7"),
        not_built_yet(
            "Selling opens with the live order book",
            "Listing asks, pending sales with ship-by dates, payouts and your seller level will "
            "appear here. You cannot list a pair yet.",
            "tag",
        ),
    )


def orders_page() -> rx.Component:
    return page(
        rx.heading("Orders", size="7"),
        not_built_yet(
            "No orders yet",
            "When a bid and an ask match, the order and its journey through authentication "
            "will be tracked here.",
            "package",
        ),
    )


def order_page() -> rx.Component:
    return page(
        rx.heading("Order", size="7"),
        not_built_yet(
            "Order tracking is not available yet",
            "Each order's timeline, fees and tracking numbers will show here.",
            "package-search",
        ),
    )


def notifications_page() -> rx.Component:
    return page(
        rx.heading("Notifications", size="7"),
        not_built_yet(
            "Your inbox is empty",
            "Matches, outbid alerts, price drops and shipping updates will arrive here.",
            "bell",
        ),
    )


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
