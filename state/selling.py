"""/sell: the seller dashboard. Thin: every handler re-checks the user, parses its arguments and
calls a service that checks ownership (saga, verification, seller_dashboard). Editing and
cancelling an ask are `ListingEditor`'s (shared with the portfolio's bids)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import cast

import plotly.graph_objects as go
import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes, vocabulary
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import (
    labels,
    listings,
    order_views,
    orders,
    payments,
    saga,
    verification,
)
from sneakers_app.services import seller_dashboard as dash
from sneakers_app.settings import get_settings
from state import charts, offload
from state.base import SessionState
from state.listing_editor import ListingEditor
from state.orders import OrderDetailState, order_href, product_image

URGENT_SECONDS = 12 * 3600


def _finalize_failure(order_id: int, seller_id: int) -> saga.StepResult:
    with session_scope() as session:
        return saga.finalize_failure(session=session, order_id=order_id, seller_id=seller_id)


@dataclasses.dataclass
class SaleView:
    order_id: int
    href: str
    name: str
    size: str
    image: str
    status_label: str
    tone: str
    price: str
    payout: str
    sold_on: str
    ship_by: str
    countdown: str
    urgent: bool
    can_ship: bool
    can_extend: bool
    appeal_deadline: str
    appeal_left: str
    can_appeal: bool
    can_accept: bool
    tracking: str
    penalty: str
    label_href: str = ""  # the shipping label's signed link while the pair is the seller's to send


@dataclasses.dataclass
class PayoutView:
    id: int
    order_id: int
    href: str
    name: str
    amount: str
    status: str
    created: str
    paid: str
    reference: str


def _sale_view(sale: dash.Sale) -> SaleView:
    now = datetime.now(UTC)
    seconds_left = (
        (orders.aware(sale.ship_by) - now).total_seconds() if sale.ship_by is not None else 0
    )
    return SaleView(
        order_id=sale.order_id,
        href=order_href(sale.order_id),
        name=sale.product.name,
        size=sale.product.size_label,
        image=product_image(sale.product.image),
        status_label=sale.status_label,
        tone=sale.tone,
        price=format_usd(sale.price_cents),
        payout=format_usd(sale.payout_cents),
        sold_on=order_views.day(sale.created_at),
        ship_by=order_views.when(sale.ship_by) if sale.can_ship else "",
        countdown=order_views.time_left(sale.ship_by, now) if sale.can_ship else "",
        urgent=sale.can_ship and seconds_left < URGENT_SECONDS,
        can_ship=sale.can_ship,
        can_extend=sale.can_extend,
        appeal_deadline=order_views.when(sale.appeal_deadline) if sale.can_appeal else "",
        appeal_left=order_views.time_left(sale.appeal_deadline, now) if sale.can_appeal else "",
        can_appeal=sale.can_appeal,
        can_accept=sale.can_accept_failure,
        tracking=sale.inbound_tracking or "",
        penalty=format_usd(sale.penalty_cents) if sale.penalty_cents else "",
    )


def _payout_view(p: dash.PayoutRow) -> PayoutView:
    return PayoutView(
        id=p.id,
        order_id=p.order_id,
        href=order_href(p.order_id),
        name=(f"{p.product.name} \u00b7 {p.product.size_label}" if p.product else "Sale"),
        amount=format_usd(p.amount_cents),
        status=p.status,
        created=order_views.day(p.created_at),
        paid=order_views.day(p.paid_at) if p.paid_at else "",
        reference=p.reference or "",
    )


class SellerState(ListingEditor, SessionState):
    pending: list[SaleView] = []
    completed: list[SaleView] = []
    payouts: list[PayoutView] = []
    pending_payout_total: str = ""
    paid_payout_total: str = ""
    period: str = "week"
    revenue: str = ""
    fees: str = ""
    net: str = ""
    units: int = 0
    figure: go.Figure = rx.field(default_factory=charts.empty_figure)
    level: int = 1
    level_fee: str = ""
    next_level: int = 0
    next_fee: str = ""
    level_progress: int = 0
    level_sales: int = 0
    level_volume: str = ""
    level_hint: str = ""
    quarter_ends: str = ""

    # Dialogs: which row each one acts on and its input's error (the ask being edited and the
    # submit guard `busy` are ListingEditor's).
    ship_order_id: int = 0
    ship_name: str = ""
    tracking_error: str = ""
    appeal_order_id: int = 0
    appeal_error: str = ""
    accept_order_id: int = 0
    accept_error: str = ""

    def _refresh(self, seller_id: int) -> None:
        with session_scope() as session:
            system = self.size_system
            pending = dash.pending_sales(session=session, seller_id=seller_id, size_system=system)
            completed = dash.completed_sales(
                session=session, seller_id=seller_id, size_system=system
            )
            payouts = dash.payouts(session=session, seller_id=seller_id, size_system=system)
            period: dash.Period = "month" if self.period == "month" else "week"
            report = dash.analytics(session=session, seller_id=seller_id, period=period)
            card = dash.level_card(session=session, seller_id=seller_id)
            links = labels.seller_label_links(
                session=session,
                token=self.auth_token,
                order_ids=[sale.order_id for sale in pending if sale.can_ship],
            )
        api = get_settings().API_URL.rstrip("/")
        self._load_listings(seller_id)
        self.pending = [
            dataclasses.replace(
                _sale_view(s), label_href=api + links[s.order_id] if s.order_id in links else ""
            )
            for s in pending
        ]
        self.completed = [_sale_view(s) for s in completed]
        self.payouts = [_payout_view(p) for p in payouts]
        pending_total = dash.payout_total(payouts, vocabulary.PayoutStatus.PENDING)
        self.pending_payout_total = format_usd(pending_total)
        self.paid_payout_total = format_usd(
            dash.payout_total(payouts, vocabulary.PayoutStatus.PAID)
        )
        self.revenue = format_usd(report.revenue_cents)
        self.fees = format_usd(report.fees_cents)
        self.net = format_usd(report.payout_cents)
        self.units = report.units
        self.figure = charts.sales_chart(report)
        self.level = card.level
        self.level_fee = f"{card.fee_bp / 100:g}%"
        self.next_level = card.next_level or 0
        self.next_fee = f"{card.next_fee_bp / 100:g}%" if card.next_fee_bp is not None else ""
        self.level_progress = card.progress_pct
        self.level_sales = card.sales
        self.level_volume = format_usd(card.volume_cents, whole=True)
        self.level_hint = card.hint
        self.quarter_ends = order_views.day(card.quarter_ends)

    def _listing_side(self) -> listings.Side:
        return "ask"

    def _close(self) -> None:
        super()._close()
        self.ship_order_id = self.appeal_order_id = self.accept_order_id = 0
        self.tracking_error = self.appeal_error = self.accept_error = ""

    @rx.event
    def close_dialogs(self) -> None:
        self._close()

    @rx.event
    def set_period(self, period: str | list[str]) -> EventSpec | None:
        self.period = "month" if period == "month" else "week"
        return self._reload()

    # --- sales -----------------------------------------------------------------------------

    def _sale(self, order_id: int) -> SaleView | None:
        return next((s for s in self.pending if s.order_id == order_id), None)

    @rx.event
    def open_ship(self, order_id: int) -> None:
        sale = self._sale(order_id)
        self._close()
        if sale is not None:
            self.ship_order_id = sale.order_id
            self.ship_name = f"{sale.name} \u00b7 {sale.size}"

    @rx.event
    def mark_shipped(self, form: dict[str, str]) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        if self.busy or not self.ship_order_id:
            return None
        self.tracking_error = ""
        self.busy = True
        try:
            with session_scope() as session:
                saga.mark_shipped(
                    session=session,
                    order_id=self.ship_order_id,
                    seller_id=user.id,
                    tracking=str(form.get("tracking", ""))[:100],
                )
        except orders.OrderError as error:
            self.tracking_error = error.message
            self.busy = False
            return None
        self._close()
        self._refresh(user.id)
        return [rx.toast.success("Marked as shipped. We'll let you know when it arrives.")]

    @rx.event
    def extend_ship_by(self, order_id: int) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        if not isinstance(order_id, int) or isinstance(order_id, bool):
            return None
        try:
            with session_scope() as session:
                saga.extend_ship_by(session=session, order_id=order_id, seller_id=user.id)
        except orders.OrderError as error:
            self._refresh(user.id)
            return [rx.toast.error(error.message)]
        self._refresh(user.id)
        return [rx.toast.success("Ship-by extended by 24 hours.")]

    @rx.event
    def open_appeal(self, order_id: int) -> EventSpec | None:
        """From the dashboard's row or the order page: the service says whether it is this
        seller's sale and still open to appeal."""
        user = self._current_user()
        self._close()
        if user is None:
            return self._login_redirect()
        with session_scope() as session:
            sale = dash.sale(session=session, seller_id=user.id, order_id=order_id)
        if sale is not None and sale.can_appeal:
            self.appeal_order_id = sale.order_id
        return None

    def _after_sale_change(self, seller_id: int) -> list[EventSpec]:
        """Show the change where the seller made it: the order page reloads its order, the
        dashboard its lists."""
        if routes.order_id_in((self.router.url.path or "").rstrip("/")):
            return [cast(EventSpec, OrderDetailState.on_load)]  # the page's own reload
        self._refresh(seller_id)
        return []

    @rx.event
    def submit_appeal(self, form: dict[str, str]) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        if self.busy or not self.appeal_order_id:
            return None
        self.appeal_error = ""
        self.busy = True
        try:
            with session_scope() as session:
                verification.appeal(
                    session=session,
                    seller_id=user.id,
                    order_id=self.appeal_order_id,
                    reason=str(form.get("reason", ""))[:2000],
                )
        except orders.OrderError as error:
            self.appeal_error = error.message
            self.busy = False
            return None
        self._close()
        return [
            rx.toast.success("Appeal sent: another inspector will check the pair."),
            *self._after_sale_change(user.id),
        ]

    @rx.event
    def open_accept(self, order_id: int) -> None:
        sale = self._sale(order_id)
        self._close()
        if sale is not None and sale.can_accept:
            self.accept_order_id = sale.order_id

    # A background event: the refund is a Stripe call (worker thread, STRIPE_TIMEOUT_SECONDS),
    # so it never holds up other tabs.
    @rx.event(background=True)
    async def accept_failure(self) -> list[EventSpec] | None:
        async with self:
            user = self._current_user()
            if user is None:
                return [self._login_redirect()]
            if self.busy or not self.accept_order_id:
                return None
            self.busy = True
            order_id = self.accept_order_id
        result, error = None, "We could not refund the buyer right now. Try again shortly."
        try:
            result = await offload.outside_call(_finalize_failure, order_id, user.id)
        except orders.OrderError as exc:
            error = exc.message
        except payments.PaymentError:  # a decline, or Stripe unreachable
            pass
        finally:
            async with self:
                if result is None:
                    self.accept_error = error
                    self.busy = False
                elif self.user_id == user.id:  # not logged out meanwhile
                    self._close()
                    self._refresh(user.id)
        if result is None:
            return None
        return [rx.toast.success("Accepted. The buyer is refunded and the pair comes back to you.")]
