"""The account page's sections: profile, addresses, card, payout details, preferences."""

from __future__ import annotations

import reflex as rx

from components.a11y import dialog_title
from components.address_form import address_form
from components.fields import described_by, field_error, field_label
from state.account import AccountState, AddressRow, Choice, PreferenceRow
from state.base import SessionState

A = AccountState


def section(title: str, subtitle: str, icon: str, *children: rx.Component, id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.center(
                    rx.icon(icon, size=18),
                    width="36px",
                    height="36px",
                    border_radius="var(--radius-3)",
                    background="var(--accent-a3)",
                    color="var(--accent-11)",
                    flex_shrink="0",
                ),
                rx.vstack(
                    rx.heading(title, size="4", as_="h2"),
                    rx.text(subtitle, size="2", color="var(--gray-11)"),
                    spacing="0",
                ),
                spacing="3",
                align="center",
            ),
            *children,
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
        id=id,
    )


# --- profile --------------------------------------------------------------------------------


def profile_section() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.hstack(
                rx.avatar(
                    fallback=SessionState.user_name.to(str)[:1].upper(),
                    size="5",
                    radius="full",
                ),
                rx.vstack(
                    rx.hstack(
                        rx.text(SessionState.user_name, size="5", weight="bold", id="account-name"),
                        rx.cond(
                            SessionState.user_is_staff, rx.badge("Staff", color_scheme="purple")
                        ),
                        align="center",
                        spacing="2",
                    ),
                    rx.text(
                        SessionState.user_email,
                        size="2",
                        color="var(--gray-11)",
                        overflow_wrap="anywhere",
                    ),
                    spacing="1",
                ),
                spacing="4",
                align="center",
            ),
            rx.spacer(),
            rx.button(
                rx.icon("log-out", size=14),
                "Log out",
                variant="soft",
                color_scheme="red",
                on_click=SessionState.log_out,
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="4",
            align=rx.breakpoints(initial="start", sm="center"),
            width="100%",
        ),
        size="3",
        width="100%",
    )


# --- addresses ------------------------------------------------------------------------------


def address_card(row: AddressRow) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(row.full_name, size="2", weight="bold", min_width="0"),
                    rx.cond(row.is_default, rx.badge("Default", color_scheme="green", size="1")),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                    max_width="100%",
                ),
                rx.text(row.line1, size="2", color="var(--gray-11)"),
                rx.cond(row.line2 != "", rx.text(row.line2, size="2", color="var(--gray-11)")),
                rx.text(row.city_line, " · ", row.country_name, size="2", color="var(--gray-11)"),
                spacing="0",
                flex="1",
                min_width="0",
                max_width="100%",
                # A long name or an unbroken line wraps inside the card, never past it.
                overflow_wrap="anywhere",
                word_break="break-word",
            ),
            rx.hstack(
                rx.cond(
                    ~row.is_default,
                    rx.button(
                        "Make default",
                        size="1",
                        variant="ghost",
                        on_click=A.make_default_address(row.id),
                        id=f"address-default-{row.id}",
                    ),
                ),
                rx.button(
                    "Edit",
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=A.open_address_form(row.id),
                    id=f"address-edit-{row.id}",
                ),
                rx.button(
                    "Delete",
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    on_click=A.delete_address(row.id),
                    id=f"address-delete-{row.id}",
                ),
                spacing="3",
                align="center",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="3",
            width="100%",
        ),
        padding="12px 14px",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
        width="100%",
        class_name="address-card",
    )


def address_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            dialog_title(rx.cond(A.editing_address_id > 0, "Edit address", "Add an address")),
            rx.dialog.description(
                "Where we ship the pairs you buy, and return a pair that fails authentication.",
                size="2",
                margin_bottom="12px",
            ),
            address_form(
                values=A.address_form,
                errors=A.address_errors,
                form_error=A.address_error,
                on_submit=A.save_address,
                on_edit=A.address_edited,
                actions=rx.dialog.close(
                    rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                ),
            ),
            max_width="520px",
        ),
        open=A.address_dialog_open,
        on_open_change=A.address_dialog_changed,
    )


def addresses_section() -> rx.Component:
    return section(
        "Shipping addresses",
        "Where your pairs are delivered after authentication.",
        "map-pin",
        rx.cond(
            A.addresses.length() > 0,
            rx.vstack(rx.foreach(A.addresses, address_card), spacing="2", width="100%"),
            rx.text(
                "No address yet. Add one before your first purchase ships.",
                size="2",
                color="var(--gray-11)",
                id="no-addresses",
            ),
        ),
        rx.cond(
            (A.address_error != "") & ~A.address_dialog_open,
            rx.text(A.address_error, size="1", color="var(--red-11)"),
        ),
        rx.button(
            rx.icon("plus", size=14),
            "Add address",
            variant="soft",
            on_click=A.open_address_form(0),
            id="address-add",
        ),
        address_dialog(),
        id="addresses",
    )


