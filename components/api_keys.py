"""The /account API keys section: the member's working keys (each revoked after a confirmation),
the form that makes one, the new key shown once with a Copy button, and links to the API's and
the market-data feed's documentation."""

from __future__ import annotations

import reflex as rx

from components.a11y import alert_dialog_title, named_list
from components.account_sections import section
from components.fields import described_by, field_error, field_label
from state.api_keys import NAME_MAX, READ, TRADE, ApiKeyRow, ApiKeyState
from state.base import toast

K = ApiKeyState

SCOPE_CHOICES = (
    (READ, "Read", "your bids, asks and orders"),
    (
        TRADE,
        "Read and trade",
        "also place, reprice and cancel bids and asks and mark sales shipped",
    ),
)


def _revoke_dialog(row: ApiKeyRow) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                "Revoke",
                size="1",
                variant="ghost",
                color_scheme="red",
                aria_label="Revoke " + row.name,
                id=f"api-key-revoke-{row.id}",
            )
        ),
        rx.alert_dialog.content(
            alert_dialog_title("Revoke “", row.name, "”?"),
            rx.alert_dialog.description(
                "Anything that uses this key (",
                rx.code(row.prefix, "…", variant="ghost"),
                ") stops working at once. This cannot be undone; you can make a new key.",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Revoke key",
                        color_scheme="red",
                        on_click=K.revoke_key(row.id),
                        id=f"api-key-revoke-confirm-{row.id}",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="460px",
        ),
    )


def key_row(row: ApiKeyRow) -> rx.Component:
    """One working key: its name and scope, its public prefix, when it was made and last used."""
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(row.name, size="2", weight="bold", min_width="0"),
                    rx.badge(
                        row.scopes,
                        color_scheme=rx.cond(row.trades, "orange", "gray"),
                        size="1",
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                    max_width="100%",
                ),
                rx.code(row.prefix, "…", variant="ghost", size="2", color_scheme="gray"),
                rx.text(
                    "Created ",
                    row.created,
                    " · Last used ",
                    row.last_used,
                    size="1",
                    color="var(--gray-11)",
                ),
                spacing="1",
                flex="1",
                min_width="0",
                max_width="100%",
                overflow_wrap="anywhere",
                word_break="break-word",
            ),
            _revoke_dialog(row),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="3",
            align=rx.breakpoints(initial="start", sm="center"),
            width="100%",
        ),
        padding="12px 14px",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
        width="100%",
        role="listitem",
        class_name="api-key-row",
        id=f"api-key-{row.id}",
    )


def new_key_box() -> rx.Component:
    """The key just made: its whole text, once."""
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.icon("key-round", size=16, color="var(--green-11)", flex_shrink="0"),
                rx.text(
                    "Your new key “",
                    K.new_key_name,
                    "” (",
                    K.new_key_scopes,
                    ")",
                    id="new-api-key-title",
                    size="2",
                    weight="bold",
                    overflow_wrap="anywhere",
                ),
                spacing="2",
                align="center",
            ),
            rx.text(
                "Copy it now and keep it somewhere safe: it will not be shown again. "
                "Anyone who has it can act for you within what it may do.",
                size="2",
                color="var(--gray-12)",
            ),
            rx.flex(
                rx.code(
                    K.new_key,
                    size="2",
                    variant="outline",
                    color_scheme="gray",
                    padding="8px 10px",
                    flex="1",
                    min_width="0",
                    word_break="break-all",
                    id="new-api-key",
                    aria_label="Your new API key",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("copy", size=14),
                        "Copy",
                        variant="soft",
                        on_click=[
                            rx.set_clipboard(K.new_key),
                            toast("success", "Key copied", duration=3000),
                        ],
                        id="new-api-key-copy",
                    ),
                    rx.button(
                        "Done",
                        variant="soft",
                        color_scheme="gray",
                        on_click=K.dismiss_new_key,
                        id="new-api-key-done",
                    ),
                    spacing="2",
                    flex_shrink="0",
                ),
                direction=rx.breakpoints(initial="column", sm="row"),
                spacing="2",
                align=rx.breakpoints(initial="stretch", sm="center"),
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        padding="14px",
        border="1px solid var(--green-a7)",
        background="var(--green-a2)",
        border_radius="var(--radius-3)",
        width="100%",
        role="region",
        aria_labelledby="new-api-key-title",
        id="new-api-key-box",
    )


def _scope_choice(value: str, title: str, detail: str) -> rx.Component:
    return rx.el.label(
        rx.flex(
            rx.radio_group.item(value=value, id=f"api-key-scope-{value}", margin_top="2px"),
            rx.text(
                rx.text(title, weight="medium", as_="span"),
                ": " + detail,
                size="2",
                as_="span",
            ),
            spacing="2",
            align="start",
        ),
        cursor="pointer",
    )


def key_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.vstack(
                field_label("Name", "api-key-name"),
                rx.input(
                    name="name",
                    id="api-key-name",
                    placeholder="Such as “listing script”",
                    max_length=NAME_MAX,
                    auto_complete="off",
                    size="3",
                    width="100%",
                    on_change=rx.cond(K.form_error != "", K.clear_error, rx.noop()),
                    **described_by(K.form_error, "api-key-error"),
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.text("What it may do", size="2", weight="medium", id="api-key-scope-label"),
                rx.radio_group.root(
                    rx.vstack(
                        *(_scope_choice(*choice) for choice in SCOPE_CHOICES),
                        spacing="2",
                    ),
                    name="scope",
                    default_value=READ,
                    aria_labelledby="api-key-scope-label",
                ),
                spacing="1",
                width="100%",
            ),
            field_error(K.form_error, "api-key-error"),
            rx.button(
                rx.cond(K.busy, rx.spinner(size="1"), rx.icon("plus", size=14)),
                "Create key",
                type="submit",
                disabled=K.busy,
                id="api-key-create",
            ),
            spacing="3",
            width="100%",
            max_width="520px",
        ),
        on_submit=K.create_key,
        reset_on_submit=False,
        key=K.form_key.to_string(),
        width="100%",
    )


def _docs_link(text: str, href: rx.Var, link_id: str) -> rx.Component:
    return rx.link(
        text,
        rx.icon("external-link", size=12),
        href=href,
        is_external=True,
        size="2",
        id=link_id,
        display="inline-flex",
        align_items="center",
        gap="4px",
    )


def api_keys_section() -> rx.Component:
    return section(
        "API keys",
        "Let your own scripts and tools use your account through the public API.",
        "key-round",
        rx.flex(
            _docs_link("API documentation", K.docs_href, "api-docs-link"),
            _docs_link("Market-data feed (AsyncAPI)", K.feed_docs_href, "feed-docs-link"),
            spacing="4",
            wrap="wrap",
        ),
        rx.cond(K.new_key != "", new_key_box()),
        rx.cond(
            K.keys.length() > 0,
            named_list(
                rx.foreach(K.keys, key_row), name="Your API keys", spacing="2", width="100%"
            ),
            rx.text(
                "No keys yet. Make one for each script or tool, so you can revoke one alone.",
                size="2",
                color="var(--gray-11)",
                id="no-api-keys",
            ),
        ),
        rx.cond(K.new_key == "", rx.fragment(rx.divider(), key_form())),
        id="api-keys",
    )
