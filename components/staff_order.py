"""One order in the console: its facts, the checklist and the next action, and the audit trail."""

from __future__ import annotations

import reflex as rx

from components.a11y import named_list
from components.fields import described_by, field_error, field_label
from state.staff import EventRow, InspectionRow, VerificationState

S = VerificationState


def fact(
    label: str, value: rx.Var | str, mono: bool = False, id: str = "", detail: rx.Var | None = None
) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color="var(--gray-11)", weight="medium"),
        rx.text(
            rx.cond(value != "", value, "—"),
            size="2",
            font_family="var(--code-font-family)" if mono else None,
            overflow_wrap="anywhere",
            id=id or None,
        ),
        rx.text(detail, size="1", color="var(--gray-11)", overflow_wrap="anywhere")
        if detail is not None
        else rx.fragment(),
        spacing="0",
        min_width="0",
    )


def order_header() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(
                f"Order #{S.selected_id}", size="2", color="var(--gray-11)", white_space="nowrap"
            ),
            rx.badge(S.d_status_label, color_scheme="blue", id="order-status"),
            rx.cond(S.d_appeal, rx.badge("Appeal re-review", color_scheme="amber")),
            rx.spacer(),
            rx.icon_button(
                rx.icon("x", size=16),
                variant="ghost",
                color_scheme="gray",
                on_click=S.close_order,
                aria_label="Close",
                id="close-order",
            ),
            spacing="2",
            align="center",
            width="100%",
        ),
        rx.flex(
            rx.image(
                src=S.d_image,
                width=rx.breakpoints(initial="100%", sm="160px"),
                height="120px",
                object_fit="contain",
                background="var(--gray-3)",
                border_radius="var(--radius-3)",
                flex_shrink="0",
                alt="",
            ),
            rx.vstack(
                rx.heading(S.d_product, size="5", as_="h2", id="order-product"),
                rx.text(
                    S.d_brand,
                    " · Style ",
                    S.d_style_code,
                    " · ",
                    S.d_size,
                    size="2",
                    color="var(--gray-11)",
                ),
                spacing="2",
                min_width="0",
                justify="center",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="4",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def facts_grid() -> rx.Component:
    return rx.grid(
        fact("Sale price", S.d_price, id="fact-price"),
        fact("Buyer paid", S.d_buyer_total),
        fact("Seller payout", S.d_seller_payout),
        fact("Size", S.d_size, id="fact-size", detail=S.d_size_line),
        fact("Seller", S.d_seller, id="fact-seller", detail=S.d_seller_email),
        fact("Buyer", S.d_buyer, detail=S.d_buyer_email),
        fact("Inbound tracking", S.d_inbound, mono=True, id="fact-inbound"),
        fact("Outbound tracking", S.d_outbound, mono=True, id="fact-outbound"),
        rx.cond(S.d_return != "", fact("Return tracking", S.d_return, mono=True, id="fact-return")),
        columns=rx.breakpoints(initial="2", md="4"),
        spacing="4",
        row_gap="16px",
        width="100%",
    )


def address_fact(label: str, lines: rx.Var, id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color="var(--gray-11)", weight="medium"),
        rx.cond(
            lines.length() > 0,
            rx.vstack(
                rx.foreach(lines, lambda line: rx.text(line, size="2", overflow_wrap="anywhere")),
                spacing="0",
            ),
            rx.text("No address on file", size="2", color="var(--red-11)"),
        ),
        spacing="1",
        min_width="0",
        id=id,
    )


def addresses() -> rx.Component:
    """Where the pair goes, and where it returns after a failure (snapshots of the match)."""
    return rx.grid(
        address_fact("Ship to (buyer)", S.d_buyer_address, "buyer-address"),
        address_fact("Return to (seller)", S.d_seller_address, "seller-address"),
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="4",
        width="100%",
    )


def check(name: str, label: str, hint: str) -> rx.Component:
    return rx.box(
        rx.checkbox(
            rx.vstack(
                rx.text(label, size="2", weight="medium"),
                rx.text(hint, size="1", color="var(--gray-11)"),
                spacing="0",
            ),
            checked=getattr(S, name),
            on_change=lambda value: S.set_check(name, value),
            size="2",
            id=f"check-{name.removesuffix('_ok')}",
        ),
        padding="10px 12px",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
    )


def inspection_form() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.d_appeal,
            rx.callout(
                "The seller appealed a failed inspection. A different inspector must review it.",
                icon="scale",
                color_scheme="amber",
                size="1",
                width="100%",
            ),
        ),
        rx.text("Checklist", size="3", weight="bold"),
        rx.grid(
            check("box_ok", "Box condition", "Original box, label matches, no heavy damage"),
            check("stitching_ok", "Stitching", "Even, tight, consistent with retail pairs"),
            check("materials_ok", "Materials", "Leather, suede, mesh and sole as expected"),
            check("tags_ok", "Tags", "Size tag, production dates and codes match"),
            check("size_ok", "Size matches", "Tag and box show the size that was sold"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="2",
            width="100%",
        ),
        field_label("Notes for the record (optional)", "inspection-notes"),
        rx.text_area(
            placeholder="What you saw",
            value=S.notes,
            on_change=S.set_notes,
            max_length=2000,
            rows="2",
            width="100%",
            id="inspection-notes",
        ),
        field_label("Reason, if the pair fails (the seller sees this)", "fail-reason"),
        rx.input(
            placeholder="e.g. Stitching does not match the retail pair",
            **described_by(S.reason_error, "fail-reason-error"),
            value=S.fail_reason,
            on_change=S.set_fail_reason,
            max_length=500,
            width="100%",
            id="fail-reason",
        ),
        field_error(S.reason_error, "fail-reason-error"),
        rx.flex(
            rx.button(
                rx.icon("shield-check", size=16),
                "Pass",
                on_click=S.pass_pair,
                disabled=~S.all_checks_ok,
                size="3",
                id="pass-button",
            ),
            rx.button(
                rx.icon("shield-x", size=16),
                "Fail",
                on_click=S.fail_pair,
                color_scheme="red",
                variant="soft",
                size="3",
                id="fail-button",
            ),
            rx.cond(
                ~S.all_checks_ok,
                rx.text("Tick every check to pass the pair.", size="1", color="var(--gray-11)"),
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        spacing="3",
        width="100%",
    )


def action_button(label: str, icon: str, handler: rx.EventHandler, id: str) -> rx.Component:
    return rx.button(rx.icon(icon, size=16), label, on_click=handler, size="3", id=id)


def label_button(text: str) -> rx.Component:
    """Opens the parcel's label (a PDF) in a new tab, to print."""
    return rx.cond(
        S.d_label_href != "",
        rx.link(
            rx.button(rx.icon("printer", size=16), text, variant="soft", size="3"),
            href=S.d_label_href,
            is_external=True,
            id="label-link",
        ),
        rx.cond(
            S.d_label_note != "",
            rx.callout(
                S.d_label_note, icon="printer", color_scheme="amber", size="1", id="label-note"
            ),
        ),
    )


def ship_form(title: str, label_text: str, button: rx.Component) -> rx.Component:
    """A parcel leaving the centre: print its label, then the carrier's tracking number."""
    return rx.vstack(
        rx.text(title, size="3", weight="bold"),
        label_button(label_text),
        field_label("Carrier tracking number", "ship-tracking"),
        rx.flex(
            rx.input(
                placeholder="e.g. 1Z999AA10123456784",
                **described_by(S.tracking_error, "ship-tracking-error"),
                value=S.tracking,
                on_change=S.set_tracking,
                max_length=60,
                size="3",
                flex="1",
                min_width="220px",
                id="ship-tracking",
            ),
            button,
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        field_error(S.tracking_error, "ship-tracking-error"),
        spacing="2",
        width="100%",
    )


def next_action() -> rx.Component:
    return rx.match(
        S.d_status,
        (
            "shipped_to_verification",
            rx.vstack(
                rx.text(
                    "Check the parcel's tracking number against the inbound tracking above.",
                    size="2",
                    color="var(--gray-11)",
                ),
                action_button("Mark received", "package-check", S.receive, "receive-button"),
                spacing="3",
            ),
        ),
        (
            "received",
            action_button("Start inspection", "scan-search", S.start_inspection, "inspect-button"),
        ),
        ("authenticating", inspection_form()),
        (
            "authenticated",
            ship_form(
                "Ship the pair to the buyer",
                "Print buyer label",
                action_button("Ship to buyer", "send", S.ship_to_buyer, "ship-button"),
            ),
        ),
        (
            "returning_to_seller",
            ship_form(
                "Ship the pair back to the seller",
                "Print return label",
                action_button(
                    "Ship back to seller", "undo-2", S.ship_back_to_seller, "ship-back-button"
                ),
            ),
        ),
        (
            "shipped_to_buyer",
            rx.vstack(
                rx.text(
                    "Record delivery once the carrier confirms it. The seller's payout is then "
                    "released.",
                    size="2",
                    color="var(--gray-11)",
                ),
                rx.cond(
                    S.d_delivery_confirmed_by != "",
                    rx.text(
                        "Delivery confirmed by ",
                        S.d_delivery_confirmed_by,
                        ". A valuable order needs a second staff member (or the carrier's "
                        "delivery event).",
                        size="2",
                        color="var(--amber-11)",
                        id="delivery-confirmations",
                    ),
                ),
                action_button("Mark delivered", "house", S.mark_delivered, "deliver-button"),
                spacing="3",
            ),
        ),
        rx.text(
            "Nothing to do here: this order is ",
            S.d_status_label.lower(),
            ".",
            size="2",
            color="var(--gray-11)",
            id="no-action",
        ),
    )


def event_row(row: EventRow) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="8px",
            height="8px",
            border_radius="50%",
            background="var(--accent-9)",
            margin_top="6px",
            flex_shrink="0",
        ),
        rx.vstack(
            rx.hstack(
                rx.text(row.status_label, size="2", weight="medium"),
                rx.text(row.when, size="1", color="var(--gray-11)"),
                spacing="2",
                align="baseline",
                wrap="wrap",
            ),
            rx.text(row.actor, " · ", row.reason, size="1", color="var(--gray-11)"),
            spacing="0",
        ),
        spacing="3",
        align="start",
        role="listitem",
        class_name="audit-event",
    )


def inspection_row(row: InspectionRow) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.badge(
                rx.cond(row.passed, "Passed", "Failed"),
                color_scheme=rx.cond(row.passed, "green", "red"),
            ),
            rx.cond(row.appeal, rx.badge("Appeal", color_scheme="amber")),
            rx.text(row.inspector, size="2", weight="medium"),
            rx.text(row.when, size="1", color="var(--gray-11)"),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.text(row.checks, size="1", color="var(--gray-11)", margin_top="4px"),
        rx.cond(
            row.failed_checks != "",
            rx.text("Not OK: ", row.failed_checks, size="1", color="var(--red-11)"),
        ),
        rx.cond(row.reason != "", rx.text("Reason: ", row.reason, size="1")),
        rx.cond(row.notes != "", rx.text("Notes: ", row.notes, size="1", color="var(--gray-11)")),
        padding="10px 12px",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
        width="100%",
        class_name="inspection-record",
    )


