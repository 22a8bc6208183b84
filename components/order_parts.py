"""Pieces shared by the order, selling and portfolio pages: status badges, product thumbnails,
order rows, a vertical timeline, money lines and empty states."""

from __future__ import annotations

import reflex as rx

from state.orders import MoneyView, OrderRowView, StepView

NUM = {"font_variant_numeric": "tabular-nums", "white_space": "nowrap"}
ELLIPSIS = {"white_space": "nowrap", "overflow": "hidden", "text_overflow": "ellipsis"}


def status_badge(label: rx.Var | str, tone: rx.Var | str, **props: object) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(
            tone,
            ("green", "green"),
            ("red", "red"),
            ("amber", "amber"),
            ("blue", "blue"),
            "gray",
        ),
        variant="soft",
        radius="full",
        size="2",
        # A long status ("Returned to the seller, buyer refunded") wraps on a phone.
        style={"white_space": "normal", "height": "auto"},
        **props,
    )


def thumb(src: rx.Var | str, alt: rx.Var | str, size: str = "56px") -> rx.Component:
    return rx.box(
        rx.image(
            src=src,
            alt=alt,
            width="100%",
            height="100%",
            loading="lazy",
            style={"object_fit": "cover"},
        ),
        width=size,
        min_width=size,
        height=size,
        border_radius="var(--radius-3)",
        overflow="hidden",
        background="var(--gray-3)",
    )


def muted(text: rx.Var | str, size: str = "2", **props: object) -> rx.Component:
    return rx.text(text, size=size, color="var(--gray-11)", **props)


def section(
    title: str | rx.Var,
    *children: rx.Component,
    action: rx.Component | None = None,
    **props: object,
) -> rx.Component:
    header = rx.hstack(
        rx.heading(title, size="4", as_="h2"),
        rx.spacer(),
        *([action] if action is not None else []),
        align="center",
        width="100%",
    )
    # A region named by its title: a screen reader's list of landmarks names every section.
    return rx.card(
        rx.vstack(header, *children, spacing="4", width="100%"),
        width="100%",
        role="region",
        aria_label=title,
        **props,
    )


def empty_state(
    icon: str, title: str, text: str, action: rx.Component | None = None, **props: object
) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.center(
                rx.icon(icon, size=24, color="var(--accent-11)"),
                width="48px",
                height="48px",
                border_radius="999px",
                background="var(--accent-3)",
            ),
            rx.text(title, size="3", weight="bold", text_align="center"),
            rx.text(text, size="2", color="var(--gray-11)", text_align="center", max_width="420px"),
            *([action] if action is not None else []),
            align="center",
            spacing="2",
        ),
        padding_y="28px",
        padding_x="16px",
        width="100%",
        border="1px dashed var(--gray-a6)",
        border_radius="var(--radius-4)",
        **props,
    )


def stat(label: str, value: rx.Var | str, hint: rx.Component | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color="var(--gray-11)", weight="medium"),
        rx.text(value, size="6", weight="bold", style={"font_variant_numeric": "tabular-nums"}),
        *([hint] if hint is not None else []),
        spacing="1",
    )


def order_row(row: OrderRowView) -> rx.Component:
    return rx.link(
        rx.hstack(
            thumb(row.image, row.name),
            rx.vstack(
                rx.text(row.name, size="2", weight="bold", style=ELLIPSIS, width="100%"),
                rx.text(
                    row.size,
                    " \u00b7 Order #",
                    row.id,
                    " \u00b7 ",
                    row.date,
                    size="1",
                    color="var(--gray-11)",
                ),
                # A long status wraps inside its column (at phone width it ran under the
                # figures beside it).
                status_badge(
                    row.status_label,
                    row.tone,
                    class_name="order-status",
                    white_space="normal",
                    max_width="100%",
                    height="auto",
                ),
                spacing="1",
                min_width="0",
                flex="1",
            ),
            rx.vstack(
                rx.text(row.amount_label, size="1", color="var(--gray-11)"),
                rx.text(row.amount, size="3", weight="bold", style=NUM),
                rx.text("Price ", row.price, size="1", color="var(--gray-11)", style=NUM),
                rx.cond(
                    row.note != "",
                    rx.text(row.note, size="1", color="var(--gray-11)", class_name="order-note"),
                ),
                align="end",
                spacing="1",
                flex_shrink="0",
                class_name="order-figures",
            ),
            align="center",
            spacing="3",
            width="100%",
            padding="12px",
            border_radius="var(--radius-3)",
            _hover={"background": "var(--gray-a2)"},
        ),
        href=row.href,
        underline="none",
        color="inherit",
        width="100%",
        class_name="order-row",
        id=f"order-row-{row.id}",
    )


def timeline_step(step: StepView) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.box(
                width="12px",
                height="12px",
                border_radius="999px",
                margin_top="4px",
                background=rx.match(
                    step.tone,
                    ("green", "var(--green-9)"),
                    ("red", "var(--red-9)"),
                    ("amber", "var(--amber-9)"),
                    ("blue", "var(--blue-9)"),
                    "var(--gray-8)",
                ),
                box_shadow="0 0 0 4px var(--gray-2)",
            ),
            rx.box(width="2px", flex="1", background="var(--gray-a5)", class_name="rail"),
            align="center",
            spacing="1",
            align_self="stretch",
        ),
        rx.vstack(
            rx.text(step.label, size="2", weight="bold"),
            rx.text(step.at, " \u00b7 ", step.actor, size="1", color="var(--gray-11)"),
            rx.cond(
                step.reason != "",
                rx.text(step.reason, size="2", color="var(--gray-12)"),
            ),
            spacing="1",
            padding_bottom="18px",
            min_width="0",
        ),
        spacing="3",
        width="100%",
        class_name="timeline-step",
        style={"&:last-of-type .rail": {"visibility": "hidden"}},
    )


def money_line(line: MoneyView) -> rx.Component:
    return rx.vstack(
        rx.cond(line.is_total, rx.separator(size="4")),
        rx.hstack(
            rx.text(
                line.label,
                size="2",
                weight=rx.cond(line.is_total, "bold", "regular"),
                color=rx.cond(line.is_total, "var(--gray-12)", "var(--gray-11)"),
            ),
            rx.spacer(),
            rx.text(
                line.amount,
                size=rx.cond(line.is_total, "3", "2"),
                weight=rx.cond(line.is_total, "bold", "regular"),
                style=NUM,
            ),
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def tracking_line(label: str, number: rx.Var, element_id: str) -> rx.Component:
    return rx.hstack(
        rx.icon("truck", size=16, color="var(--gray-10)"),
        rx.vstack(
            rx.text(label, size="1", color="var(--gray-11)"),
            rx.cond(
                number != "",
                rx.code(number, size="2", id=element_id),
                rx.text("Not shipped yet", size="2", color="var(--gray-11)"),
            ),
            spacing="0",
        ),
        spacing="2",
        align="start",
    )
