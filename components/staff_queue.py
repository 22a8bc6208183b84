"""The console's queue picker (with counts), search filter and queue list."""

from __future__ import annotations

import reflex as rx

from state.staff import QueueRow, VerificationState

ONE_LINE = {"overflow": "hidden", "text_overflow": "ellipsis", "white_space": "nowrap"}
QUEUES = [
    ("to_receive", "To receive", "package"),
    ("to_inspect", "To inspect", "scan-search"),
    ("appeals", "Appeals", "scale"),
    ("to_ship", "To ship", "send"),
    ("in_transit", "In transit", "truck"),
    ("to_return", "To return", "undo-2"),
]


def _count_badge(count: rx.Var, active: rx.Var) -> rx.Component:
    return rx.badge(
        count,
        variant=rx.cond(active, "solid", "soft"),
        color_scheme=rx.cond(active, "green", "gray"),
        radius="full",
    )


def queue_tab(name: str, label: str, icon: str) -> rx.Component:
    active = (VerificationState.view == "queues") & (VerificationState.queue_name == name)
    return rx.button(
        rx.icon(icon, size=16),
        label,
        _count_badge(VerificationState.counts.get(name, 0), active),
        variant=rx.cond(active, "soft", "ghost"),
        color_scheme=rx.cond(active, "green", "gray"),
        size="2",
        margin="0",
        on_click=VerificationState.choose_queue(name),
        aria_pressed=rx.cond(active, "true", "false"),
        id=f"queue-{name.replace('_', '-')}",
    )


def queue_tabs() -> rx.Component:
    payouts_active = VerificationState.view == "payouts"
    return rx.flex(
        *[queue_tab(n, label, icon) for n, label, icon in QUEUES],
        rx.button(
            rx.icon("banknote", size=16),
            "Payouts",
            _count_badge(VerificationState.pending_payouts, payouts_active),
            variant=rx.cond(payouts_active, "soft", "ghost"),
            color_scheme=rx.cond(payouts_active, "green", "gray"),
            size="2",
            margin="0",
            on_click=VerificationState.choose_queue("payouts"),
            aria_pressed=rx.cond(payouts_active, "true", "false"),
            id="queue-payouts",
        ),
        wrap="wrap",
        spacing="2",
        padding="6px",
        border_radius="var(--radius-4)",
        background="var(--gray-a2)",
        width="100%",
    )


def queue_row(row: QueueRow) -> rx.Component:
    """One order of the queue: a button (a tab stop, Enter or Space opens it), pressed while its
    order is open beside the list."""
    selected = VerificationState.selected_id == row.order_id
    return rx.el.button(
        rx.hstack(
            rx.image(
                src=row.image,
                width="56px",
                height="42px",
                object_fit="contain",
                border_radius="var(--radius-2)",
                background="var(--gray-3)",
                alt="",
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(f"#{row.order_id}", size="1", weight="bold", color="var(--gray-11)"),
                    rx.cond(row.appeal, rx.badge("Appeal", color_scheme="amber", size="1")),
                    rx.spacer(),
                    rx.text(row.waiting, size="1", color="var(--gray-11)"),
                    width="100%",
                    align="center",
                ),
                rx.text(row.product, size="2", weight="medium", style=ONE_LINE),
                rx.hstack(
                    rx.text(row.size, size="1", color="var(--gray-11)", title=row.size_line),
                    rx.text("·", size="1", color="var(--gray-11)", aria_hidden="true"),
                    rx.text(row.price, size="1", color="var(--gray-11)"),
                    rx.cond(
                        row.tracking != "",
                        rx.text(
                            row.tracking,
                            size="1",
                            color="var(--gray-11)",
                            font_family="var(--code-font-family)",
                            style=ONE_LINE,
                        ),
                    ),
                    spacing="2",
                    align="center",
                ),
                spacing="1",
                width="100%",
                min_width="0",
            ),
            spacing="3",
            align="center",
            width="100%",
            min_width="0",
        ),
        type="button",
        aria_pressed=rx.cond(selected, "true", "false"),
        padding="10px 12px",
        width="100%",
        min_width="0",
        overflow="hidden",
        border_radius="var(--radius-3)",
        cursor="pointer",
        display="block",
        text_align="left",
        font="inherit",
        color="inherit",
        background=rx.cond(selected, "var(--accent-a3)", "transparent"),
        border=rx.cond(selected, "1px solid var(--accent-a7)", "1px solid transparent"),
        _hover={"background": rx.cond(selected, "var(--accent-a4)", "var(--gray-a3)")},
        on_click=VerificationState.select_order(row.order_id),
        id=f"queue-row-{row.order_id}",
        class_name="queue-row",
    )


def empty_queue() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("inbox", size=32, color="var(--gray-8)"),
            rx.text("Nothing waiting here", size="3", weight="medium"),
            rx.text(
                rx.match(
                    VerificationState.queue_name,
                    ("to_receive", "Pairs sellers ship to the centre appear here with tracking."),
                    ("to_inspect", "Received pairs wait here for an inspector."),
                    ("appeals", "Failed pairs a seller appealed wait here for a second opinion."),
                    ("to_ship", "Authenticated pairs wait here to be shipped to the buyer."),
                    (
                        "to_return",
                        "Pairs that failed authentication for good wait here to go back to "
                        "their sellers.",
                    ),
                    "Pairs on their way to buyers appear here until delivered.",
                ),
                size="2",
                color="var(--gray-11)",
                text_align="center",
            ),
            align="center",
            spacing="2",
            max_width="280px",
        ),
        padding_y="40px",
        id="queue-empty",
    )


def queue_list() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.form(
                rx.input(
                    rx.input.slot(rx.icon("search", size=14)),
                    placeholder="Scan a label, or filter the queue",
                    value=VerificationState.search,
                    on_change=VerificationState.set_search,
                    max_length=100,
                    size="2",
                    width="100%",
                    name="search",
                    id="queue-search",
                    aria_label="Scan a label, or filter the queue",
                ),
                on_submit=VerificationState.find_scanned,
                width="100%",
            ),
            rx.cond(
                VerificationState.search_note != "",
                rx.text(
                    VerificationState.search_note,
                    size="1",
                    color="var(--red-11)",
                    id="queue-search-note",
                ),
            ),
            rx.cond(
                VerificationState.visible_rows.length() > 0,
                rx.vstack(
                    rx.foreach(VerificationState.visible_rows, queue_row),
                    spacing="1",
                    width="100%",
                    id="queue-list",
                ),
                empty_queue(),
            ),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
    )
