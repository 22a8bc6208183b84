"""A catalog card: image, name, colorway, retail and last sale."""

from __future__ import annotations

import reflex as rx

from state.catalog import CardView


def product_card(card: CardView) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.box(
                    rx.image(
                        src=card.image,
                        alt=card.name,
                        width="100%",
                        height="auto",
                        loading="lazy",
                        style={"aspect_ratio": "4 / 3", "object_fit": "cover"},
                    ),
                    border_radius="var(--radius-3)",
                    overflow="hidden",
                    width="100%",
                ),
                rx.text(card.brand, size="1", color="var(--gray-10)", weight="medium"),
                rx.text(card.name, size="2", weight="bold", class_name="clamp-2"),
                rx.hstack(
                    rx.vstack(
                        rx.text("Last sale", size="1", color="var(--gray-10)"),
                        rx.text(card.last_sale, size="3", weight="bold"),
                        spacing="0",
                    ),
                    rx.spacer(),
                    rx.vstack(
                        rx.text("Retail", size="1", color="var(--gray-10)"),
                        rx.text(card.retail, size="2", color="var(--gray-11)"),
                        spacing="0",
                        align="end",
                    ),
                    width="100%",
                    align="end",
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            height="100%",
            class_name="product-card",
        ),
        href=card.href,
        underline="none",
        color="inherit",
        class_name="product-card-link",
    )
