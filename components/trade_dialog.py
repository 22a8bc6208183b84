"""Buy Now / Place Bid / Sell Now / Place Ask: one keyboard-usable dialog (Radix), with the
full fee breakdown and total before confirming, price hints, and errors next to their field."""

from __future__ import annotations

import reflex as rx

from components.a11y import dialog_title
from components.account_sections import address_dialog, card_form
from components.checkout_parts import choice_select
from components.fields import described_by, field_error, field_label
from sneakers_app import routes
from state.account import AccountState
from state.product_trade import FeeLine, HintView, TradeState

S = TradeState
A = AccountState


def _title() -> rx.Var:
    return rx.match(
        S.dialog_kind,
        ("buy", "Buy now"),
        ("sell", "Sell now"),
        ("ask", "Place an ask"),
        "Place a bid",
    )


def _subtitle() -> rx.Component:
    return rx.match(
        S.dialog_kind,
        ("buy", "You buy the lowest ask. Your card is charged when you confirm."),
        ("sell", "You sell to the highest bid. Ship to our authenticators within 2 days."),
        ("ask", "Your ask waits on the book until a buyer meets it or it expires."),
        "Your bid waits on the book until a seller meets it or it expires. "
        "Your card is charged only if it matches.",
    )


def _fee_row(line: FeeLine) -> rx.Component:
    return rx.hstack(
        rx.text(line.label, size="2", color="var(--gray-11)"),
        rx.spacer(),
        rx.text(line.amount, size="2", class_name="tabular"),
        width="100%",
    )


def _hint(hint: HintView) -> rx.Component:
    return rx.hstack(
        rx.icon("lightbulb", size=14, color="var(--amber-10)"),
        rx.text(hint.text, size="1", color="var(--gray-12)", flex="1"),
        rx.cond(
            hint.price != "",
            rx.button(
                hint.label,
                size="1",
                variant="soft",
                type="button",
                on_click=S.set_price(hint.price),
                class_name="hint-use",
            ),
        ),
        align="center",
        spacing="2",
        width="100%",
    )


def _price_field() -> rx.Component:
    return rx.cond(
        (S.dialog_kind == "buy") | (S.dialog_kind == "sell"),
        rx.vstack(
            rx.text(
                rx.cond(S.dialog_kind == "buy", "Lowest ask", "Highest bid"),
                size="1",
                color="var(--gray-11)",
            ),
            rx.text(
                rx.cond(S.fixed_price != "", S.fixed_price, "\u2014"),
                size="7",
                weight="bold",
                id="fixed-price",
                class_name="tabular",
            ),
            spacing="0",
        ),
        rx.vstack(
            field_label(
                rx.cond(S.dialog_kind == "bid", "Your bid (USD)", "Your ask (USD)"), "price-input"
            ),
            rx.input(
                rx.input.slot(rx.icon("dollar-sign", size=14)),
                value=S.price_input,
                on_change=S.set_price.debounce(250),
                placeholder="e.g. 250",
                name="price",
                id="price-input",
                input_mode="decimal",
                auto_complete="off",
                auto_focus=True,
                size="3",
                width="100%",
                color_scheme=rx.cond(S.price_error != "", "red", "gray"),
                **described_by(S.price_error, "price-error"),
            ),
            field_error(S.price_error, "price-error"),
            spacing="1",
            width="100%",
        ),
    )


def _expiry_field() -> rx.Component:
    return rx.cond(
        (S.dialog_kind == "bid") | (S.dialog_kind == "ask"),
        rx.vstack(
            field_label("Expires after", "expiry-select"),
            rx.select.root(
                rx.select.trigger(id="expiry-select", width="100%"),
                rx.select.content(
                    rx.foreach(
                        S.expiry_choices,
                        lambda d: rx.select.item(rx.cond(d == "1", "1 day", d + " days"), value=d),
                    )
                ),
                value=S.expiry_days,
                on_change=S.set_expiry,
            ),
            spacing="1",
            width="100%",
        ),
    )


def _add_button(label: str, on_click: rx.EventHandler, button_id: str) -> rx.Component:
    return rx.button(
        rx.icon("plus", size=14),
        label,
        size="1",
        variant="ghost",
        type="button",
        on_click=on_click,
        id=button_id,
    )


def _picker(
    title: str,
    options: rx.Var,
    value: rx.Var,
    on_change: rx.EventHandler,
    empty: str,
    select_id: str,
    add: rx.Component,
) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            field_label(title, select_id),
            rx.spacer(),
            add,
            width="100%",
            align="center",
        ),
        choice_select(options, value, on_change, empty, select_id),
        spacing="1",
        width="100%",
        min_width="0",
    )


