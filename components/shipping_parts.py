"""The seller's shipping panel on an order page: the authentication centre's address, the
order code and "Print shipping label" (a PDF in a new tab)."""

from __future__ import annotations

import reflex as rx

from state.shipping import OrderShippingState

S = OrderShippingState


def seller_shipping_panel() -> rx.Component:
    return rx.cond(
        S.shown,
        rx.vstack(
            rx.hstack(
                rx.icon("package", size=16, color="var(--accent-11)"),
                rx.text("Ship to our authentication centre", size="2", weight="bold"),
                spacing="2",
                align="center",
            ),
            rx.box(
                rx.foreach(
                    S.ship_to,
                    lambda line: rx.text(line, size="2", overflow_wrap="anywhere"),
                ),
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
        ),
    )
