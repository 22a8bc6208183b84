"""Inbox rows: icon, title, body, time, unread dot; a click opens the notice and marks it read
(the title is a button, for the keyboard; an unread notice offers "Mark read")."""

from __future__ import annotations

import reflex as rx

from sneakers_app import routes
from state.notifications import NotificationRow, NotificationState


def notification_row(row: NotificationRow) -> rx.Component:
    return rx.hstack(
        rx.center(
            rx.icon(row.icon, size=18),
            width="36px",
            height="36px",
            flex_shrink="0",
            border_radius="50%",
            background=rx.cond(row.read, "var(--gray-a3)", "var(--accent-a3)"),
            color=rx.cond(row.read, "var(--gray-11)", "var(--accent-11)"),
        ),
        rx.vstack(
            rx.hstack(
                # A button so the keyboard reaches it and a screen reader names it; its click
                # reaches the row's, which opens the notice.
                rx.el.button(
                    rx.text(row.title, size="2", weight=rx.cond(row.read, "regular", "bold")),
                    type="button",
                    flex="1",
                    min_width="0",
                    padding="0",
                    border="none",
                    background="none",
                    color="inherit",
                    font="inherit",
                    text_align="left",
                    cursor="pointer",
                ),
                rx.text(row.when, size="1", color="var(--gray-11)", white_space="nowrap"),
                width="100%",
                align="baseline",
                spacing="3",
            ),
            rx.text(row.body, size="2", color="var(--gray-11)"),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        rx.cond(
            ~row.read,
            rx.icon_button(
                rx.icon("check", size=14),
                size="1",
                variant="ghost",
                title="Mark read",
                aria_label="Mark read",
                on_click=NotificationState.mark_read(row.id).stop_propagation,
                id=f"mark-read-{row.id}",
                class_name="mark-read",
            ),
        ),
        padding=rx.breakpoints(initial="10px 8px", sm="12px 14px"),
        spacing="3",
        align="start",
        width="100%",
        cursor="pointer",
        border_radius="var(--radius-3)",
        background=rx.cond(row.read, "transparent", "var(--accent-a2)"),
        _hover={"background": "var(--gray-a3)"},
        on_click=NotificationState.open_notification(row.id),
        role="listitem",
        id=f"notification-{row.id}",
        class_name=rx.cond(row.read, "notification read", "notification unread"),
    )


def empty_inbox() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("bell", size=40, color="var(--gray-8)"),
            rx.heading("Your inbox is empty", size="5", as_="h2"),
            rx.text(
                "Matches, outbid alerts, price drops and shipping updates arrive here. "
                "Place a bid or list an ask to get started.",
                color="var(--gray-11)",
                text_align="center",
                max_width="420px",
                size="2",
            ),
            rx.link(rx.button("Browse sneakers", variant="soft"), href=routes.BROWSE),
            align="center",
            spacing="3",
        ),
        padding_y="56px",
        id="inbox-empty",
    )
