"""/sell: the seller dashboard."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from components.listing_parts import edit_listing_dialog, listing_rows
from components.order_parts import empty_state, muted, section, stat
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


def level_card() -> rx.Component:
    s = SellerState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text("Seller level", size="1", color="var(--gray-11)", weight="medium"),
                    rx.heading("Level ", s.level, size="7", id="seller-level"),
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
            rx.progress(value=s.level_progress, size="2", width="100%", id="level-progress"),
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
            rx.text("Levels reset after ", s.quarter_ends, ".", size="1", color="var(--gray-10)"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="level-card",
    )


def analytics_card() -> rx.Component:
    s = SellerState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Analytics", size="4"),
                rx.spacer(),
                rx.segmented_control.root(
                    rx.segmented_control.item("Weekly", value="week"),
                    rx.segmented_control.item("Monthly", value="month"),
                    value=s.period,
                    on_change=s.set_period,
                    size="1",
                    id="analytics-period",
                ),
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
            rx.cond(
                s.units > 0,
                rx.box(
                    rx.plotly(data=s.figure, use_resize_handler=True, width="100%", height="280px"),
                    width="100%",
                    id="sales-chart",
                ),
                empty_state(
                    "chart-column",
                    "Your sales chart starts with your first completed sale",
                    "Revenue, fees and pairs sold per week or month appear here once a buyer "
                    "receives a pair you sold.",
                    id="chart-empty",
                ),
            ),
            rx.text(
                rx.cond(s.period == "week", "Last 12 weeks", "Last 12 months"),
                " of completed sales. Fees are transaction, processing and shipping.",
                size="1",
                color="var(--gray-10)",
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def pending_section() -> rx.Component:
    s = SellerState
    return section(
        "Pending sales",
        rx.cond(
            s.pending.length() > 0,
            rx.vstack(rx.foreach(s.pending, pending_row), spacing="0", width="100%"),
            empty_state(
                "package",
                "Nothing to ship",
                "When a buyer takes one of your asks, the sale appears here with its ship-by "
                "countdown. Ship within 2 business days and mark it shipped with the tracking "
                "number.",
                id="pending-empty",
            ),
        ),
        action=rx.badge(s.pending.length(), " open", variant="soft", radius="full"),
        id="pending-sales",
    )


def asks_section() -> rx.Component:
    s = SellerState
    return section(
        "Active asks",
        rx.cond(
            s.own_listings.length() > 0,
            listing_rows(s, "ask"),
            empty_state(
                "tag",
                "No active asks",
                "List a pair from any product page with Place Ask. Your asks show here with "
                "whether they are the lowest ask for their size.",
                rx.link(rx.button("Find a sneaker to sell", variant="soft"), href=routes.BROWSE),
                id="asks-empty",
            ),
        ),
        action=rx.link(
            rx.button(rx.icon("plus", size=14), "New ask", size="2", variant="soft"),
            href=routes.BROWSE,
        ),
        id="active-asks",
    )


def completed_section() -> rx.Component:
    s = SellerState
    return section(
        "Completed sales",
        rx.cond(
            s.completed.length() > 0,
            rx.vstack(rx.foreach(s.completed, completed_row), spacing="0", width="100%"),
            empty_state(
                "circle-check",
                "No completed sales yet",
                "Sales land here once the buyer receives the pair and your payout is released.",
                id="completed-empty",
            ),
        ),
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
        rx.cond(
            s.payouts.length() > 0,
            rx.vstack(rx.foreach(s.payouts, payout_row), spacing="0", width="100%"),
            empty_state(
                "wallet",
                "No payouts yet",
                "Each completed sale releases a payout to the account in your settings.",
                rx.link(rx.button("Payout settings", variant="soft"), href=routes.ACCOUNT),
                id="payouts-empty",
            ),
        ),
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
    return page(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading("Seller dashboard", size="7"),
                    muted("Your asks, sales to ship, payouts and seller level."),
                    spacing="1",
                ),
                rx.spacer(),
                rx.link(
                    rx.button(rx.icon("list", size=14), "All sales", variant="soft"),
                    href=f"{routes.ORDERS}?tab=selling",
                ),
                width="100%",
                align="end",
                wrap="wrap",
                spacing="3",
            ),
            rx.cond(
                SellerState.loaded,
                _dashboard(),
                rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
            ),
            edit_listing_dialog(SellerState, "ask"),
            ship_dialog(),
            appeal_dialog(),
            accept_dialog(),
            spacing="5",
            width="100%",
        ),
    )


# Registered by the app module with this page.
SELL_ON_LOAD = [SellerState.on_load]
