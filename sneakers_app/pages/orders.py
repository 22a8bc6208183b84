"""/orders and /orders/[order_id]: order list and one order's timeline."""

from __future__ import annotations

import reflex as rx

from components.layout import not_built_yet, page


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
