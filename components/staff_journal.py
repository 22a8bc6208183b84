"""Parked journal entries: what the matching engine decided that could not be recorded."""

from __future__ import annotations

import reflex as rx

from state.staff import JournalFaultsState, ParkedRow

S = JournalFaultsState


def parked_row(row: ParkedRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.badge(f"Book {row.book}", color_scheme="gray", variant="soft"),
                    rx.text(row.command, " · seq ", row.sequence, " · ", row.summary, size="2"),
                    rx.text(row.when, size="1", color="var(--gray-11)"),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(
                    row.error,
                    size="2",
                    color="var(--red-11)",
                    font_family="var(--code-font-family)",
                    word_break="break-all",
                ),
                rx.text(
                    "Entry ",
                    row.entry_id,
                    " · failed ",
                    row.attempts,
                    " times",
                    size="1",
                    color="var(--gray-11)",
                ),
                spacing="2",
                flex="1",
                min_width="0",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("rotate-ccw", size=14),
                    "Apply again",
                    on_click=S.reapply(row.parked_id),
                    size="2",
                ),
                rx.button(
                    "Dismiss",
                    on_click=S.dismiss(row.parked_id),
                    size="2",
                    variant="soft",
                    color_scheme="gray",
                ),
                spacing="2",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="3",
            align=rx.breakpoints(initial="stretch", sm="center"),
            width="100%",
        ),
        size="2",
        width="100%",
        class_name="parked-entry",
    )


def parked_view() -> rx.Component:
    """The section of the staff console; loads itself when shown."""
    return rx.vstack(
        rx.hstack(
            rx.heading("Parked journal entries", size="4", as_="h2"),
            rx.badge(S.parked.length(), color_scheme=rx.cond(S.parked.length() > 0, "red", "gray")),
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw", size=14),
                "Refresh",
                variant="soft",
                color_scheme="gray",
                size="1",
                on_click=S.load_parked,
                aria_label="Refresh parked entries",
            ),
            align="center",
            width="100%",
        ),
        rx.text(
            "Trades and order changes the engine made that could not be recorded after every "
            "retry. The book went on; fix the cause, then apply the entry again.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.cond(S.parked_error != "", rx.callout(S.parked_error, color_scheme="red", size="1")),
        rx.cond(S.parked_notice != "", rx.callout(S.parked_notice, color_scheme="green", size="1")),
        rx.cond(
            S.parked.length() > 0,
            rx.vstack(rx.foreach(S.parked, parked_row), spacing="2", width="100%"),
            rx.text("Nothing is parked.", size="2", color="var(--gray-11)", id="no-parked"),
        ),
        on_mount=S.load_parked,
        spacing="3",
        width="100%",
        id="parked-entries",
    )
