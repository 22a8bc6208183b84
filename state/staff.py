"""The verification console: queues, one order's facts and checklist, staff actions, payouts.

Staff only. Every handler re-reads the session (`_staff`) and the services re-check staff in
the database, so a browser that kept the console open after its session changed can call
nothing. An action's emails (and, once delivered, the payout) are outbox rows its commit
publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes, vocabulary
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import journal, labels, saga, verification, verification_views
from sneakers_app.services.orders import OrderError
from sneakers_app.services.saga import StepResult
from sneakers_app.settings import get_settings
from state import staff_rows
from state.base import SessionState
from state.staff_rows import (
    EventRow,
    InspectionRow,
    ParkedRow,
    PayoutProblemRow,
    PayoutRow,
    QueueRow,
)

logger = logging.getLogger(__name__)

QUEUE_NAMES = ("to_receive", "to_inspect", "appeals", "to_ship", "in_transit", "to_return")
CHECKS = ("box_ok", "stitching_ok", "materials_ok", "tags_ok", "size_ok")
MAX_NOTES = verification.MAX_NOTES
MAX_REASON = verification.MAX_REASON
MAX_TRACKING = 60
MAX_REFERENCE = 255


class VerificationState(SessionState):
    access: str = "checking"  # checking | denied | enrol | second_factor | granted
    view: str = "queues"  # queues | payouts
    queue_name: str = "to_receive"
    counts: dict[str, int] = {}
    rows: list[QueueRow] = []
    search: str = ""
    search_note: str = ""
    # the selected order
    selected_id: int = 0
    d_product: str = ""
    d_brand: str = ""
    d_style_code: str = ""
    d_size: str = ""
    d_size_line: str = ""
    d_image: str = ""
    d_price: str = ""
    d_buyer_total: str = ""
    d_seller_payout: str = ""
    d_status: str = ""
    d_status_label: str = ""
    d_seller: str = ""
    d_seller_email: str = ""
    d_buyer: str = ""
    d_buyer_email: str = ""
    d_inbound: str = ""
    d_outbound: str = ""
    d_return: str = ""
    # where the pair goes (the buyer's address snapshotted at the match) and where it returns
    d_buyer_address: list[str] = []
    d_seller_address: list[str] = []
    # the signed link of the label staff print for the order's next parcel ("" when none)
    d_label_href: str = ""
    d_label_kind: str = ""
    d_label_note: str = ""  # why the label cannot be printed
    d_appeal: bool = False
    # why this staff member may not act on the selected order (they bought or sold it)
    d_conflict: str = ""
    # staff who confirmed delivery of a valuable order still waiting for a second confirmation
    d_delivery_confirmed_by: str = ""
    events: list[EventRow] = []
    inspections: list[InspectionRow] = []
    # the checklist and actions
    box_ok: bool = False
    stitching_ok: bool = False
    materials_ok: bool = False
    tags_ok: bool = False
    size_ok: bool = False
    notes: str = ""
    fail_reason: str = ""
    tracking: str = ""
    action_error: str = ""
    reason_error: str = ""
    tracking_error: str = ""
    busy: bool = False
    # payouts
    payouts: list[PayoutRow] = []
    payout_problems: list[PayoutProblemRow] = []
    paying_id: int = 0
    payout_reference: str = ""
    payout_error: str = ""

    @rx.var
    def visible_rows(self) -> list[QueueRow]:
        needle = self.search.strip().lower()
        if not needle:
            return self.rows
        scanned = labels.parse_order_code(needle)
        return [
            r
            for r in self.rows
            if needle in r.product.lower() or needle in r.tracking.lower() or scanned == r.order_id
        ]

    @rx.var
    def all_checks_ok(self) -> bool:
        return all((self.box_ok, self.stitching_ok, self.materials_ok, self.tags_ok, self.size_ok))

    @rx.var
    def pending_payouts(self) -> int:
        return len(self.payouts)

    # --- access ---------------------------------------------------------------------------

    def _staff_id(self) -> int | EventSpec | None:
        """The caller's id if they are staff; a login redirect if logged out; None (and the
        console closed) for anyone else."""
        user = self._current_user()
        if user is None:
            self.access = "checking"
            self._forget()
            return self._login_redirect()
        if not user.is_staff:
            self.access = "denied"
            self._forget()
            return None
        if not user.second_factor:  # this session has not passed the staff second factor
            self.access = "second_factor" if user.totp_enrolled else "enrol"
            self._forget()
            return None
        self.access = "granted"
        return user.id

    def _forget(self) -> None:
        """Logged out or no longer staff: nothing of the console stays on the server (queues,
        payouts, and the open order's detail: names, emails, amounts, tracking)."""
        access = self.access
        self.reset()  # type: ignore[no-untyped-call]
        self.access = access

    @rx.event
    def on_load(self) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        self.search = ""
        self.action_error = ""
        self._load_queue(staff)
        self._load_payouts(staff)
        if self.selected_id and not any(r.order_id == self.selected_id for r in self.rows):
            self.selected_id = 0
        return None

    # --- queues ---------------------------------------------------------------------------

    def _load_queue(self, staff_id: int) -> None:
        with session_scope() as session:
            self.counts = verification.queue_counts(session=session, staff_id=staff_id)
            items = verification_views.queue_items(
                session=session, staff_id=staff_id, name=self.queue_name
            )
        self.rows = [staff_rows.queue_row(i) for i in items]

    @rx.event
    def choose_queue(self, name: str) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        if name == "payouts":
            self.view = "payouts"
            self._load_payouts(staff)
            return None
        if name not in QUEUE_NAMES:
            return None
        self.view = "queues"
        self.queue_name = name
        self.selected_id = 0
        self._load_queue(staff)
        return None

    @rx.event
    def set_search(self, value: str) -> None:
        self.search = str(value)[:100]
        self.search_note = ""

    @rx.event
    def find_scanned(self, _form: dict[str, Any] | None = None) -> EventSpec | None:
        """Enter in the search (a scanner types the label's code and Enter): open the order the
        code names, whatever queue it is in."""
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        # The typed text as the form sent it (the input's own updates may still be on their way).
        sent = (_form or {}).get("search")
        typed = (sent if isinstance(sent, str) else self.search).strip()[:100]
        if labels.parse_order_code(typed) is None:
            return None
        with session_scope() as session:
            order_id = verification_views.find_order(session=session, staff_id=staff, text=typed)
        if order_id is None:
            self.search_note = f"No order {typed}."
            return None
        self.search = ""
        self.search_note = ""
        self._reset_form()
        if not self._load_order(staff, order_id):
            return None
        queue = verification.queue_of(self.d_status)
        if queue is not None:  # show the queue the pair is in, with the pair chosen
            self.view = "queues"
            self.queue_name = queue
            self._load_queue(staff)
        return rx.scroll_to("order-panel")

    @rx.event
    def refresh(self) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        self._load_queue(staff)
        self._load_payouts(staff)
        if self.selected_id:
            self._load_order(staff, self.selected_id)
        return None

    # --- one order ------------------------------------------------------------------------

    def _load_order(self, staff_id: int, order_id: int) -> bool:
        try:
            with session_scope() as session:
                facts = verification_views.order_facts(
                    session=session, staff_id=staff_id, order_id=order_id
                )
        except OrderError as exc:
            self.selected_id = 0
            self.action_error = exc.message
            return False
        item = facts.item
        self.selected_id = item.order_id
        self.d_product = item.pair.name
        self.d_brand = item.pair.brand
        self.d_style_code = item.pair.style_code
        self.d_size = item.pair.size_label
        self.d_size_line = item.pair.size_line
        self.d_image = routes.product_image(item.pair.image)
        self.d_price = format_usd(item.price_cents)
        self.d_buyer_total = format_usd(facts.buyer_total_cents)
        self.d_seller_payout = format_usd(facts.seller_payout_cents)
        self.d_status = item.status
        self.d_status_label = vocabulary.order_label(item.status)
        self.d_seller = facts.seller.name
        self.d_seller_email = facts.seller.email
        self.d_buyer = facts.buyer.name
        self.d_buyer_email = facts.buyer.email
        self.d_inbound = item.inbound_tracking
        self.d_outbound = item.outbound_tracking
        self.d_return = item.return_tracking
        self.d_buyer_address = list(facts.buyer_address)
        self.d_seller_address = list(facts.seller_address)
        self._load_label_link(item.order_id, item.status)
        self.d_appeal = item.is_appeal
        self.d_conflict = facts.conflict
        self.d_delivery_confirmed_by = ", ".join(facts.delivery_confirmed_by)
        self.events = staff_rows.event_rows(facts)
        self.inspections = staff_rows.inspection_rows(facts)
        return True

    def _load_label_link(self, order_id: int, status: str) -> None:
        kind = labels.staff_label_kind(status)
        self.d_label_kind = kind or ""
        self.d_label_href = ""
        self.d_label_note = ""
        if kind is None:
            return
        try:
            with session_scope() as session:
                path = labels.label_link(
                    session=session, token=self.auth_token, order_id=order_id, kind=kind
                )
        except OrderError as exc:
            self.d_label_note = exc.message
            return
        self.d_label_href = get_settings().API_URL.rstrip("/") + path

    def _reset_form(self) -> None:
        for name in CHECKS:
            setattr(self, name, False)
        self.notes = ""
        self.fail_reason = ""
        self.tracking = ""
        self.action_error = ""
        self.reason_error = ""
        self.tracking_error = ""

    @rx.event
    def select_order(self, order_id: int) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        if isinstance(order_id, bool) or not isinstance(order_id, int):
            return None
        self._reset_form()
        if self._load_order(staff, order_id):
            return rx.scroll_to("order-panel")
        return None

    @rx.event
    def close_order(self) -> None:
        self.selected_id = 0
        self._reset_form()

    @rx.event
    def set_check(self, name: str, value: bool) -> None:
        if name in CHECKS:
            setattr(self, name, value is True)

    @rx.event
    def set_notes(self, value: str) -> None:
        self.notes = str(value)[:MAX_NOTES]

    @rx.event
    def set_fail_reason(self, value: str) -> None:
        self.fail_reason = str(value)[:MAX_REASON]
        self.reason_error = ""

    @rx.event
    def set_tracking(self, value: str) -> None:
        self.tracking = str(value)[:MAX_TRACKING]
        self.tracking_error = ""

    # --- staff actions --------------------------------------------------------------------

    def _act(self, step: Callable[..., StepResult], done: str, **kwargs: Any) -> EventSpec | None:
        """Authorise, run one verification step on the selected order, commit, follow up."""
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        if not self.selected_id:
            return None
        order_id = self.selected_id
        self.action_error = ""
        try:
            with session_scope() as session:
                result = step(session=session, staff_id=staff, order_id=order_id, **kwargs)
        except OrderError as exc:
            self.action_error = exc.message
            return None
        self._reset_form()
        self._load_queue(staff)
        self._load_order(staff, order_id)
        if result.note:
            return staff_rows.toast("info", f"Order #{order_id}: {result.note}", 6000)
        return staff_rows.toast("success", f"Order #{order_id}: {done}", 4000)

    @rx.event
    def receive(self) -> EventSpec | None:
        return self._act(verification.receive, "received")

    @rx.event
    def start_inspection(self) -> EventSpec | None:
        return self._act(verification.start_inspection, "inspection started")

    @rx.event
    def pass_pair(self) -> EventSpec | None:
        return self._act(
            verification.decide,
            "passed authentication",
            checklist=self._checklist(),
            passed=True,
            notes=self.notes,
        )

    @rx.event
    def fail_pair(self) -> EventSpec | None:
        if not self.fail_reason.strip():
            # Re-check who is asking before saying anything about the order.
            staff = self._staff_id()
            if not isinstance(staff, int):
                return staff
            self.reason_error = "Say why the pair failed; the seller sees this reason."
            return None
        return self._act(
            verification.decide,
            "failed authentication",
            checklist=self._checklist(),
            passed=False,
            reason=self.fail_reason,
            notes=self.notes,
        )

    def _checklist(self) -> verification.Checklist:
        return verification.Checklist(
            box_ok=self.box_ok,
            stitching_ok=self.stitching_ok,
            materials_ok=self.materials_ok,
            tags_ok=self.tags_ok,
            size_ok=self.size_ok,
        )

    def _ship(self, step: Callable[..., StepResult], done: str) -> EventSpec | None:
        """A parcel leaves the centre with the tracking number typed; a malformed number is
        shown under its field and kept there to be corrected."""
        if not self.tracking.strip():
            staff = self._staff_id()
            if not isinstance(staff, int):
                return staff
            self.tracking_error = "Enter the carrier's tracking number."
            return None
        tracking = self.tracking
        self.tracking_error = ""
        result = self._act(step, done, tracking=tracking)
        if self.action_error.startswith("Enter the carrier"):
            self.tracking_error, self.action_error = self.action_error, ""
            self.tracking = tracking
        return result

    @rx.event
    def ship_to_buyer(self) -> EventSpec | None:
        return self._ship(verification.ship_to_buyer, "shipped to the buyer")

    @rx.event
    def ship_back_to_seller(self) -> EventSpec | None:
        return self._ship(verification.ship_back_to_seller, "shipped back to the seller")

    @rx.event
    def mark_delivered(self) -> EventSpec | None:
        return self._act(verification.mark_delivered, "delivered")

    # --- payouts --------------------------------------------------------------------------

    def _load_payouts(self, staff_id: int) -> None:
        with session_scope() as session:
            pending = verification_views.pending_payouts(session=session, staff_id=staff_id)
            problems = verification_views.payout_problems(session=session, staff_id=staff_id)
        self.payout_problems = [staff_rows.payout_problem_row(p) for p in problems]
        self.payouts = [staff_rows.payout_row(p) for p in pending]

    @rx.event
    def start_payout(self, payout_id: int) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        if any(p.payout_id == payout_id and not p.conflict for p in self.payouts):
            self.paying_id = payout_id
            self.payout_reference = ""
            self.payout_error = ""
        return None

    def _close_payout(self) -> None:
        self.paying_id = 0
        self.payout_error = ""

    @rx.event
    def cancel_payout(self) -> None:
        self._close_payout()

    @rx.event
    def payout_dialog_changed(self, is_open: bool) -> None:
        if not is_open:
            self._close_payout()

    @rx.event
    def set_payout_reference(self, value: str) -> None:
        self.payout_reference = str(value)[:MAX_REFERENCE]
        self.payout_error = ""

    @rx.event
    def confirm_payout(self) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        payout_id = self.paying_id
        if not payout_id:
            return None
        try:
            with session_scope() as session:
                payout = saga.pay_out(
                    session=session,
                    payout_id=payout_id,
                    staff_id=staff,
                    reference=self.payout_reference,
                )
                amount = format_usd(payout.amount_cents)
        except OrderError as exc:
            self.payout_error = exc.message
            if isinstance(exc, saga.PayoutAlreadyPaid):
                self._load_payouts(staff)
            return None
        self.paying_id = 0
        self.payout_reference = ""
        self._load_payouts(staff)
        return staff_rows.toast("success", f"Payout of {amount} recorded as sent", 4000)

    @rx.event
    def retry_payout(self, payout_id: int) -> EventSpec | None:
        """Send a Stripe Connect payout that failed or whose task was lost again (the transfer's
        idempotency key is the payout's id, so a transfer that did go out is not repeated)."""
        staff = self._staff_id()
        if not isinstance(staff, int):
            return staff
        if isinstance(payout_id, bool) or not isinstance(payout_id, int):
            return None
        try:
            with session_scope() as session:
                saga.retry_connect_payout(session=session, payout_id=payout_id, staff_id=staff)
        except OrderError as exc:
            self._load_payouts(staff)
            return staff_rows.toast("error", exc.message, 6000)
        self._load_payouts(staff)
        return staff_rows.toast("success", "Transfer queued again", 4000)


# --- parked journal entries -------------------------------------------------------------------


class JournalFaultsState(VerificationState):
    """Journal entries the consumer parked after they failed every attempt: what they hold and
    why they failed; apply one again once its cause is fixed, or dismiss it."""

    parked: list[ParkedRow] = []
    parked_error: str = ""
    parked_notice: str = ""

    def _load_parked(self, staff_id: int) -> None:
        with session_scope() as session:
            views = journal.parked_entries(session=session, staff_id=staff_id)
        self.parked = [staff_rows.parked_row(v) for v in views]

    @rx.event
    def load_parked(self) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            self.parked = []
            return staff
        self.parked_error = ""
        try:
            self._load_parked(staff)
        except Exception:
            logger.exception("could not read the parked journal entries")
            self.parked_error = "Could not read the parked journal entries; try again."
        return None

    def _parked_action(self, parked_id: str, apply: bool) -> EventSpec | None:
        staff = self._staff_id()
        if not isinstance(staff, int):
            self.parked = []
            return staff
        if not any(p.parked_id == parked_id for p in self.parked):
            self.parked_error = "That entry is no longer parked."
            return None
        self.parked_error = ""
        self.parked_notice = ""
        try:
            with session_scope() as session:
                if apply:
                    journal.reapply_parked(session=session, staff_id=staff, parked_id=parked_id)
                else:
                    journal.dismiss_parked(session=session, staff_id=staff, parked_id=parked_id)
        except OrderError as exc:
            self.parked_error = str(exc)
            return None
        except Exception as exc:
            self.parked_error = f"It still fails: {type(exc).__name__}: {str(exc)[:300]}"
            return None
        # an applied entry's charges and emails are outbox rows its commit published
        self.parked_notice = "Applied." if apply else "Dismissed."
        self._load_parked(staff)
        return None

    @rx.event
    def reapply(self, parked_id: str) -> EventSpec | None:
        return self._parked_action(str(parked_id)[:40], apply=True)

    @rx.event
    def dismiss(self, parked_id: str) -> EventSpec | None:
        return self._parked_action(str(parked_id)[:40], apply=False)