# --- card -----------------------------------------------------------------------------------


def card_row(card: Choice) -> rx.Component:
    """One saved card: brand and last four, the default badge, make default, delete."""
    return rx.hstack(
        rx.center(
            rx.icon("credit-card", size=18),
            width="40px",
            height="28px",
            border_radius="var(--radius-2)",
            background="var(--gray-a3)",
            flex_shrink="0",
        ),
        rx.text(
            card.label,
            size="2",
            weight="medium",
            class_name="card-label",
            id=rx.cond(card.is_default, "card-summary", f"card-label-{card.id}"),
        ),
        rx.cond(card.is_default, rx.badge("Default", color_scheme="green", variant="soft")),
        rx.spacer(),
        rx.cond(
            ~card.is_default,
            rx.button(
                "Make default",
                size="1",
                variant="ghost",
                on_click=A.make_default_card(card.id),
                id=f"card-default-{card.id}",
            ),
        ),
        rx.button(
            rx.icon("trash-2", size=14),
            size="1",
            variant="ghost",
            color_scheme="red",
            aria_label="Delete card",
            on_click=A.delete_card(card.id),
            id=f"card-delete-{card.id}",
        ),
        spacing="2",
        align="center",
        width="100%",
        padding_y="4px",
        id=f"card-row-{card.id}",
        class_name="card-row",
        flex_wrap="wrap",
    )


def saved_card() -> rx.Component:
    return rx.hstack(
        rx.center(
            rx.icon("credit-card", size=20),
            width="48px",
            height="34px",
            border_radius="var(--radius-2)",
            background="var(--gray-a3)",
        ),
        rx.vstack(
            rx.text(A.card_label, size="2", weight="bold", id="card-summary"),
            rx.text(
                "Charged only when a bid or Buy Now matches.", size="1", color="var(--gray-11)"
            ),
            spacing="0",
        ),
        spacing="3",
        align="center",
    )


def card_form() -> rx.Component:
    return rx.vstack(
        rx.box(
            id="card-element",
            width="100%",
            padding="12px",
            min_height="46px",
            border="1px solid var(--gray-a7)",
            border_radius="var(--radius-3)",
            background="var(--color-surface)",
            class_name="card-element",
            # localstripe's stand-in renders plain inputs; real Stripe renders its own iframe.
            style={
                "& input": {
                    "border": "none",
                    "outline": "none",
                    "background": "transparent",
                    "font_size": "16px",
                    "padding": "2px 4px",
                    "color": "var(--gray-12)",
                },
                "& span": {"display": "none"},
            },
        ),
        rx.cond(
            ~A.card_form_ready & (A.card_error == ""),
            rx.hstack(
                rx.spinner(size="1"),
                rx.text("Loading the secure card form…", size="1", color="var(--gray-11)"),
                spacing="2",
                align="center",
            ),
        ),
        rx.hstack(
            rx.icon("lock", size=12, color="var(--gray-10)"),
            rx.text(
                "Card details go straight to Stripe; they never reach our servers.",
                size="1",
                color="var(--gray-11)",
            ),
            spacing="1",
            align="center",
        ),
        field_error(A.card_error, "card-error"),
        rx.hstack(
            rx.button(
                rx.cond(A.card_busy, rx.spinner(size="1"), rx.icon("check", size=14)),
                "Save card",
                type="button",
                on_click=A.save_card,
                disabled=A.card_busy | ~A.card_form_ready,
                id="card-save",
            ),
            rx.button(
                "Cancel",
                variant="soft",
                color_scheme="gray",
                type="button",
                on_click=A.close_card_form,
                disabled=A.card_busy,
            ),
            spacing="3",
        ),
        spacing="2",
        width="100%",
        max_width="520px",
    )


def card_section() -> rx.Component:
    return section(
        "Payment methods",
        "Charged only when a bid or Buy Now matches; the default is chosen first.",
        "credit-card",
        rx.cond(
            A.cards.length() > 0,
            rx.vstack(rx.foreach(A.cards, card_row), spacing="1", width="100%", id="card-list"),
            rx.cond(
                A.card_last4 != "",
                saved_card(),
                rx.text(
                    "No card saved. You need one to place a bid or buy now.",
                    size="2",
                    color="var(--gray-11)",
                    id="no-card",
                ),
            ),
        ),
        rx.cond(
            (A.card_error != "") & ~A.card_form_open,
            rx.text(A.card_error, size="1", color="var(--red-11)", id="card-list-error"),
        ),
        rx.cond(
            A.card_form_open,
            card_form(),
            rx.button(
                rx.icon("plus", size=14),
                "Add a card",
                variant="soft",
                on_click=A.open_card_form,
                id="card-add",
            ),
        ),
        id="payment",
    )


