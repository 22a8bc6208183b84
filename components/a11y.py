"""Parts for people who use a screen reader or the keyboard: text only they hear, the word a
colour stands for, polite announcements of live figures (at most one every 10 s), dialog titles
under the page's h1, and the page script (`assets/a11y.js`) that does the announcing and gives
the focus back to a dialog's opener."""

from __future__ import annotations

import reflex as rx

A11Y_JS = "/a11y.js"


def sr_only(*children: rx.Component | rx.Var | str, **props: object) -> rx.Component:
    """Read by screen readers, not shown (`.sr-only` in assets/styles.css)."""
    return rx.el.span(*children, class_name="sr-only", **props)


def trend_word(direction: rx.Var) -> rx.Component:
    """What green and red say in a price change badge, in words: up, down or unchanged."""
    return sr_only(rx.match(direction, ("up", "up "), ("down", "down "), "unchanged "))


def page_script() -> rx.Component:
    """`assets/a11y.js`, which every page loads (components/layout.py)."""
    return rx.script(src=A11Y_JS)


def live_announcer(text: rx.Var, region_id: str) -> rx.Component:
    """Announce `text` politely when it changes, at most once every 10 seconds (the newest
    text after a burst of changes), never the text the page opened with."""
    return rx.fragment(
        rx.box(text, data_announce_to=region_id, display="none", aria_hidden="true"),
        rx.box(id=region_id, aria_live="polite", role="status", class_name="sr-only"),
    )


def named_list(*items: rx.Component, name: str, **props: object) -> rx.Component:
    """A stack of `items` (each with role "listitem") a screen reader announces as the list
    `name`, with how many items it has."""
    return rx.vstack(*items, role="list", aria_label=name, **props)


# Radix Themes draws a dialog's title as an h1; under the page's own h1 it is an h2.
_H2 = {"as": "h2"}


def dialog_title(*children: rx.Component | rx.Var | str, **props: object) -> rx.Component:
    return rx.dialog.title(*children, custom_attrs=_H2, **props)


def alert_dialog_title(*children: rx.Component | rx.Var | str, **props: object) -> rx.Component:
    return rx.alert_dialog.title(*children, custom_attrs=_H2, **props)
