"""The navbar's bell: unread count badge, and the starting point of live toasts."""

from __future__ import annotations

import reflex as rx

from sneakers_app import routes
from state.notifications import NotificationState


def notification_bell() -> rx.Component:
    return rx.link(
        rx.box(
            rx.icon("bell", size=20),
            rx.cond(
                NotificationState.unread > 0,
                rx.badge(
                    NotificationState.unread_label,
                    color_scheme="red",
                    variant="solid",
                    radius="full",
                    size="1",
                    position="absolute",
                    top="-8px",
                    right="-10px",
                    id="unread-badge",
                ),
            ),
            position="relative",
            display="flex",
            align_items="center",
            # Every logged-in page starts the watcher; its guard keeps one copy per tab.
            on_mount=NotificationState.watch,
        ),
        href=routes.NOTIFICATIONS,
        color="var(--gray-12)",
        _hover={"color": "var(--accent-11)"},
        aria_label=rx.cond(
            NotificationState.unread > 0,
            "Notifications, " + NotificationState.unread_label + " unread",
            "Notifications",
        ),
        title="Notifications",
        id="nav-notifications",
        padding="6px",
    )
