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
from components.seller_parts import appeal_dialog
from sneakers_app import routes
from sneakers_app.vocabulary import REFUND_LANDS
from state.orders import OrderDetailState, OrdersState
from state.selling import SellerState


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
                    rx.text.span(s.headline, id="order-headline", weight="bold"),
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
                    s.size,
                    " \u00b7 Matched ",
                    s.placed,
                    size="2",
                    color="var(--gray-11)",
                    id="order-size",
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
        spacing="3",
        width="100%",
    )


def _note(
    text: rx.Component | str, icon: str, color: str, element_id: str, *extra: rx.Component
) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon(icon)),
        rx.vstack(rx.callout.text(text), *extra, spacing="2", align="start"),
        color_scheme=color,
        size="1",
        id=element_id,
        width="100%",
    )


def _outcome() -> rx.Component:
    """After a failure, each side's part of it: the buyer's refund and what happens next (and
    only that the seller was penalised), the seller's penalty, no payout and the appeal."""
    s = OrderDetailState
    return rx.fragment(
        rx.cond(
            s.refund_amount != "",
            _note(
                rx.fragment(
                    "Refund of ",
                    rx.text.span(s.refund_amount, weight="bold", id="refund-amount"),
                    " to ",
                    rx.text.span(s.refund_card, id="refund-card"),
                    " on ",
                    s.refund_at,
                    ". Refunds take " + REFUND_LANDS + " to appear on your statement.",
                ),
                "undo-2",
                "green",
                "order-refund",
            ),
        ),
        rx.cond(s.next_steps != "", _note(s.next_steps, "shield-x", "red", "order-next-steps")),
        rx.cond(
            (s.role == "buying") & s.seller_penalised,
            _note("The seller was penalised.", "gavel", "gray", "order-seller-penalised"),
        ),
        rx.cond(
            (s.role == "selling") & (s.penalty != ""),
            _note(
                rx.fragment(
                    "No payout for this sale. A penalty of ",
                    rx.text.span(s.penalty, weight="bold", id="penalty-amount"),
                    " was charged; it is taken from your next payout.",
                ),
                "triangle-alert",
                "red",
                "order-penalty",
            ),
        ),
        rx.cond(
            s.can_appeal,
            _note(
                rx.fragment(
                    "The pair did not pass authentication. You can appeal once until ",
                    s.appeal_deadline,
                    ".",
                ),
                "scale",
                "amber",
                "order-appeal-note",
                rx.button(
                    "Appeal", on_click=SellerState.open_appeal(s.order_id), id="order-appeal"
                ),
            ),
        ),
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
        _outcome(),
        appeal_dialog(),
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
