"""Rows and dialogs of the portfolio page."""

from __future__ import annotations

import reflex as rx

from components.a11y import dialog_title, trend_word
from components.fields import described_by, field_error, field_label
from components.order_parts import NUM, thumb
from components.rows import figure_block, item_cell, list_row
from state.portfolio import HoldingView, PortfolioState


def trend_color(trend: rx.Var) -> rx.Var:
    return rx.match(trend, ("up", "var(--green-11)"), ("down", "var(--red-11)"), "var(--gray-11)")


def gain_badge(gain: rx.Var, pct: rx.Var, trend: rx.Var) -> rx.Component:
    return rx.badge(
        rx.icon(
            rx.match(trend, ("up", "trending-up"), ("down", "trending-down"), "minus"), size=12
        ),
        trend_word(trend),
        gain,
        " (",
        pct,
        ")",
        color_scheme=rx.match(trend, ("up", "green"), ("down", "red"), "gray"),
        variant="soft",
        size="2",
        style=NUM,
    )


def holding_row(item: HoldingView) -> rx.Component:
    return list_row(
        item_cell(
            thumb(item.image, item.name, size="64px"),
            item.name,
            item.href,
            rx.text(
                item.size,
                " \u00b7 Bought ",
                item.purchased_on,
                size="1",
                color="var(--gray-11)",
            ),
            rx.cond(
                item.bought_here,
                rx.link(
                    rx.badge("Bought here", variant="surface", color_scheme="green"),
                    href=item.order_href,
                ),
                rx.badge("Added by you", variant="surface", color_scheme="gray"),
            ),
        ),
        rx.hstack(
            figure_block("Paid", item.paid),
            rx.vstack(
                rx.text("Market value", size="1", color="var(--gray-11)"),
                rx.text(item.market_value, size="3", weight="bold", style=NUM),
                rx.cond(
                    ~item.has_market_value,
                    rx.text("No sales yet", size="1", color="var(--gray-11)"),
                ),
                spacing="0",
                align=rx.breakpoints(initial="start", md="end"),
                min_width=rx.breakpoints(initial="0", md="100px"),
            ),
            rx.vstack(
                rx.text("Gain / loss", size="1", color="var(--gray-11)"),
                gain_badge(item.gain, item.gain_pct, item.trend),
                spacing="1",
                align=rx.breakpoints(initial="start", md="end"),
                min_width=rx.breakpoints(initial="0", md="150px"),
            ),
            rx.cond(
                item.bought_here,
                rx.box(width="32px", display=rx.breakpoints(initial="none", md="block")),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    variant="ghost",
                    color_scheme="gray",
                    size="2",
                    on_click=PortfolioState.remove_item(item.id),
                    aria_label="Remove from portfolio",
                    id=f"remove-item-{item.id}",
                ),
            ),
            spacing="4",
            align="center",
            wrap="wrap",
        ),
        class_name="holding-row",
    )


def add_item_dialog() -> rx.Component:
    s = PortfolioState
    return rx.dialog.root(
        rx.dialog.content(
            dialog_title("Add a pair you own"),
            rx.dialog.description(
                "Track a pair you bought elsewhere. We value it at the last sale of its size.",
                size="2",
                color="var(--gray-11)",
            ),
            rx.form(
                rx.vstack(
                    rx.vstack(
                        field_label("Sneaker", "add-product"),
                        rx.select.root(
                            rx.select.trigger(
                                placeholder="Choose a sneaker",
                                width="100%",
                                id="add-product",
                                **described_by(s.add_product_error, "add-product-error"),
                            ),
                            rx.select.content(
                                rx.foreach(
                                    s.product_options,
                                    lambda o: rx.select.item(o.name, value=o.id),
                                ),
                                position="popper",
                            ),
                            value=s.add_product_id,
                            on_change=s.choose_product,
                            size="3",
                        ),
                        field_error(s.add_product_error, "add-product-error", size="2"),
                        spacing="1",
                        width="100%",
                    ),
                    rx.grid(
                        rx.vstack(
                            field_label("Size", "add-size"),
                            rx.input(
                                name="size",
                                id="add-size",
                                **described_by(s.add_size_error, "add-size-error", "add-size-hint"),
                                placeholder="10.5 or EU 44",
                                max_length=10,
                                size="3",
                                auto_complete="off",
                                width="100%",
                            ),
                            field_error(s.add_size_error, "add-size-error", size="2"),
                            spacing="1",
                            width="100%",
                        ),
                        rx.vstack(
                            field_label("Price paid", "add-price"),
                            rx.input(
                                rx.input.slot("$"),
                                name="price",
                                id="add-price",
                                **described_by(s.add_price_error, "add-price-error"),
                                placeholder="220",
                                input_mode="decimal",
                                max_length=20,
                                size="3",
                                width="100%",
                            ),
                            field_error(s.add_price_error, "add-price-error", size="2"),
                            spacing="1",
                            width="100%",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.text(s.size_hint, size="1", color="var(--gray-11)", id="add-size-hint"),
                    rx.vstack(
                        field_label("Purchase date", "add-date"),
                        rx.input(
                            name="purchased_on",
                            id="add-date",
                            **described_by(s.add_date_error, "add-date-error"),
                            type="date",
                            default_value=s.today,
                            key=s.today,
                            size="3",
                            width="100%",
                        ),
                        field_error(s.add_date_error, "add-date-error", size="2"),
                        spacing="1",
                        width="100%",
                    ),
                    field_error(s.add_form_error, "add-form-error", size="2"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            "Add to portfolio",
                            type="submit",
                            loading=s.busy,
                            disabled=s.busy,
                            id="add-item-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                        padding_top="8px",
                    ),
                    spacing="3",
                    width="100%",
                    padding_top="12px",
                ),
                on_submit=s.add_item,
                reset_on_submit=False,
            ),
            max_width="480px",
            id="add-item-dialog",
        ),
        open=s.add_open,
        on_open_change=s.dialog_open_change,
    )
