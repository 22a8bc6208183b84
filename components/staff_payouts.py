"""Manual payouts waiting for staff: where to send the money, and "mark paid" with a reference."""

from __future__ import annotations

import reflex as rx

from components.a11y import dialog_title
from components.fields import described_by, field_error, field_label
from state.staff import PayoutProblemRow, PayoutRow, VerificationState

S = VerificationState


def payout_row(row: PayoutRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(row.amount, size="5", weight="bold"),
                    rx.badge(f"Order #{row.order_id}", color_scheme="gray", variant="soft"),
                    rx.text(row.waiting, size="1", color="var(--gray-11)"),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(row.seller, " · ", row.seller_email, size="2", color="var(--gray-11)"),
                rx.box(
                    rx.text("Pay to", size="1", color="var(--gray-11)", weight="medium"),
                    rx.text(row.holder, size="2", weight="medium"),
                    rx.text(
                        row.account_ref,
                        size="2",
                        font_family="var(--code-font-family)",
                        word_break="break-all",
                    ),
                    padding="8px 12px",
                    background="var(--gray-a2)",
                    border_radius="var(--radius-3)",
                    width="100%",
                ),
                rx.cond(
                    row.conflict != "",
                    rx.text(row.conflict, size="1", color="var(--amber-11)"),
                ),
                spacing="2",
                flex="1",
                min_width="0",
            ),
            rx.button(
                rx.icon("check", size=16),
                "Mark paid",
                on_click=S.start_payout(row.payout_id),
                disabled=(row.account_ref == "") | (row.conflict != ""),
                size="2",
                id=f"pay-{row.payout_id}",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="3",
            align=rx.breakpoints(initial="stretch", sm="center"),
            width="100%",
        ),
        size="2",
        width="100%",
        class_name="payout-row",
    )


def payout_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            dialog_title("Record a payout as sent"),
            rx.dialog.description(
                "Send the money from the company account first, then enter the transfer's "
                "reference so the seller and the ledger can match it.",
                size="2",
                margin_bottom="12px",
            ),
            field_label("Bank transfer reference", "payout-reference"),
            rx.input(
                **described_by(S.payout_error, "payout-error"),
                value=S.payout_reference,
                on_change=S.set_payout_reference,
                max_length=255,
                size="3",
                auto_focus=True,
                id="payout-reference",
            ),
            field_error(S.payout_error, "payout-error"),
            rx.flex(
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=S.cancel_payout),
                rx.button("Mark paid", on_click=S.confirm_payout, id="payout-confirm"),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="440px",
        ),
        open=S.paying_id > 0,
        on_open_change=S.payout_dialog_changed,
    )


def problem_row(row: PayoutProblemRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(row.amount, size="4", weight="bold"),
                    rx.badge(f"Order #{row.order_id}", color_scheme="gray", variant="soft"),
                    rx.badge(
                        rx.cond(row.status == "failed", "Refused by Stripe", "Not sent"),
                        color_scheme="red",
                    ),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(row.seller, " · ", row.seller_email, size="2", color="var(--gray-11)"),
                rx.text(row.problem, size="2"),
                rx.text(
                    "Stripe Connect account ",
                    row.destination,
                    size="1",
                    color="var(--gray-11)",
                    font_family="var(--code-font-family)",
                ),
                rx.cond(
                    row.conflict != "",
                    rx.text(row.conflict, size="1", color="var(--amber-11)"),
                ),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            rx.button(
                rx.icon("rotate-cw", size=16),
                "Retry transfer",
                on_click=S.retry_payout(row.payout_id),
                disabled=row.conflict != "",
                variant="soft",
                size="2",
                id=f"retry-payout-{row.payout_id}",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="3",
            align=rx.breakpoints(initial="stretch", sm="center"),
            width="100%",
        ),
        size="2",
        width="100%",
        class_name="payout-problem-row",
    )


def payout_problems() -> rx.Component:
    return rx.cond(
        S.payout_problems.length() > 0,
        rx.vstack(
            rx.text("Stripe Connect payouts that need attention", size="3", weight="bold"),
            rx.foreach(S.payout_problems, problem_row),
            spacing="3",
            width="100%",
            id="payout-problems",
        ),
    )


def payouts_view() -> rx.Component:
    return rx.vstack(
        payout_problems(),
        rx.text(
            "Completed sales whose payout staff send by hand (sellers without Stripe Connect).",
            size="2",
            color="var(--gray-11)",
        ),
        rx.cond(
            S.payouts.length() > 0,
            rx.vstack(rx.foreach(S.payouts, payout_row), spacing="3", width="100%", id="payouts"),
            rx.card(
                rx.center(
                    rx.vstack(
                        rx.icon("banknote", size=32, color="var(--gray-8)"),
                        rx.text("No payouts waiting", size="3", weight="medium"),
                        rx.text(
                            "When a delivered sale completes, its seller's payout appears here.",
                            size="2",
                            color="var(--gray-11)",
                        ),
                        align="center",
                        spacing="2",
                    ),
                    padding_y="48px",
                ),
                width="100%",
                id="payouts-empty",
            ),
        ),
        payout_dialog(),
        spacing="3",
        width="100%",
    )
