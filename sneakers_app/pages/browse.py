"""/ : the catalog grid: full-text search, filters, sort, live prices; the query is the URL."""

from __future__ import annotations

import reflex as rx

from components.fields import described_by, field_error
from components.layout import page
from components.product_card import product_card
from state.catalog import SORT_LABELS, BrowseState


def select_filter(
    name: str, label: str, placeholder: str, options: rx.Var, value: rx.Var
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(
            placeholder=placeholder, id=f"{name}-filter", min_width="120px", aria_label=label
        ),
        rx.select.content(
            rx.select.item(placeholder, value="all"),
            rx.foreach(options, lambda o: rx.select.item(o, value=o)),
        ),
        value=rx.cond(value == "", "all", value),
        on_change=lambda v: BrowseState.set_filter(name, v),
        size="2",
    )


def text_filter(
    name: str, placeholder: str, value: rx.Var, width: str, box_id: str, **props: object
) -> rx.Component:
    """A filter typed in a box, sent with the search form (and kept in the URL)."""
    return rx.input(
        name=name,
        placeholder=placeholder,
        default_value=value,
        key=value + name,
        width=width,
        id=box_id,
        **props,
    )


def size_filter() -> rx.Component:
    """A size typed in any system ("UK 9", "EU 44", "28 cm"), with suggestions in the
    member's own."""
    return rx.fragment(
        text_filter(
            "size",
            "Size: US 10, UK 9, EU 44",
            BrowseState.size,
            "170px",
            "size-filter",
            max_length=20,
            custom_attrs={"list": "size-options"},
            aria_label="Size, in any system",
            **described_by(BrowseState.size_error, "size-error"),
        ),
        rx.el.datalist(
            rx.foreach(BrowseState.size_options, lambda o: rx.el.option(value=o)),
            id="size-options",
        ),
    )


def filters() -> rx.Component:
    return rx.form(
        rx.vstack(
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
                    aria_label="Search sneakers",
                ),
                rx.button("Search", type="submit", size="3", id="search-submit"),
                width="100%",
                spacing="2",
            ),
            rx.hstack(
                select_filter(
                    "brand", "Brand", "All brands", BrowseState.brands, BrowseState.brand
                ),
                size_filter(),
                select_filter(
                    "year", "Release year", "Any year", BrowseState.years, BrowseState.year
                ),
                text_filter(
                    "min",
                    "Min $",
                    BrowseState.min_price,
                    "90px",
                    "min-price",
                    max_length=12,
                    aria_label="Lowest price, dollars",
                    input_mode="decimal",
                ),
                text_filter(
                    "max",
                    "Max $",
                    BrowseState.max_price,
                    "90px",
                    "max-price",
                    max_length=12,
                    aria_label="Highest price, dollars",
                    input_mode="decimal",
                ),
                rx.spacer(),
                rx.select.root(
                    rx.select.trigger(id="sort-select", min_width="180px", aria_label="Sort by"),
                    rx.select.content(
                        *[rx.select.item(label, value=key) for key, label in SORT_LABELS.items()]
                    ),
                    value=BrowseState.sort,
                    on_change=lambda v: BrowseState.set_filter("sort", v),
                    size="2",
                ),
                width="100%",
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            field_error(BrowseState.size_error, "size-error", size="2"),
            rx.cond(
                BrowseState.price_error != "",
                rx.text(BrowseState.price_error, size="2", color="var(--red-11)", id="price-error"),
            ),
            width="100%",
            spacing="3",
        ),
        on_submit=BrowseState.search,
        reset_on_submit=False,
        width="100%",
    )


def empty_results() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=36, color="var(--gray-9)"),
            rx.heading("No sneakers match", size="4", as_="h2"),
            rx.text(
                "Try a brand, a model name or a style code, or fewer filters.",
                color="var(--gray-11)",
            ),
            rx.button(
                "Clear search and filters",
                variant="soft",
                on_click=BrowseState.clear_filters,
                id="clear-filters",
            ),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
        width="100%",
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
            filters(),
            rx.hstack(
                rx.text(
                    BrowseState.result_label, size="2", color="var(--gray-11)", id="result-count"
                ),
                rx.cond(
                    BrowseState.filtered,
                    rx.link(
                        "Clear all",
                        size="2",
                        on_click=BrowseState.clear_filters,
                        href="#",
                        id="clear-all",
                    ),
                ),
                spacing="3",
            ),
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
