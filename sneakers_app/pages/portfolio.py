"""/portfolio: items owned, market value, gains, active bids, purchase history."""

from __future__ import annotations

import reflex as rx

from components import empty_states
from components.a11y import trend_word
from components.dashboard import (
    chart_or_empty,
    dashboard_card,
    dashboard_page,
    list_section,
    range_switch,
)
from components.listing_parts import (
    edit_listing_dialog,
    listings_section,
    resume_listing_dialog,
)
from components.order_parts import NUM, order_row
from components.portfolio_parts import add_item_dialog, holding_row, trend_color
from sneakers_app import routes
from state.portfolio import PortfolioState

RANGES = (("1M", "30"), ("3M", "90"), ("1Y", "365"))


def _value_headline() -> rx.Component:
    s = PortfolioState
    return rx.hstack(
        rx.vstack(
            rx.text("Market value", size="2", color="var(--gray-11)", weight="medium"),
            rx.text(s.total_value, size="8", weight="bold", style=NUM, id="total-value"),
            rx.hstack(
                rx.text(
                    trend_word(s.total_trend),
                    s.total_gain,
                    " (",
                    s.total_gain_pct,
                    ")",
                    size="3",
                    weight="bold",
                    color=trend_color(s.total_trend),
                    style=NUM,
                    id="total-gain",
                ),
                rx.text("all time", size="2", color="var(--gray-11)"),
                spacing="2",
                align="baseline",
            ),
            spacing="1",
        ),
        rx.spacer(),
        rx.cond(
            s.item_count > 0,
            range_switch(RANGES, s.days, s.set_days, "value-range"),
        ),
        width="100%",
        align="start",
        wrap="wrap",
    )


def summary_card() -> rx.Component:
    s = PortfolioState
    return dashboard_card(
        _value_headline(),
        chart_or_empty(s.item_count > 0, s.figure, "260px", "value-chart", empty_states.NO_VALUE),
        rx.grid(
            rx.vstack(
                rx.text("Pairs", size="1", color="var(--gray-11)"),
                rx.text(s.item_count, size="4", weight="bold"),
                spacing="0",
            ),
            rx.vstack(
                rx.text("Paid", size="1", color="var(--gray-11)"),
                rx.text(s.total_cost, size="4", weight="bold", style=NUM),
                spacing="0",
            ),
            rx.vstack(
                rx.text("Active bids", size="1", color="var(--gray-11)"),
                rx.text(s.own_listings.length(), size="4", weight="bold"),
                spacing="0",
            ),
            columns="3",
            spacing="4",
            width="100%",
        ),
    )


def holdings_section() -> rx.Component:
    s = PortfolioState
    add = rx.button(
        rx.icon("plus", size=14), "Add a pair", size="2", on_click=s.open_add, id="add-item"
    )
    return list_section(
        "Your pairs", s.holdings, holding_row, empty_states.NO_PAIRS, action=add, id="holdings"
    )


def history_section() -> rx.Component:
    return list_section(
        "Purchase history",
        PortfolioState.history,
        order_row,
        empty_states.NO_PURCHASES,
        spacing="1",
        action=rx.link(rx.text("All orders", size="2"), href=routes.ORDERS),
        id="purchase-history",
    )


def bids_section() -> rx.Component:
    return listings_section(
        PortfolioState, "bid", "Active bids", empty_states.NO_BIDS, id="active-bids"
    )


def portfolio_page() -> rx.Component:
    return dashboard_page(
        "Portfolio",
        "What your collection is worth, valued at the last sale of each size.",
        PortfolioState.loaded,
        rx.vstack(
            summary_card(),
            holdings_section(),
            bids_section(),
            history_section(),
            spacing="4",
            width="100%",
        ),
        add_item_dialog(),
        edit_listing_dialog(PortfolioState, "bid"),
        resume_listing_dialog(PortfolioState),
    )


# Registered by the app module with this page.
PORTFOLIO_ON_LOAD = [PortfolioState.on_load]