def audit_trail() -> rx.Component:
    return rx.vstack(
        rx.text("Audit trail", size="3", weight="bold"),
        rx.cond(
            S.inspections.length() > 0,
            rx.vstack(rx.foreach(S.inspections, inspection_row), spacing="2", width="100%"),
        ),
        named_list(rx.foreach(S.events, event_row), name="Audit trail", spacing="3"),
        spacing="3",
        width="100%",
    )


def order_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            order_header(),
            rx.separator(size="4"),
            facts_grid(),
            addresses(),
            rx.separator(size="4"),
            rx.cond(
                S.d_conflict != "",
                rx.callout(
                    S.d_conflict,
                    icon="shield-alert",
                    color_scheme="amber",
                    size="1",
                    width="100%",
                    id="conflict-note",
                ),
                next_action(),
            ),
            rx.cond(
                S.action_error != "",
                rx.callout(
                    S.action_error,
                    icon="triangle-alert",
                    color_scheme="red",
                    size="1",
                    width="100%",
                    role="alert",
                    id="action-error",
                ),
            ),
            rx.separator(size="4"),
            audit_trail(),
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
        role="region",
        aria_label=f"Order #{S.selected_id}",
        id="order-panel",
    )


def no_order_selected() -> rx.Component:
    return rx.card(
        rx.center(
            rx.vstack(
                rx.icon("mouse-pointer-click", size=32, color="var(--gray-8)"),
                rx.text("Choose a pair from the queue", size="3", weight="medium"),
                rx.text(
                    "Its order facts, the checklist and the audit trail open here.",
                    size="2",
                    color="var(--gray-11)",
                    text_align="center",
                ),
                align="center",
                spacing="2",
            ),
            padding_y="64px",
        ),
        size="3",
        width="100%",
        # On a phone the queue is the page until a pair is chosen.
        display=rx.breakpoints(initial="none", md="block"),
    )
