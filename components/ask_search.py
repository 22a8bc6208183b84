"""The seller dashboard's "New ask" button and its product search (state: `AskSearchState`):
type a name, brand, colorway or style code, pick the sneaker, and its product page opens with
the ask form (`#new-ask`, `#new-ask-dialog`, `#new-ask-search`, `.new-ask-hit`)."""

from __future__ import annotations

import reflex as rx

from components.a11y import dialog_title
from components.order_parts import thumb
from state.ask_search import AskSearchHit, AskSearchState

S = AskSearchState
MUTED = "var(--gray-11)"


def _hit(hit: AskSearchHit) -> rx.Component:
    return rx.link(
        rx.hstack(
            thumb(hit.image, hit.name, size="48px"),
            rx.vstack(
                rx.text(hit.name, size="2", weight="medium"),
                rx.text(hit.colorway, size="1", color=MUTED),
                spacing="0",
                min_width="0",
                flex="1",
            ),
            rx.vstack(
                rx.text("Lowest ask", size="1", color=MUTED),
                rx.text(hit.lowest_ask, size="2", weight="bold", class_name="tabular"),
                spacing="0",
                align="end",
            ),
            rx.icon("chevron-right", size=16, color=MUTED),
            align="center",
            spacing="3",
            width="100%",
            padding="8px",
            border_radius="var(--radius-3)",
            _hover={"background": "var(--gray-3)"},
        ),
        href=hit.href,
        underline="none",
        color="inherit",
        width="100%",
        class_name="new-ask-hit",
        id="new-ask-hit-" + hit.slug,
    )


def new_ask_button() -> rx.Component:
    return rx.button(
        rx.icon("plus", size=14),
        "New ask",
        size="2",
        variant="soft",
        on_click=S.set_open(True),
        id="new-ask",
    )


def new_ask_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            dialog_title("New ask"),
            rx.dialog.description(
                "Find the sneaker you want to sell; its ask form opens next.",
                size="2",
                color=MUTED,
            ),
            rx.vstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    placeholder="Name, brand, colorway or style code",
                    value=S.query,
                    on_change=S.search.debounce(250),
                    max_length=100,
                    size="3",
                    width="100%",
                    auto_focus=True,
                    auto_complete="off",
                    type="search",
                    aria_label="Search sneakers",
                    id="new-ask-search",
                ),
                rx.cond(
                    S.hits.length() > 0,
                    rx.vstack(rx.foreach(S.hits, _hit), spacing="1", width="100%"),
                    rx.text(
                        rx.cond(
                            S.searched,
                            "No sneaker matches that. Try a brand or a model name.",
                            "Start typing to find the sneaker.",
                        ),
                        size="2",
                        color=MUTED,
                        id="new-ask-empty",
                    ),
                ),
                spacing="3",
                width="100%",
                padding_top="12px",
            ),
            max_width="520px",
            id="new-ask-dialog",
        ),
        open=S.open,
        on_open_change=S.set_open,
    )
