"""One's own listing in a list, with its edit and cancel controls, and the dialog that gives it a
new price: the portfolio's bids and the seller dashboard's asks (state: `ListingEditor`).

Element ids and classes carry the side: `bid-<id>` / `ask-<id>` rows (class `bid-row` /
`ask-row`), `edit-bid-<id>`, `cancel-ask-<id>`, the `edit-bid-dialog` with `#bid-price`,
`#bid-price-error` and `#bid-price-save`, and so on.
"""

from __future__ import annotations

from typing import Literal

import reflex as rx

from components.order_parts import ELLIPSIS, NUM, thumb
from state.listing_editor import ListingEditor, ListingView

Side = Literal["bid", "ask"]

# The words that differ between a bid and an ask.
_WORDS: dict[Side, dict[str, str]] = {
    "bid": {
        "yours": "Your bid",
        "title": "Change your bid",
        "field": "New bid (USD)",
        "save": "Save bid",
    },
    "ask": {
        "yours": "Your ask",
        "title": "Change your ask",
        "field": "New price (USD)",
        "save": "Save price",
    },
}


def _standing(item: ListingView, side: Side) -> rx.Component:
    """Whether the listing leads its side of the book, and the book it stands in."""
    if side == "bid":
        leads = rx.badge(
            rx.icon("crown", size=12),
            "Highest bid",
            color_scheme="green",
            variant="soft",
            class_name="bid-state",
        )
        behind = rx.badge(
            rx.icon("arrow-down", size=12),
            "Outbid",
            color_scheme="red",
            variant="soft",
            class_name="bid-state",
        )
        book = rx.text(
            "Top bid ",
            item.highest_bid,
            " \u00b7 Ask ",
            item.lowest_ask,
            size="1",
            color="var(--gray-11)",
        )
    else:
        leads = rx.badge(
            rx.icon("trophy", size=12), "Lowest ask", color_scheme="green", variant="soft"
        )
        behind = rx.badge("Lowest is ", item.lowest_ask, color_scheme="amber", variant="soft")
        book = rx.text("Highest bid ", item.highest_bid, size="1", color="var(--gray-11)")
    return rx.vstack(
        rx.cond(item.leads, leads, behind),
        book,
        spacing="1",
        align=rx.breakpoints(initial="start", md="end"),
        min_width=rx.breakpoints(initial="0", md="130px"),
    )


def listing_row(item: ListingView, state: type[ListingEditor], side: Side) -> rx.Component:
    return rx.flex(
        rx.hstack(
            thumb(item.image, item.name),
            rx.vstack(
                rx.link(
                    rx.text(item.name, size="2", weight="bold", style=ELLIPSIS, width="100%"),
                    href=item.href,
                    color="var(--gray-12)",
                    underline="hover",
                    width="100%",
                ),
                rx.text(
                    "US ",
                    item.size,
                    " \u00b7 Expires ",
                    item.expires,
                    size="1",
                    color="var(--gray-11)",
                ),
                spacing="1",
                min_width="0",
                flex="1",
            ),
            spacing="3",
            align="center",
            flex="1",
            min_width="0",
            width="100%",
        ),
        rx.hstack(
            rx.vstack(
                rx.text(_WORDS[side]["yours"], size="1", color="var(--gray-11)"),
                rx.text(item.price, size="3", weight="bold", style=NUM),
                spacing="0",
                align=rx.breakpoints(initial="start", md="end"),
                min_width=rx.breakpoints(initial="0", md="92px"),
            ),
            _standing(item, side),
            rx.button(
                rx.icon("pencil", size=14),
                "Edit",
                variant="soft",
                size="2",
                on_click=state.open_edit_listing(item.id),
                id=f"edit-{side}-{item.id}",
            ),
            rx.button(
                "Cancel",
                variant="ghost",
                color_scheme="red",
                size="2",
                on_click=state.cancel_listing(item.id),
                id=f"cancel-{side}-{item.id}",
            ),
            spacing="3",
            align="center",
            justify=rx.breakpoints(initial="between", md="end"),
            wrap="wrap",
            width=rx.breakpoints(initial="100%", md="auto"),
        ),
        direction=rx.breakpoints(initial="column", md="row"),
        align=rx.breakpoints(initial="start", md="center"),
        gap="3",
        width="100%",
        padding_y="12px",
        border_top="1px solid var(--gray-a4)",
        class_name=f"{side}-row",
        id=f"{side}-{item.id}",
    )


def listing_rows(state: type[ListingEditor], side: Side) -> rx.Component:
    """The page's open listings, newest first."""
    return rx.vstack(
        rx.foreach(state.own_listings, lambda item: listing_row(item, state, side)),
        spacing="0",
        width="100%",
    )


def edit_listing_dialog(state: type[ListingEditor], side: Side) -> rx.Component:
    words = _WORDS[side]
    field = f"{side}-price"
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(words["title"]),
            rx.dialog.description(state.edit_listing_name, size="2", color="var(--gray-11)"),
            rx.form(
                rx.vstack(
                    rx.text(words["field"], as_="label", size="2", weight="medium", html_for=field),
                    rx.input(
                        rx.input.slot("$"),
                        name="price",
                        id=field,
                        width="100%",
                        default_value=state.edit_listing_value,
                        key=state.edit_listing_id,
                        input_mode="decimal",
                        max_length=20,
                        size="3",
                        auto_focus=True,
                    ),
                    rx.cond(
                        state.edit_listing_error != "",
                        rx.text(
                            state.edit_listing_error,
                            size="2",
                            color="var(--red-11)",
                            id=f"{field}-error",
                        ),
                    ),
                    rx.text(state.edit_listing_hint, size="1", color="var(--gray-11)"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            words["save"],
                            type="submit",
                            loading=state.busy,
                            disabled=state.busy,
                            id=f"{field}-save",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                    padding_top="12px",
                ),
                on_submit=state.save_listing_price,
                reset_on_submit=False,
            ),
            max_width="440px",
            id=f"edit-{side}-dialog",
        ),
        open=state.edit_listing_id != 0,
        on_open_change=state.dialog_open_change,
    )
