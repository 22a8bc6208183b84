"""/orders and /orders/[order_id]: order list and one order's timeline."""

from __future__ import annotations

import reflex as rx

from components import shipping_parts
from components.layout import page
from components.order_parts import (
    empty_state,
    money_line,
    muted,
    order_row,
    section,
    status_badge,
    thumb,
    timeline_step,
    tracking_line,
)
from sneakers_app import routes
from state.orders import OrderDetailState, OrdersState


def _list(rows: rx.Var, empty: rx.Component) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.card(
            rx.vstack(rx.foreach(rows, order_row), spacing="1", width="100%"),
            width="100%",
            padding="8px",
        ),
        empty,
    )


def orders_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.vstack(
                rx.heading("Orders", size="7"),
                muted("Every purchase and sale, from the match to your door or your payout."),
                spacing="1",
            ),
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger(
                        rx.hstack(
                            rx.text("Buying"),
                            rx.badge(OrdersState.buying.length(), variant="soft", radius="full"),
                            spacing="2",
                            align="center",
                        ),
                        value="buying",
                        id="tab-buying",
                    ),
                    rx.tabs.trigger(
                        rx.hstack(
                            rx.text("Selling"),
                            rx.badge(OrdersState.selling.length(), variant="soft", radius="full"),
                            spacing="2",
                            align="center",
                        ),
                        value="selling",
                        id="tab-selling",
                    ),
                    size="2",
                ),
                rx.tabs.content(
                    _list(
                        OrdersState.buying,
                        empty_state(
                            "shopping-bag",
                            "No purchases yet",
                            "When your bid matches or you buy now, the order appears here and "
                            "you can follow it through authentication to your door.",
                            rx.link(
                                rx.button("Browse sneakers", variant="soft"), href=routes.BROWSE
                            ),
                            id="orders-empty-buying",
                        ),
                    ),
                    value="buying",
                    padding_top="16px",
                ),
                rx.tabs.content(
                    _list(
                        OrdersState.selling,
                        empty_state(
                            "tag",
                            "No sales yet",
                            "When a buyer takes your ask, the sale appears here with its ship-by "
                            "date, inspection result and payout.",
                            rx.link(rx.button("Go to selling", variant="soft"), href=routes.SELL),
                            id="orders-empty-selling",
                        ),
                    ),
                    value="selling",
                    padding_top="16px",
                ),
                value=OrdersState.tab,
                on_change=OrdersState.set_tab,
                width="100%",
            ),
            spacing="5",
            width="100%",
        ),
        max_width="900px",
    )


def _not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("package-search", size=40, color="var(--gray-9)"),
            rx.heading("Order not found", size="6"),
            rx.text(
                "There is no order with this number on your account.",
                color="var(--gray-11)",
                text_align="center",
            ),
            rx.link(rx.button("See your orders", variant="soft"), href=routes.ORDERS),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
        id="order-not-found",
    )


def _header() -> rx.Component:
    s = OrderDetailState
    return rx.card(
        rx.hstack(
            thumb(s.image, s.name, size="88px"),
            rx.vstack(
                rx.text(
                    rx.cond(s.role == "buying", "Purchase", "Sale"),
                    " \u00b7 Order #",
                    s.order_id,
                    size="1",
                    color="var(--gray-11)",
                    weight="medium",
                ),
                rx.link(
                    rx.heading(s.name, size="5"),
                    href=s.product_href,
                    color="var(--gray-12)",
                    underline="hover",
                ),
                rx.text(
                    "Size US ",
                    s.size,
                    " \u00b7 Matched ",
                    s.placed,
                    size="2",
                    color="var(--gray-11)",
                ),
                status_badge(s.status_label, s.tone, id="order-status"),
                spacing="2",
                min_width="0",
            ),
            spacing="4",
            align="center",
            width="100%",
        ),
        width="100%",
    )


def _deadlines() -> rx.Component:
    s = OrderDetailState
    return rx.vstack(
        rx.cond(
            s.ship_by != "",
            rx.hstack(
                rx.icon("clock", size=16, color="var(--gray-10)"),
                rx.vstack(
                    rx.text("Ship-by deadline", size="1", color="var(--gray-11)"),
                    rx.text(s.ship_by, size="2"),
                    spacing="0",
                ),
                spacing="2",
            ),
        ),
        rx.cond(
            s.appeal_deadline != "",
            rx.hstack(
                rx.icon("scale", size=16, color="var(--gray-10)"),
                rx.vstack(
                    rx.text("Appeal window closes", size="1", color="var(--gray-11)"),
                    rx.text(s.appeal_deadline, size="2"),
                    spacing="0",
                ),
                spacing="2",
            ),
        ),
        rx.cond(
            s.penalty != "",
            rx.callout(
                "A penalty of " + s.penalty.to(str) + " was charged to the seller.",
                icon="triangle-alert",
                color_scheme="red",
                size="1",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _detail() -> rx.Component:
    s = OrderDetailState
    return rx.vstack(
        rx.link(
            rx.hstack(rx.icon("arrow-left", size=14), rx.text("All orders", size="2"), spacing="1"),
            href=routes.ORDERS,
            color="var(--gray-11)",
            underline="none",
        ),
        _header(),
        rx.grid(
            section(
                "Timeline",
                rx.vstack(rx.foreach(s.timeline, timeline_step), spacing="0", width="100%"),
                id="order-timeline",
            ),
            rx.vstack(
                section(
                    rx.cond(s.role == "buying", "What you paid", "Your payout"),
                    rx.vstack(rx.foreach(s.money, money_line), spacing="2", width="100%"),
                    id="order-money",
                ),
                section(
                    "Shipping",
                    shipping_parts.seller_shipping_panel(),
                    tracking_line(
                        "To authentication (seller)", s.inbound_tracking, "inbound-tracking"
                    ),
                    tracking_line("To the buyer", s.outbound_tracking, "outbound-tracking"),
                    _deadlines(),
                    id="order-shipping",
                ),
                spacing="4",
                width="100%",
            ),
            columns=rx.breakpoints(initial="1fr", md="3fr 2fr"),
            spacing="4",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def order_page() -> rx.Component:
    return page(
        rx.cond(
            OrderDetailState.loaded,
            rx.cond(OrderDetailState.found, _detail(), _not_found()),
            rx.center(rx.spinner(size="3"), padding_y="64px"),
        ),
        max_width="1000px",
    )


# Registered by the app module with these pages.
ORDERS_ON_LOAD = [OrdersState.on_load]
ORDER_ON_LOAD = [OrderDetailState.on_load, shipping_parts.ON_LOAD]
