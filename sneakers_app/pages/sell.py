"""/sell: the seller dashboard."""

from __future__ import annotations

import reflex as rx

from components.layout import not_built_yet, page


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
