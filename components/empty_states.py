"""What each list and chart of the member's dashboards (portfolio, seller dashboard) says while
it is still empty, and the way out it offers."""

from __future__ import annotations

import reflex as rx

from components.dashboard import Empty
from sneakers_app import routes
from state.ask_search import AskSearchState
from state.portfolio import PortfolioState

# --- portfolio ------------------------------------------------------------------------------

NO_VALUE = Empty(
    icon="chart-line",
    title="Your value over time starts with your first pair",
    text="Add a pair you own, or buy one here, and its market value is charted day by day from "
    "real sales of its size.",
    id="value-empty",
)
NO_PAIRS = Empty(
    icon="briefcase",
    title="No pairs in your portfolio yet",
    text="Pairs you buy here are added when they are delivered. Add pairs you already own to see "
    "what they are worth today.",
    id="holdings-empty",
    action=rx.button(
        rx.icon("plus", size=14),
        "Add a pair",
        variant="soft",
        on_click=PortfolioState.open_add,
        id="add-item-empty",
    ),
)
NO_BIDS = Empty(
    icon="hand-coins",
    title="No active bids",
    text="Place a bid on any size from a product page. It shows here with whether it is the "
    "highest bid or has been outbid.",
    id="bids-empty",
    action=rx.link(rx.button("Browse sneakers", variant="soft"), href=routes.BROWSE),
)
NO_PURCHASES = Empty(
    icon="receipt",
    title="No purchases yet",
    text="Every pair you buy here is listed with its order status, from the match to delivery.",
    id="history-empty",
)

# --- seller dashboard -----------------------------------------------------------------------

NO_SALES_CHART = Empty(
    icon="chart-column",
    title="Your sales chart starts with your first completed sale",
    text="Revenue, fees and pairs sold per week or month appear here once a buyer receives a "
    "pair you sold.",
    id="chart-empty",
)
NOTHING_TO_SHIP = Empty(
    icon="package",
    title="Nothing to ship",
    text="When a buyer takes one of your asks, the sale appears here with its ship-by countdown. "
    "Ship within 2 business days and mark it shipped with the tracking number.",
    id="pending-empty",
)
NO_ASKS = Empty(
    icon="tag",
    title="No active asks",
    text="List a pair from any product page with Place Ask. Your asks show here with whether "
    "they are the lowest ask for their size.",
    id="asks-empty",
    # The New-ask search (its dialog is on the seller dashboard), not the whole catalog.
    action=rx.button(
        rx.icon("search", size=14),
        "Find a sneaker to sell",
        variant="soft",
        on_click=AskSearchState.set_open(True),
        id="asks-empty-find",
    ),
)
NO_COMPLETED = Empty(
    icon="circle-check",
    title="No completed sales yet",
    text="Sales land here once the buyer receives the pair and your payout is released.",
    id="completed-empty",
)
NO_PAYOUTS = Empty(
    icon="wallet",
    title="No payouts yet",
    text="Each completed sale releases a payout to the account in your settings.",
    id="payouts-empty",
    action=rx.link(rx.button("Payout settings", variant="soft"), href=routes.ACCOUNT),
)
