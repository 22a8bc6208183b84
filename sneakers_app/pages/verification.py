"""/verification: the staff console (staff only, checked on the server on load and per action)."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from components.security import enrol_view, second_factor_view
from components.staff_journal import parked_view
from components.staff_order import no_order_selected, order_panel
from components.staff_payouts import payouts_view
from components.staff_queue import queue_list, queue_tabs
from sneakers_app import routes
from state.staff import VerificationState


def denied() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("shield-x", size=40, color="var(--red-9)"),
            rx.heading("Staff only", size="6", id="access-denied"),
            rx.text(
                "The verification console is for our authentication team. "
                "Your account does not have access.",
                color="var(--gray-11)",
                text_align="center",
            ),
            rx.link(rx.button("Back to browsing", variant="soft"), href=routes.BROWSE),
            align="center",
            spacing="3",
        ),
        padding_y="80px",
    )


def queues_view() -> rx.Component:
    return rx.grid(
        rx.box(queue_list(), min_width="0"),
        rx.box(
            rx.cond(VerificationState.selected_id > 0, order_panel(), no_order_selected()),
            min_width="0",
        ),
        columns=rx.breakpoints(initial="1", md="minmax(300px, 380px) 1fr"),
        spacing="4",
        width="100%",
        align_items="start",
    )


def console() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.heading("Verification console", size="7", id="console-title"),
                rx.text(
                    "Receive, inspect and ship every pair; pay sellers whose payout is manual.",
                    size="2",
                    color="var(--gray-11)",
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw", size=14),
                "Refresh",
                variant="soft",
                color_scheme="gray",
                on_click=VerificationState.refresh,
                id="console-refresh",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        queue_tabs(),
        rx.cond(VerificationState.view == "payouts", payouts_view(), queues_view()),
        rx.divider(),
        parked_view(),
        spacing="4",
        width="100%",
    )


def verification_page() -> rx.Component:
    return page(
        rx.match(
            VerificationState.access,
            ("denied", denied()),
            ("second_factor", second_factor_view()),
            ("enrol", enrol_view()),
            ("granted", console()),
            rx.center(rx.spinner(size="3"), padding_y="80px"),
        )
    )
