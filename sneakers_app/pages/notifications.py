"""/notifications: the inbox, newest first, with paging and mark read."""

from __future__ import annotations

import reflex as rx

from components.a11y import named_list
from components.layout import page
from components.notification_list import empty_inbox, notification_row
from sneakers_app import routes
from state.notifications import NotificationState

# Registered by the app module: the inbox's first page, after the session is re-checked.
NOTIFICATIONS_ON_LOAD = [NotificationState.on_load]


def inbox() -> rx.Component:
    return rx.card(
        rx.cond(
            NotificationState.items.length() > 0,
            rx.vstack(
                named_list(
                    rx.foreach(NotificationState.items, notification_row),
                    name="Notifications",
                    spacing="1",
                    width="100%",
                    id="inbox",
                ),
                rx.cond(
                    NotificationState.has_more,
                    rx.center(
                        rx.button(
                            "Show older",
                            variant="soft",
                            color_scheme="gray",
                            on_click=NotificationState.load_more,
                            id="load-more",
                        ),
                        width="100%",
                        padding_top="8px",
                    ),
                ),
                width="100%",
                spacing="2",
            ),
            empty_inbox(),
        ),
        size="2",
        width="100%",
    )


def notifications_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    rx.heading("Notifications", size="7"),
                    rx.text(
                        rx.cond(
                            NotificationState.unread > 0,
                            NotificationState.unread_label + " unread",
                            "You're all caught up",
                        ),
                        size="2",
                        color="var(--gray-11)",
                        id="unread-summary",
                    ),
                    spacing="1",
                ),
                rx.spacer(),
                rx.hstack(
                    rx.link(
                        rx.button(rx.icon("settings-2", size=14), "Preferences", variant="ghost"),
                        href=routes.NOTIFICATION_PREFERENCES,
                    ),
                    rx.button(
                        rx.icon("check-check", size=14),
                        "Mark all read",
                        variant="soft",
                        on_click=NotificationState.mark_all_read,
                        disabled=NotificationState.unread == 0,
                        id="mark-all-read",
                    ),
                    spacing="3",
                    align="center",
                ),
                align="center",
                spacing="3",
                width="100%",
                wrap="wrap",
            ),
            rx.cond(
                NotificationState.inbox_error != "",
                rx.callout(
                    NotificationState.inbox_error, icon="triangle-alert", color_scheme="red"
                ),
            ),
            rx.cond(
                NotificationState.loaded,
                inbox(),
                rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
            ),
            spacing="4",
            width="100%",
        ),
        max_width="760px",
    )
