"""Rows and dialogs of the seller dashboard."""

from __future__ import annotations

import reflex as rx

from components.a11y import dialog_title
from components.fields import described_by, field_error, field_label
from components.order_parts import NUM, status_badge, thumb
from components.rows import item_cell, list_row
from sneakers_app.vocabulary import PayoutStatus
from state.selling import PayoutView, SaleView, SellerState


def _countdown(sale: SaleView) -> rx.Component:
    return rx.badge(
        rx.icon("clock", size=12),
        rx.text(sale.countdown, id=f"countdown-{sale.order_id}"),
        color_scheme=rx.cond(sale.urgent, "red", "amber"),
        variant="soft",
        size="2",
    )


def pending_row(sale: SaleView) -> rx.Component:
    return list_row(
        item_cell(
            thumb(sale.image, sale.name),
            sale.name,
            sale.href,
            rx.vstack(
                rx.text(
                    sale.size,
                    " \u00b7 Sold ",
                    sale.sold_on,
                    " for ",
                    sale.price,
                    " \u00b7 Order #",
                    sale.order_id,
                    size="1",
                    color="var(--gray-11)",
                ),
                rx.hstack(
                    status_badge(sale.status_label, sale.tone),
                    rx.cond(sale.can_ship, _countdown(sale)),
                    rx.cond(
                        sale.can_appeal,
                        rx.badge(
                            rx.icon("scale", size=12),
                            "Appeal: ",
                            sale.appeal_left,
                            color_scheme="amber",
                            variant="soft",
                            size="2",
                        ),
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
                rx.cond(
                    sale.can_ship,
                    rx.text("Ship by ", sale.ship_by, size="1", color="var(--gray-11)"),
                ),
                rx.cond(
                    sale.tracking != "",
                    rx.text(
                        "Tracking ",
                        rx.code(sale.tracking, size="1"),
                        size="1",
                        color="var(--gray-11)",
                    ),
                ),
                spacing="1",
            ),
        ),
        rx.hstack(
            rx.vstack(
                rx.text("Payout", size="1", color="var(--gray-11)"),
                rx.text(sale.payout, size="3", weight="bold", style=NUM),
                spacing="0",
                align="end",
            ),
            rx.cond(
                sale.can_ship,
                rx.hstack(
                    rx.cond(
                        sale.can_extend,
                        rx.button(
                            "Extend 24h",
                            variant="ghost",
                            size="2",
                            on_click=SellerState.extend_ship_by(sale.order_id),
                            id=f"extend-{sale.order_id}",
                        ),
                    ),
                    rx.cond(
                        sale.label_href != "",
                        rx.link(
                            rx.button(
                                rx.icon("printer", size=14), "Label", variant="soft", size="2"
                            ),
                            href=sale.label_href,
                            is_external=True,
                            id=f"label-{sale.order_id}",
                        ),
                    ),
                    rx.button(
                        rx.icon("truck", size=14),
                        "Mark shipped",
                        size="2",
                        on_click=SellerState.open_ship(sale.order_id),
                        id=f"ship-{sale.order_id}",
                    ),
                    spacing="2",
                    align="center",
                ),
            ),
            rx.cond(
                sale.can_accept,
                rx.hstack(
                    rx.cond(
                        sale.can_appeal,
                        rx.button(
                            "Appeal",
                            size="2",
                            variant="soft",
                            on_click=SellerState.open_appeal(sale.order_id),
                            id=f"appeal-{sale.order_id}",
                        ),
                    ),
                    rx.button(
                        "Accept result",
                        size="2",
                        variant="soft",
                        color_scheme="red",
                        on_click=SellerState.open_accept(sale.order_id),
                        id=f"accept-{sale.order_id}",
                    ),
                    spacing="2",
                ),
            ),
            spacing="4",
            align="center",
            justify=rx.breakpoints(initial="between", md="end"),
            wrap="wrap",
            width=rx.breakpoints(initial="100%", md="auto"),
        ),
        class_name="pending-sale",
        id=f"sale-{sale.order_id}",
    )


def completed_row(sale: SaleView) -> rx.Component:
    return list_row(
        item_cell(
            thumb(sale.image, sale.name),
            sale.name,
            sale.href,
            rx.hstack(
                rx.text(sale.size, " \u00b7 ", sale.sold_on, size="1", color="var(--gray-11)"),
                status_badge(sale.status_label, sale.tone),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
        ),
        rx.vstack(
            rx.text(
                rx.cond(sale.penalty != "", "-" + sale.penalty.to(str), sale.payout),
                size="3",
                weight="bold",
                style=NUM,
                color=rx.cond(sale.penalty != "", "var(--red-11)", "var(--gray-12)"),
            ),
            rx.text(
                rx.cond(sale.penalty != "", "Penalty", "Sold for " + sale.price.to(str)),
                size="1",
                color="var(--gray-11)",
            ),
            spacing="0",
            align="end",
        ),
        stack=False,
        class_name="completed-sale",
    )


def payout_row(payout: PayoutView) -> rx.Component:
    paid = payout.status == PayoutStatus.PAID
    return list_row(
        item_cell(
            rx.center(
                rx.icon(
                    rx.cond(paid, "circle-check", "hourglass"),
                    size=18,
                    color=rx.cond(paid, "var(--green-11)", "var(--amber-11)"),
                ),
                width="36px",
                height="36px",
                min_width="36px",
                border_radius="999px",
                background=rx.cond(paid, "var(--green-3)", "var(--amber-3)"),
            ),
            payout.name,
            payout.href,
            rx.text(
                rx.cond(
                    paid,
                    "Paid " + payout.paid.to(str) + " \u00b7 Ref " + payout.reference.to(str),
                    rx.cond(
                        payout.status == PayoutStatus.FAILED,
                        "Failed: we will retry and email you",
                        "Released " + payout.created.to(str) + " \u00b7 on its way",
                    ),
                ),
                size="1",
                color="var(--gray-11)",
            ),
        ),
        rx.hstack(
            rx.badge(
                rx.match(
                    payout.status,
                    (PayoutStatus.PAID, "Paid"),
                    (PayoutStatus.FAILED, "Failed"),
                    "Pending",
                ),
                color_scheme=rx.match(
                    payout.status,
                    (PayoutStatus.PAID, "green"),
                    (PayoutStatus.FAILED, "red"),
                    "amber",
                ),
                variant="soft",
                radius="full",
            ),
            rx.text(payout.amount, size="3", weight="bold", style=NUM),
            spacing="3",
            align="center",
        ),
        stack=False,
        class_name="payout-row",
    )


def _dialog(
    open_: rx.Var,
    title: str,
    description: rx.Component,
    body: rx.Component,
    dialog_id: str,
) -> rx.Component:
    """A seller's dialog. `description` is phrasing content (an `rx.fragment` of text): the
    dialog's description is already a paragraph, and a paragraph in it is invalid HTML."""
    return rx.dialog.root(
        rx.dialog.content(
            dialog_title(title),
            rx.dialog.description(description, size="2", color="var(--gray-11)"),
            rx.box(body, padding_top="12px"),
            max_width="440px",
            id=dialog_id,
        ),
        open=open_,
        on_open_change=SellerState.dialog_open_change,
    )


def _buttons(confirm: str, confirm_id: str, color: str = "green") -> rx.Component:
    return rx.hstack(
        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
        rx.button(
            confirm,
            type="submit",
            loading=SellerState.busy,
            disabled=SellerState.busy,
            color_scheme=color,
            id=confirm_id,
        ),
        justify="end",
        spacing="3",
        width="100%",
    )


def ship_dialog() -> rx.Component:
    return _dialog(
        SellerState.ship_order_id != 0,
        "Mark as shipped",
        rx.fragment(
            SellerState.ship_name,
            ". Ship the pair to our authentication center and enter the carrier's tracking number.",
        ),
        rx.form(
            rx.vstack(
                field_label("Tracking number", "tracking"),
                rx.input(
                    name="tracking",
                    id="tracking",
                    **described_by(SellerState.tracking_error, "tracking-error"),
                    width="100%",
                    placeholder="e.g. 1Z999AA10123456784",
                    max_length=60,
                    size="3",
                    auto_focus=True,
                    auto_complete="off",
                    key=SellerState.ship_order_id,
                ),
                field_error(SellerState.tracking_error, "tracking-error", size="2"),
                _buttons("Confirm shipment", "ship-confirm"),
                spacing="2",
                width="100%",
            ),
            on_submit=SellerState.mark_shipped,
            reset_on_submit=False,
        ),
        "ship-dialog",
    )


def appeal_dialog() -> rx.Component:
    return _dialog(
        SellerState.appeal_order_id != 0,
        "Appeal the inspection",
        rx.fragment(
            "A different inspector checks the pair again. You can appeal once; "
            "their decision is final."
        ),
        rx.form(
            rx.vstack(
                field_label("Why should it pass?", "appeal-reason"),
                rx.text_area(
                    name="reason",
                    id="appeal-reason",
                    **described_by(SellerState.appeal_error, "appeal-error"),
                    placeholder="e.g. The stitching matches the retail pair; photos sent by email.",
                    max_length=500,
                    rows="4",
                    width="100%",
                    key=SellerState.appeal_order_id,
                ),
                field_error(SellerState.appeal_error, "appeal-error", size="2"),
                _buttons("Send appeal", "appeal-confirm"),
                spacing="2",
                width="100%",
            ),
            on_submit=SellerState.submit_appeal,
            reset_on_submit=False,
        ),
        "appeal-dialog",
    )


def accept_dialog() -> rx.Component:
    return _dialog(
        SellerState.accept_order_id != 0,
        "Accept the failed inspection?",
        rx.fragment(
            "The buyer is refunded, the pair is shipped back to you and the penalty for a "
            "failed inspection is charged. This cannot be undone."
        ),
        rx.vstack(
            field_error(SellerState.accept_error, "accept-error", size="2"),
            rx.hstack(
                rx.dialog.close(rx.button("Keep it open", variant="soft", color_scheme="gray")),
                rx.button(
                    "Accept and refund buyer",
                    color_scheme="red",
                    loading=SellerState.busy,
                    disabled=SellerState.busy,
                    on_click=SellerState.accept_failure,
                    id="accept-confirm",
                ),
                justify="end",
                spacing="3",
                width="100%",
            ),
            spacing="3",
        ),
        "accept-dialog",
    )
