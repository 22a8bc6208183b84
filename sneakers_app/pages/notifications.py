"""/notifications: the inbox."""

from __future__ import annotations

import reflex as rx

from components.layout import not_built_yet, page


def notifications_page() -> rx.Component:
    return page(
        rx.heading("Notifications", size="7"),
        not_built_yet(
            "Your inbox is empty",
            "Matches, outbid alerts, price drops and shipping updates will arrive here.",
            "bell",
        ),
    )
