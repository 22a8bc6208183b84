"""The frame of a member's dashboard pages (portfolio, seller dashboard): the page with its title,
a spinner until the state has loaded, the dialogs; sections that list rows or say what to do
while there are none; a chart with its range switch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import reflex as rx

from components.layout import page
from components.order_parts import empty_state, muted, section
from components.plot import plot


@dataclasses.dataclass(frozen=True)
class Empty:
    """What a list or chart shows while it has nothing (element id `id`)."""

    icon: str
    title: str
    text: str
    id: str
    action: rx.Component | None = None


def empty_block(empty: Empty) -> rx.Component:
    return empty_state(empty.icon, empty.title, empty.text, empty.action, id=empty.id)


def list_or_empty(
    items: rx.Var, row: Callable[[rx.Var], rx.Component], empty: Empty, spacing: str = "0"
) -> rx.Component:
    """The rows of `items` (a list: a screen reader says how many), or the empty state when
    there are none."""
    return rx.cond(
        items.length() > 0,
        rx.vstack(
            rx.foreach(items, lambda item: rx.box(row(item), role="listitem", width="100%")),
            spacing=spacing,
            width="100%",
            role="list",
        ),
        empty_block(empty),
    )


def list_section(
    title: str,
    items: rx.Var,
    row: Callable[[rx.Var], rx.Component],
    empty: Empty,
    *,
    spacing: str = "0",
    **props: object,
) -> rx.Component:
    """A titled card listing `items` (props: `action`, `id`, ... as `section` takes them)."""
    return section(title, list_or_empty(items, row, empty, spacing), **props)


def range_switch(
    options: Sequence[tuple[str, str]],
    value: rx.Var,
    on_change: object,
    control_id: str,
    label: str = "Chart period",
) -> rx.Component:
    """Which period a chart shows: (label, value) pairs."""
    return rx.segmented_control.root(
        *(rx.segmented_control.item(label, value=v) for label, v in options),
        value=value,
        on_change=on_change,
        size="1",
        id=control_id,
        aria_label=label,
    )


def chart_or_empty(
    show: rx.Var, figure: rx.Var, height: str, chart_id: str, empty: Empty
) -> rx.Component:
    return rx.cond(
        show,
        rx.box(
            plot(figure, height),
            width="100%",
            id=chart_id,
        ),
        empty_block(empty),
    )


def dashboard_page(
    title: str,
    subtitle: str,
    loaded: rx.Var,
    body: rx.Component,
    *dialogs: rx.Component,
    aside: rx.Component | None = None,
) -> rx.Component:
    """The page: its title and what it is for (`aside` at their right), a spinner until the
    state has loaded, then `body`; the page's dialogs."""
    heading = rx.vstack(rx.heading(title, size="7"), muted(subtitle), spacing="1")
    return page(
        rx.vstack(
            heading
            if aside is None
            else rx.hstack(
                heading,
                rx.spacer(),
                aside,
                width="100%",
                align="end",
                wrap="wrap",
                spacing="3",
            ),
            rx.cond(
                loaded,
                body,
                rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
            ),
            *dialogs,
            spacing="5",
            width="100%",
        ),
    )


def dashboard_card(*children: rx.Component, spacing: str = "4", **props: object) -> rx.Component:
    """A card of figures at the top of a dashboard, its parts stacked."""
    return rx.card(rx.vstack(*children, spacing=spacing, width="100%"), width="100%", **props)
