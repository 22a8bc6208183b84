"""The parts every list of a member's things is built from (portfolio, seller dashboard): a row,
the item at its start (a picture or icon, the linked name and a line or two under it) and the
figures beside it."""

from __future__ import annotations

import reflex as rx

from components.order_parts import ELLIPSIS, NUM


def name_block(name: rx.Var, href: rx.Var, *sub: rx.Component) -> rx.Component:
    """The item's name, linked, with the lines under it."""
    return rx.vstack(
        rx.link(
            rx.text(name, size="2", weight="bold", style=ELLIPSIS, width="100%"),
            href=href,
            color="var(--gray-12)",
            underline="hover",
            width="100%",
        ),
        *sub,
        spacing="1",
        min_width="0",
        flex="1",
    )


def item_cell(lead: rx.Component, name: rx.Var, href: rx.Var, *sub: rx.Component) -> rx.Component:
    """The start of a row: a picture (or icon) and the name block; it takes the free width."""
    return rx.hstack(
        lead,
        name_block(name, href, *sub),
        spacing="3",
        align="center",
        flex="1",
        min_width="0",
        width="100%",
    )


def list_row(*children: rx.Component, stack: bool = True, **props: object) -> rx.Component:
    """A list row; `stack` puts the figures and buttons under the item at phone width."""
    return rx.flex(
        *children,
        align=rx.breakpoints(initial="start", md="center") if stack else "center",
        direction=rx.breakpoints(initial="column", md="row") if stack else "row",
        gap="3",
        width="100%",
        padding_y="12px",
        border_top="1px solid var(--gray-a4)",
        **props,
    )


def figure_block(label: str, value: rx.Var | str, **props: object) -> rx.Component:
    """A figure with its label above it, right-aligned beside the item on wide screens."""
    return rx.vstack(
        rx.text(label, size="1", color="var(--gray-11)"),
        rx.text(value, size="3", weight="bold", style=NUM, **props),
        spacing="0",
        align=rx.breakpoints(initial="start", md="end"),
        min_width=rx.breakpoints(initial="0", md="92px"),
    )
