"""/product/[slug]: details and sizes; a proper not-found page for an unknown slug."""

from __future__ import annotations

import reflex as rx

from components.layout import page
from sneakers_app import routes
from state.product import ProductState, SizeView


def fact(label: str, value: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color="var(--gray-10)"),
        rx.text(value, size="2", weight="medium"),
        spacing="0",
    )


def size_tile(size: SizeView) -> rx.Component:
    selected = ProductState.selected_size == size.size
    return rx.button(
        rx.vstack(
            rx.text(f"US {size.size}", size="2", weight="bold"),
            rx.text(size.last_sale, size="1", color="var(--gray-11)"),
            spacing="0",
            align="center",
        ),
        variant=rx.cond(selected, "solid", "outline"),
        color_scheme=rx.cond(selected, "green", "gray"),
        on_click=ProductState.select_size(size.size),
        height="56px",
        width="100%",
        class_name="size-tile",
    )


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("footprints", size=40, color="var(--gray-9)"),
            rx.heading("We couldn't find that sneaker", size="6", id="not-found"),
            rx.text(
                "The link may be mistyped, or the product is no longer listed.",
                color="var(--gray-11)",
            ),
            rx.link(rx.button("Browse the catalog"), href=routes.BROWSE),
            align="center",
            spacing="3",
        ),
        padding_y="80px",
    )


def details() -> rx.Component:
    return rx.grid(
        rx.box(
            rx.image(
                src=ProductState.image,
                alt=ProductState.name,
                width="100%",
                style={"aspect_ratio": "4 / 3", "object_fit": "cover"},
            ),
            border_radius="var(--radius-4)",
            overflow="hidden",
            border="1px solid var(--gray-a4)",
            align_self="start",
        ),
        rx.vstack(
            rx.text(ProductState.brand, size="2", color="var(--gray-10)", weight="medium"),
            rx.heading(ProductState.name, size="7", id="product-name"),
            rx.hstack(
                rx.vstack(
                    rx.text("Last sale", size="1", color="var(--gray-10)"),
                    rx.heading(ProductState.last_sale, size="6"),
                    spacing="0",
                ),
                rx.badge(f"{ProductState.sales_count} sales", variant="soft", size="2"),
                align="end",
                spacing="4",
            ),
            rx.separator(size="4"),
            rx.heading("Sizes (US)", size="3"),
            rx.grid(
                rx.foreach(ProductState.sizes, size_tile),
                columns=rx.breakpoints(initial="3", sm="4"),
                spacing="2",
                width="100%",
                id="size-grid",
            ),
            rx.callout(
                "Bidding and buying open with the live order book.",
                icon="info",
                size="1",
                variant="surface",
                width="100%",
            ),
            rx.separator(size="4"),
            rx.grid(
                fact("Style code", ProductState.style_code),
                fact("Colorway", ProductState.colorway),
                fact("Retail price", ProductState.retail),
                fact("Release date", ProductState.release_date),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.text(ProductState.description, size="2", color="var(--gray-11)"),
            spacing="4",
            width="100%",
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="6",
        width="100%",
    )


def product_page() -> rx.Component:
    return page(
        rx.cond(
            ProductState.loaded,
            rx.cond(ProductState.found, details(), not_found()),
            rx.center(rx.spinner(size="3"), padding_y="80px"),
        )
    )
