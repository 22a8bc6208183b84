"""/ : the catalog grid with full-text search and a brand filter."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from components.product_card import product_card
from state.catalog import BrowseState


def search_bar() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                name="q",
                placeholder="Search brand, model, colorway or style code",
                default_value=BrowseState.query,
                key=BrowseState.query,
                max_length=200,
                size="3",
                width="100%",
                id="search-input",
            ),
            rx.select.root(
                rx.select.trigger(placeholder="All brands", id="brand-filter"),
                rx.select.content(
                    rx.select.item("All brands", value="all"),
                    rx.foreach(BrowseState.brands, lambda b: rx.select.item(b, value=b)),
                ),
                value=rx.cond(BrowseState.brand == "", "all", BrowseState.brand),
                on_change=BrowseState.set_brand_filter,
                size="3",
            ),
            rx.button("Search", type="submit", size="3", id="search-submit"),
            width="100%",
            spacing="2",
            class_name="search-row",
        ),
        on_submit=BrowseState.search,
        reset_on_submit=False,
        width="100%",
    )


def empty_results() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=36, color="var(--gray-9)"),
            rx.heading("No sneakers match that search", size="4"),
            rx.text("Try a brand, a model name or a style code.", color="var(--gray-11)"),
            rx.button("Clear search", variant="soft", on_click=BrowseState.clear_filters),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
        id="no-results",
    )


def browse_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.vstack(
                rx.heading(
                    "Buy and sell authentic sneakers",
                    size=rx.breakpoints(initial="7", md="8"),
                    weight="bold",
                ),
                rx.text(
                    "Live bids and asks for every size. Every pair verified before it ships.",
                    size="3",
                    color="var(--gray-11)",
                ),
                spacing="1",
            ),
            search_bar(),
            rx.text(BrowseState.result_label, size="2", color="var(--gray-10)", id="result-count"),
            rx.cond(
                BrowseState.loaded & (BrowseState.cards.length() == 0),
                empty_results(),
                rx.grid(
                    rx.foreach(BrowseState.cards, product_card),
                    columns=rx.breakpoints(initial="2", sm="3", md="4"),
                    spacing="4",
                    width="100%",
                    id="product-grid",
                ),
            ),
            spacing="5",
            width="100%",
        )
    )
