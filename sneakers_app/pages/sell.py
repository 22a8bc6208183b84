"""/sell: the seller dashboard."""

from __future__ import annotations

import reflex as rx

from components import empty_states
from components.ask_search import new_ask_button, new_ask_dialog
from components.dashboard import (
    chart_or_empty,
    dashboard_card,
    dashboard_page,
    list_or_empty,
    list_section,
    range_switch,
)
from components.listing_parts import edit_listing_dialog, listings_section
from components.order_parts import muted, section, stat
from components.seller_parts import (
    accept_dialog,
    appeal_dialog,
    completed_row,
    payout_row,
    pending_row,
    ship_dialog,
)
from sneakers_app import routes
from state.selling import SellerState

PERIODS = (("Weekly", "week"), ("Monthly", "month"))


def level_card() -> rx.Component:
    s = SellerState
    return dashboard_card(
        rx.hstack(
            rx.vstack(
                rx.text("Seller level", size="1", color="var(--gray-11)", weight="medium"),
                rx.text("Level ", s.level, size="7", weight="bold", id="seller-level"),
                spacing="0",
            ),
            rx.spacer(),
            rx.vstack(
                rx.text("Transaction fee", size="1", color="var(--gray-11)"),
                rx.text(s.level_fee, size="5", weight="bold"),
                spacing="0",
                align="end",
            ),
            width="100%",
            align="center",
        ),
        rx.progress(
            value=s.level_progress,
            size="2",
            width="100%",
            id="level-progress",
            aria_label="Progress to the next level",
        ),
        rx.cond(
            s.next_level > 0,
            rx.text(
                "Level ",
                s.next_level,
                " lowers your fee to ",
                rx.text.strong(s.next_fee),
                ".",
                size="2",
            ),
        ),
        muted(s.level_hint, size="1"),
        rx.separator(size="4"),
        rx.hstack(
            stat("Sales this quarter", s.level_sales.to(str)),
            rx.spacer(),
            stat("Volume", s.level_volume),
            width="100%",
        ),
        rx.text("Levels reset after ", s.quarter_ends, ".", size="1", color="var(--gray-11)"),
        spacing="3",
        role="region",
        aria_label="Seller level",
        id="level-card",
    )


def analytics_card() -> rx.Component:
    s = SellerState
    return dashboard_card(
        rx.hstack(
            rx.heading("Analytics", size="4", as_="h2"),
            rx.spacer(),
            range_switch(PERIODS, s.period, s.set_period, "analytics-period"),
            width="100%",
            align="center",
        ),
        rx.grid(
            stat("Revenue", s.revenue),
            stat("Fees", s.fees),
            stat("Net payouts", s.net),
            stat("Pairs sold", s.units.to(str)),
            columns=rx.breakpoints(initial="2", sm="4"),
            spacing="4",
            width="100%",
            id="analytics-totals",
        ),
        chart_or_empty(s.units > 0, s.figure, "280px", "sales-chart", empty_states.NO_SALES_CHART),
        rx.text(
            rx.cond(s.period == "week", "Last 12 weeks", "Last 12 months"),
            " of completed sales. Fees are transaction, processing and shipping.",
            size="1",
            color="var(--gray-11)",
        ),
    )


def pending_section() -> rx.Component:
    s = SellerState
    count = rx.badge(s.pending.length(), " open", variant="soft", radius="full")
    return list_section(
        "Pending sales",
        s.pending,
        pending_row,
        empty_states.NOTHING_TO_SHIP,
        action=count,
        id="pending-sales",
    )


def asks_section() -> rx.Component:
    return listings_section(
        SellerState,
        "ask",
        "Active asks",
        empty_states.NO_ASKS,
        action=new_ask_button(),
        id="active-asks",
    )


def completed_section() -> rx.Component:
    s = SellerState
    return list_section(
        "Completed sales",
        s.completed,
        completed_row,
        empty_states.NO_COMPLETED,
        id="completed-sales",
    )


def payouts_section() -> rx.Component:
    s = SellerState
    return section(
        "Payouts",
        rx.hstack(
            stat("Pending", s.pending_payout_total),
            stat("Paid", s.paid_payout_total),
            spacing="6",
        ),
        list_or_empty(s.payouts, payout_row, empty_states.NO_PAYOUTS),
        id="payouts",
    )


def _dashboard() -> rx.Component:
    return rx.vstack(
        rx.grid(
            level_card(),
            analytics_card(),
            columns=rx.breakpoints(initial="1fr", md="1fr 2fr"),
            spacing="4",
            width="100%",
        ),
        pending_section(),
        asks_section(),
        rx.grid(
            completed_section(),
            payouts_section(),
            columns=rx.breakpoints(initial="1fr", md="1fr 1fr"),
            spacing="4",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def sell_page() -> rx.Component:
    return dashboard_page(
        "Seller dashboard",
        "Your asks, sales to ship, payouts and seller level.",
        SellerState.loaded,
        _dashboard(),
        edit_listing_dialog(SellerState, "ask"),
        ship_dialog(),
        appeal_dialog(),
        accept_dialog(),
        new_ask_dialog(),
        aside=rx.link(
            rx.button(rx.icon("list", size=14), "All sales", variant="soft"),
            href=f"{routes.ORDERS}?tab=selling",
        ),
    )


# Registered by the app module with this page.
SELL_ON_LOAD = [SellerState.on_load]
