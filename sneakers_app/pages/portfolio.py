"""/portfolio: items owned, market value, gains, active bids, purchase history."""

from __future__ import annotations

import reflex as rx

from components.layout import not_built_yet, page


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