# --- payouts --------------------------------------------------------------------------------


def payout_section() -> rx.Component:
    manual = A.payout_kind == "manual"
    return section(
        "Payout details",
        "Where we send the money when your sales complete.",
        "banknote",
        rx.form(
            rx.vstack(
                rx.grid(
                    rx.vstack(
                        field_label(
                            rx.cond(manual, "Account holder", "Account holder (optional)"),
                            "payout-holder",
                        ),
                        rx.input(
                            name="holder_name",
                            default_value=A.payout_holder,
                            key=A.payout_holder,
                            placeholder="Name on the bank account",
                            max_length=120,
                            size="3",
                            width="100%",
                            id="payout-holder",
                            **described_by(
                                A.payout_errors.get("holder_name", ""), "payout-holder-error"
                            ),
                        ),
                        field_error(A.payout_errors.get("holder_name", ""), "payout-holder-error"),
                        spacing="1",
                        width="100%",
                    ),
                    rx.vstack(
                        field_label(
                            rx.cond(manual, "Bank account details", "Stripe Connect account id"),
                            "payout-ref",
                        ),
                        rx.input(
                            name="account_ref",
                            default_value=A.payout_ref,
                            key=A.payout_ref,
                            placeholder=rx.cond(
                                manual, "IBAN, or routing and account number", "acct_1A2b3C"
                            ),
                            max_length=255,
                            size="3",
                            width="100%",
                            id="payout-ref",
                            **described_by(
                                A.payout_errors.get("account_ref", ""), "payout-ref-error"
                            ),
                        ),
                        field_error(A.payout_errors.get("account_ref", ""), "payout-ref-error"),
                        spacing="1",
                        width="100%",
                    ),
                    rx.cond(
                        A.payout_saved,
                        rx.vstack(
                            field_label("Your password", "payout-password"),
                            rx.input(
                                name="password",
                                type="password",
                                auto_complete="current-password",
                                placeholder="Needed to change where your payouts go",
                                max_length=256,
                                size="3",
                                width="100%",
                                id="payout-password",
                                **described_by(
                                    A.payout_errors.get("password", ""), "payout-password-error"
                                ),
                            ),
                            field_error(
                                A.payout_errors.get("password", ""), "payout-password-error"
                            ),
                            rx.text(
                                "We email you whenever your payout details change. Payouts "
                                "already due go to the details you had when the sale completed.",
                                size="1",
                                color="var(--gray-11)",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                    ),
                    columns="1",
                    spacing="3",
                    width="100%",
                ),
                rx.text(
                    rx.cond(
                        manual,
                        "Our team sends payouts by bank transfer within two business days of "
                        "delivery.",
                        "Payouts are transferred to your Stripe account when a sale completes.",
                    ),
                    size="1",
                    color="var(--gray-11)",
                ),
                rx.button(
                    rx.cond(A.payout_saved, "Update payout details", "Save payout details"),
                    type="submit",
                    id="payout-save",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=A.save_payout,
            reset_on_submit=False,
            width="100%",
        ),
        id="payouts",
    )


# --- preferences ----------------------------------------------------------------------------


def preference_row(row: PreferenceRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.label, size="2")),
        rx.table.cell(
            rx.switch(
                checked=row.in_app,
                on_change=lambda value: A.set_preference(row.kind, "in_app", value),
                id=f"pref-{row.kind}-in_app",
                aria_label=row.label + ": in the app",
            ),
            text_align="center",
        ),
        rx.table.cell(
            rx.switch(
                checked=row.email,
                on_change=lambda value: A.set_preference(row.kind, "email", value),
                id=f"pref-{row.kind}-email",
                aria_label=row.label + ": by email",
            ),
            text_align="center",
        ),
        align="center",
    )


def preferences_section() -> rx.Component:
    return section(
        "Notifications",
        "Choose how we tell you about each kind of event.",
        "bell-ring",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Event"),
                    rx.table.column_header_cell("In-app", text_align="center", width="80px"),
                    rx.table.column_header_cell("Email", text_align="center", width="80px"),
                )
            ),
            rx.table.body(rx.foreach(A.preferences, preference_row)),
            size="1",
            variant="ghost",
            width="100%",
        ),
        id="preferences",
    )
