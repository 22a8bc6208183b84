"""The seller's shipping panel on an order page: the authentication centre's address, the
order code and "Print shipping label" (a PDF in a new tab); after a failed authentication, the
tracking number of the pair's way back."""

from __future__ import annotations

import reflex as rx

from state.shipping import OrderShippingState

S = OrderShippingState
ON_LOAD = OrderShippingState.on_load
"""Loads the panel with the order page (the page registers it with its own)."""


def _ship_to_centre() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("package", size=16, color="var(--accent-11)"),
            rx.text("Ship to our authentication centre", size="2", weight="bold"),
            spacing="2",
            align="center",
        ),
        rx.box(
            rx.foreach(S.ship_to, lambda line: rx.text(line, size="2", overflow_wrap="anywhere")),
            padding="10px 12px",
            border="1px dashed var(--gray-a7)",
            border_radius="var(--radius-3)",
            background="var(--gray-a2)",
            width="100%",
            id="ship-to-address",
        ),
        rx.text(
            "Print the label and tape it to the box: its barcode (",
            rx.code(S.code, variant="ghost", id="order-code"),
            ") tells us which sale the pair belongs to when it arrives. Then mark the sale "
            "shipped with the carrier's tracking number.",
            size="1",
            color="var(--gray-11)",
        ),
        rx.link(
            rx.button(rx.icon("printer", size=16), "Print shipping label", width="100%"),
            href=S.label_href,
            is_external=True,
            width="100%",
            id="print-label",
        ),
        spacing="2",
        width="100%",
        id="seller-shipping",
    )


def _return_tracking() -> rx.Component:
    return rx.hstack(
        rx.icon("undo-2", size=16, color="var(--gray-10)"),
        rx.vstack(
            rx.text("Back to you (return)", size="1", color="var(--gray-11)"),
            rx.text(
                S.return_tracking,
                size="2",
                font_family="var(--code-font-family)",
                overflow_wrap="anywhere",
                id="return-tracking",
            ),
            spacing="0",
            min_width="0",
        ),
        spacing="2",
    )


def seller_shipping_panel() -> rx.Component:
    return rx.fragment(
        rx.cond(S.shown & (S.label_href != ""), _ship_to_centre()),
        rx.cond(S.shown & (S.return_tracking != ""), _return_tracking()),
    )
