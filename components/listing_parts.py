"""One's own listing in a list, with its edit and cancel controls, and the dialog that gives it a
new price: the portfolio's bids and the seller dashboard's asks (state: `ListingEditor`).

Element ids and classes carry the side: `bid-<id>` / `ask-<id>` rows (class `bid-row` /
`ask-row`), `edit-bid-<id>`, `cancel-ask-<id>`, the `edit-bid-dialog` with `#bid-price`,
`#bid-price-error` and `#bid-price-save`, and so on. Cancelling asks first (`confirm_cancel`,
also on the product page): `#cancel-listing-keep`, `#cancel-listing-confirm`.
"""

from __future__ import annotations

from typing import Literal

import reflex as rx
from reflex.event import EventSpec

from components.a11y import alert_dialog_title, dialog_title
from components.checkout_parts import choice_select
from components.dashboard import Empty, list_section
from components.fields import described_by, field_error, field_label
from components.order_parts import thumb
from components.rows import figure_block, item_cell, list_row
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


def _bid_badge(icon: str, text: str, color: str) -> rx.Component:
    return rx.badge(
        rx.icon(icon, size=12), text, color_scheme=color, variant="soft", class_name="bid-state"
    )


def _standing(item: ListingView, side: Side) -> rx.Component:
    """Whether the listing leads its side of the book, and the book it stands in."""
    if side == "bid":
        leads = _bid_badge("crown", "Highest bid", "green")
        behind = _bid_badge("arrow-down", "Outbid", "red")
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


def confirm_cancel(
    side: rx.Var | str,
    detail: tuple[rx.Var | str, ...],
    on_confirm: EventSpec,
    **button: object,
) -> rx.Component:
    """A red "Cancel" button that first asks: the listing leaves the book for good, so one stray
    tap must not do it. The dialog's buttons are `#cancel-listing-keep` and
    `#cancel-listing-confirm` (one dialog is open at a time)."""
    is_bid = side == "bid" if isinstance(side, rx.Var) else rx.Var.create(side == "bid")
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Cancel", color_scheme="red", **button)),
        rx.alert_dialog.content(
            alert_dialog_title(rx.cond(is_bid, "Cancel your bid?", "Cancel your ask?")),
            rx.alert_dialog.description(
                *detail,
                ". It leaves the order book at once; to trade again you place a new one.",
                size="2",
                color="var(--gray-11)",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        rx.cond(is_bid, "Keep bid", "Keep ask"),
                        variant="soft",
                        color_scheme="gray",
                        id="cancel-listing-keep",
                    )
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(is_bid, "Cancel bid", "Cancel ask"),
                        color_scheme="red",
                        on_click=on_confirm,
                        id="cancel-listing-confirm",
                    )
                ),
                justify="end",
                spacing="3",
                padding_top="16px",
            ),
            max_width="440px",
        ),
    )


def _paused(item: ListingView, state: type[ListingEditor], side: Side) -> rx.Component:
    """A bid whose card or address was deleted: off the book until another is chosen."""
    return rx.vstack(
        rx.badge(rx.icon("circle-pause", size=12), "Paused", color_scheme="amber", variant="soft"),
        rx.button(
            "Paused \u2013 choose a card/address",
            size="1",
            variant="soft",
            color_scheme="amber",
            on_click=state.open_resume(item.id),
            id=f"resume-{side}-{item.id}",
        ),
        spacing="1",
        align=rx.breakpoints(initial="start", md="end"),
    )


def resume_listing_dialog(state: type[ListingEditor]) -> rx.Component:
    """Choose the card and address a paused bid goes back to the book with (same price and
    expiry, a new place in the queue)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.vstack(
                dialog_title("Put your bid back on the market", margin_bottom="0"),
                rx.dialog.description(state.edit_listing_name, size="2", color="var(--gray-11)"),
                field_label("Pay with", "resume-card"),
                choice_select(
                    state.resume_cards,
                    state.resume_card_id,
                    state.resume_choose_card,
                    "No card saved: add one in your account.",
                    "resume-card",
                ),
                field_label("Ship to", "resume-address"),
                choice_select(
                    state.resume_addresses,
                    state.resume_address_id,
                    state.resume_choose_address,
                    "No address saved: add one in your account.",
                    "resume-address",
                ),
                rx.text(
                    "Same price and expiry; it joins the queue at its price as a new bid.",
                    size="1",
                    color="var(--gray-11)",
                ),
                rx.cond(
                    state.resume_error != "",
                    rx.text(state.resume_error, size="1", color="var(--red-11)", id="resume-error"),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Resume bid", on_click=state.resume_listing, id="resume-save"),
                    justify="end",
                    spacing="3",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            width="min(440px, calc(100vw - 32px))",  # a long address never widens it
            max_width="440px",
            id="resume-bid-dialog",
        ),
        open=state.resume_listing_id > 0,
        on_open_change=state.dialog_open_change,
    )


def listing_row(item: ListingView, state: type[ListingEditor], side: Side) -> rx.Component:
    return list_row(
        item_cell(
            thumb(item.image, item.name),
            item.name,
            item.href,
            rx.text(
                item.size,
                " \u00b7 Expires ",
                item.expires,
                size="1",
                color="var(--gray-11)",
            ),
        ),
        rx.hstack(
            figure_block(_WORDS[side]["yours"], item.price),
            rx.cond(item.paused, _paused(item, state, side), _standing(item, side)),
            rx.cond(
                ~item.paused,
                rx.button(
                    rx.icon("pencil", size=14),
                    "Edit",
                    variant="soft",
                    size="2",
                    on_click=state.open_edit_listing(item.id),
                    id=f"edit-{side}-{item.id}",
                ),
            ),
            confirm_cancel(
                side,
                (item.name, " \u00b7 ", item.size, " at ", item.price),
                state.cancel_listing(item.id),
                variant="ghost",
                size="2",
                id=f"cancel-{side}-{item.id}",
            ),
            spacing="3",
            align="center",
            justify=rx.breakpoints(initial="between", md="end"),
            wrap="wrap",
            width=rx.breakpoints(initial="100%", md="auto"),
        ),
        class_name=f"{side}-row",
        id=f"{side}-{item.id}",
    )


def listings_section(
    state: type[ListingEditor], side: Side, title: str, empty: Empty, **props: object
) -> rx.Component:
    """The page's open listings, newest first, or `empty` when there are none."""
    return list_section(
        title, state.own_listings, lambda item: listing_row(item, state, side), empty, **props
    )


def edit_listing_dialog(state: type[ListingEditor], side: Side) -> rx.Component:
    words = _WORDS[side]
    field = f"{side}-price"
    return rx.dialog.root(
        rx.dialog.content(
            dialog_title(words["title"]),
            rx.dialog.description(state.edit_listing_name, size="2", color="var(--gray-11)"),
            rx.form(
                rx.vstack(
                    field_label(words["field"], field),
                    rx.input(
                        rx.input.slot("$"),
                        name="price",
                        id=field,
                        **described_by(state.edit_listing_error, f"{field}-error", f"{field}-hint"),
                        width="100%",
                        default_value=state.edit_listing_value,
                        key=state.edit_listing_id,
                        input_mode="decimal",
                        max_length=20,
                        size="3",
                        auto_focus=True,
                    ),
                    field_error(state.edit_listing_error, f"{field}-error", size="2"),
                    rx.text(
                        state.edit_listing_hint,
                        size="1",
                        color="var(--gray-11)",
                        id=f"{field}-hint",
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            words["save"],
                            type="submit",
                            # As every dialog of the seller dashboard confirms.
                            **({"color_scheme": "green"} if side == "ask" else {}),
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
