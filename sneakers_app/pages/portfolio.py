"""/portfolio: items owned, market value, gains, active bids, purchase history."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from components.listing_parts import edit_listing_dialog, listing_rows
from components.order_parts import NUM, empty_state, muted, order_row, section
from components.portfolio_parts import add_item_dialog, holding_row, trend_color
from sneakers_app import routes
from state.portfolio import PortfolioState


def summary_card() -> rx.Component:
    s = PortfolioState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text("Market value", size="2", color="var(--gray-11)", weight="medium"),
                    rx.text(s.total_value, size="8", weight="bold", style=NUM, id="total-value"),
                    rx.hstack(
                        rx.text(
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
                    rx.segmented_control.root(
                        rx.segmented_control.item("1M", value="30"),
                        rx.segmented_control.item("3M", value="90"),
                        rx.segmented_control.item("1Y", value="365"),
                        value=s.days,
                        on_change=s.set_days,
                        size="1",
                        id="value-range",
                    ),
                ),
                width="100%",
                align="start",
                wrap="wrap",
            ),
            rx.cond(
                s.item_count > 0,
                rx.box(
                    rx.plotly(data=s.figure, use_resize_handler=True, width="100%", height="260px"),
                    width="100%",
                    id="value-chart",
                ),
                empty_state(
                    "chart-line",
                    "Your value over time starts with your first pair",
                    "Add a pair you own, or buy one here, and its market value is charted "
                    "day by day from real sales of its size.",
                    id="value-empty",
                ),
            ),
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
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def holdings_section() -> rx.Component:
    s = PortfolioState
    return section(
        "Your pairs",
        rx.cond(
            s.holdings.length() > 0,
            rx.vstack(rx.foreach(s.holdings, holding_row), spacing="0", width="100%"),
            empty_state(
                "briefcase",
                "No pairs in your portfolio yet",
                "Pairs you buy here are added when they are delivered. Add pairs you already "
                "own to see what they are worth today.",
                rx.button(
                    rx.icon("plus", size=14),
                    "Add a pair",
                    variant="soft",
                    on_click=s.open_add,
                    id="add-item-empty",
                ),
                id="holdings-empty",
            ),
        ),
        action=rx.button(
            rx.icon("plus", size=14), "Add a pair", size="2", on_click=s.open_add, id="add-item"
        ),
        id="holdings",
    )


def bids_section() -> rx.Component:
    s = PortfolioState
    return section(
        "Active bids",
        rx.cond(
            s.own_listings.length() > 0,
            listing_rows(s, "bid"),
            empty_state(
                "hand-coins",
                "No active bids",
                "Place a bid on any size from a product page. It shows here with whether it "
                "is the highest bid or has been outbid.",
                rx.link(rx.button("Browse sneakers", variant="soft"), href=routes.BROWSE),
                id="bids-empty",
            ),
        ),
        id="active-bids",
    )


def history_section() -> rx.Component:
    s = PortfolioState
    return section(
        "Purchase history",
        rx.cond(
            s.history.length() > 0,
            rx.vstack(rx.foreach(s.history, order_row), spacing="1", width="100%"),
            empty_state(
                "receipt",
                "No purchases yet",
                "Every pair you buy here is listed with its order status, from the match to "
                "delivery.",
                id="history-empty",
            ),
        ),
        action=rx.link(rx.text("All orders", size="2"), href=routes.ORDERS),
        id="purchase-history",
    )


def portfolio_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.vstack(
                rx.heading("Portfolio", size="7"),
                muted("What your collection is worth, valued at the last sale of each size."),
                spacing="1",
            ),
            rx.cond(
                PortfolioState.loaded,
                rx.vstack(
                    summary_card(),
                    holdings_section(),
                    bids_section(),
                    history_section(),
                    spacing="4",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
            ),
            add_item_dialog(),
            edit_listing_dialog(PortfolioState, "bid"),
            spacing="5",
            width="100%",
        ),
    )


# Registered by the app module with this page.
PORTFOLIO_ON_LOAD = [PortfolioState.on_load]
