"""A catalog card: image, name, lowest ask, last sale and how the price moved."""

from __future__ import annotations

import reflex as rx

from components.a11y import trend_word
from state.catalog import CardView


def change_badge(label: str, text: rx.Var, direction: rx.Var) -> rx.Component:
    return rx.badge(
        f"{label} ",
        trend_word(direction),
        text,
        color_scheme=rx.match(direction, ("up", "green"), ("down", "red"), "gray"),
        variant="soft",
        size="1",
    )


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
                rx.text(card.brand, size="1", color="var(--gray-11)", weight="medium"),
                rx.text(card.name, size="2", weight="bold", class_name="clamp-2"),
                rx.hstack(
                    rx.vstack(
                        rx.text("Lowest ask", size="1", color="var(--gray-11)"),
                        rx.text(card.lowest_ask, size="4", weight="bold", class_name="price"),
                        spacing="0",
                    ),
                    rx.spacer(),
                    rx.vstack(
                        rx.text("Last sale", size="1", color="var(--gray-11)"),
                        rx.text(card.last_sale, size="2", color="var(--gray-11)"),
                        spacing="0",
                        align="end",
                    ),
                    width="100%",
                    align="end",
                ),
                rx.hstack(
                    change_badge("24h", card.change_24h, card.change_24h_dir),
                    change_badge("30d", card.change_30d, card.change_30d_dir),
                    spacing="1",
                    wrap="wrap",
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