def _card_picker() -> rx.Component:
    return rx.vstack(
        _picker(
            "Pay with",
            S.cards,
            S.card_id,
            S.choose_card,
            "No card saved yet.",
            "checkout-card",
            rx.cond(~A.card_form_open, _add_button("Add a card", A.open_card_form, "add-card")),
        ),
        rx.cond(A.card_form_open, card_form()),
        spacing="2",
        width="100%",
    )


def _address_picker() -> rx.Component:
    return _picker(
        rx.cond(
            (S.dialog_kind == "buy") | (S.dialog_kind == "bid"),
            "Ship to",
            "Return address (if it fails authentication)",
        ),
        S.addresses,
        S.address_id,
        S.choose_address,
        "No address saved yet.",
        "checkout-address",
        _add_button("Add an address", A.open_address_form(0), "add-address"),
    )


def _checkout_fields() -> rx.Component:
    """The card that will be charged and where the pair goes (an ask: where a pair that fails
    authentication comes back to), each changeable here, new ones added without leaving."""
    return rx.vstack(
        rx.cond((S.dialog_kind == "buy") | (S.dialog_kind == "bid"), _card_picker()),
        _address_picker(),
        field_error(S.checkout_error, "checkout-error"),
        spacing="3",
        width="100%",
        min_width="0",
        padding="12px",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
        id="checkout-fields",
    )


def _size_field() -> rx.Component:
    return rx.vstack(
        field_label("Size", "dialog-size"),
        rx.select.root(
            rx.select.trigger(
                placeholder="Choose a size",
                id="dialog-size",
                width="100%",
                **described_by(S.size_error, "size-error"),
            ),
            rx.select.content(
                rx.foreach(
                    S.size_names,
                    lambda s: rx.select.item(S.size_labels[s + "|" + S.size_system], value=s),
                ),
            ),
            value=S.dialog_size,
            on_change=S.set_dialog_size,
        ),
        field_error(S.size_error, "size-error"),
        spacing="1",
        width="100%",
    )


def _breakdown() -> rx.Component:
    return rx.cond(
        S.total != "",
        rx.vstack(
            rx.foreach(S.fee_lines, _fee_row),
            rx.separator(size="4"),
            rx.hstack(
                rx.text(S.total_label, size="3", weight="bold"),
                rx.spacer(),
                rx.text(S.total, size="4", weight="bold", id="fee-total", class_name="tabular"),
                width="100%",
                align="center",
            ),
            spacing="2",
            width="100%",
            padding="12px",
            background="var(--gray-a2)",
            border_radius="var(--radius-3)",
            id="fee-breakdown",
        ),
        rx.text(
            "Enter a price to see the fees and your total.",
            size="1",
            color="var(--gray-11)",
        ),
    )


def _blocker() -> rx.Component:
    return rx.cond(
        S.blocker != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("credit-card")),
            rx.callout.text(
                S.blocker,
                " ",
                rx.link(
                    "Go to your account", href=routes.ACCOUNT, weight="bold", id="blocker-link"
                ),
            ),
            color_scheme="amber",
            size="1",
            id="trade-blocker",
        ),
    )


def trade_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.form(
                rx.vstack(
                    dialog_title(_title(), margin_bottom="0"),
                    rx.dialog.description(_subtitle(), size="2", color="var(--gray-11)"),
                    _blocker(),
                    _size_field(),
                    _price_field(),
                    rx.cond(
                        S.hints.length() > 0,
                        rx.vstack(rx.foreach(S.hints, _hint), spacing="2", width="100%"),
                    ),
                    _expiry_field(),
                    _checkout_fields(),
                    _breakdown(),
                    rx.cond(
                        S.form_error != "",
                        rx.callout.root(
                            rx.callout.icon(rx.icon("circle-alert")),
                            rx.callout.text(S.form_error),
                            color_scheme="red",
                            size="1",
                            id="form-error",
                            role="alert",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button"),
                        ),
                        rx.button(
                            rx.match(
                                S.dialog_kind,
                                ("buy", "Confirm purchase"),
                                ("sell", "Confirm sale"),
                                ("ask", "Place ask"),
                                "Place bid",
                            ),
                            type="submit",
                            id="confirm-trade",
                            loading=S.submitting,
                            disabled=(S.blocker != "") | S.submitting,
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=S.submit_trade,
                reset_on_submit=False,
            ),
            address_dialog(),
            # a definite width: a long saved address in a select is cut, never widens it
            width="min(460px, calc(100vw - 32px))",
            max_width="460px",
            id="trade-dialog",
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )
