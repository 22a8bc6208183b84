"""/orders and /orders/[order_id]: the member's orders as buyer and seller, and one timeline."""

from __future__ import annotations

import dataclasses

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import order_views, orders
from state.base import SessionState


@dataclasses.dataclass
class OrderRowView:
    id: int
    href: str
    name: str
    size: str
    image: str
    status_label: str
    tone: str
    price: str
    amount: str
    amount_label: str
    note: str
    date: str


@dataclasses.dataclass
class StepView:
    label: str
    tone: str
    at: str
    actor: str
    reason: str


@dataclasses.dataclass
class MoneyView:
    label: str
    amount: str
    is_total: bool


order_href = routes.order
product_image = routes.product_image


def row_view(row: order_views.OrderRow) -> OrderRowView:
    return OrderRowView(
        id=row.id,
        href=order_href(row.id),
        name=row.product.name,
        size=row.product.size_label,
        image=product_image(row.product.image),
        status_label=row.status_label,
        tone=row.tone,
        price=format_usd(row.price_cents),
        amount=format_usd(row.amount_cents),
        amount_label=row.amount_label,
        note=row.note,
        date=order_views.day(row.created_at),
    )


class OrdersState(SessionState):
    tab: str = "buying"
    buying: list[OrderRowView] = []
    selling: list[OrderRowView] = []
    loaded: bool = False

    @rx.event
    def on_load(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            self.loaded = False
            return self._login_redirect()
        with session_scope() as session:
            buying, selling = (
                order_views.list_orders(
                    session=session, user_id=user.id, role=role, size_system=self.size_system
                )
                for role in ("buying", "selling")
            )
        self.buying = [row_view(r) for r in buying]
        self.selling = [row_view(r) for r in selling]
        wanted = self.router.url.query_parameters.get("tab", "")
        if wanted in ("buying", "selling"):
            self.tab = wanted
        elif not buying and selling:
            self.tab = "selling"
        self.loaded = True
        return None

    @rx.event
    def set_tab(self, tab: str) -> None:
        if tab in ("buying", "selling"):
            self.tab = tab


class OrderDetailState(SessionState):
    found: bool = False
    loaded: bool = False
    order_id: int = 0
    role: str = ""
    name: str = ""
    size: str = ""
    image: str = ""
    product_href: str = ""
    status_label: str = ""
    tone: str = "gray"
    placed: str = ""
    timeline: list[StepView] = []
    money: list[MoneyView] = []
    inbound_tracking: str = ""
    outbound_tracking: str = ""
    ship_by: str = ""
    appeal_deadline: str = ""
    penalty: str = ""
    headline: str = ""
    can_appeal: bool = False
    seller_penalised: bool = False
    refund_amount: str = ""
    refund_at: str = ""
    refund_card: str = ""
    next_steps: str = ""

    @rx.event
    def on_load(self) -> EventSpec | None:
        user = self._current_user()
        self.loaded = False
        if user is None:
            return self._login_redirect()
        path = (self.router.url.path or "").rstrip("/")
        raw = routes.order_id_in(path)
        order_id = int(raw) if raw.isdigit() and len(raw) <= 12 else 0
        try:
            with session_scope() as session:
                detail = order_views.order_detail(
                    session=session,
                    user_id=user.id,
                    order_id=order_id,
                    size_system=self.size_system,
                )
        except orders.OrderError:
            self.found = False
            self.loaded = True
            self.order_id = 0
            self.timeline = []
            self.money = []
            return None
        row = detail.row
        self.found = True
        self.order_id = row.id
        self.role = row.role
        self.name = row.product.name
        self.size = row.product.size_label
        self.image = product_image(row.product.image)
        self.product_href = routes.product(row.product.slug)
        self.status_label = row.status_label
        self.headline = detail.headline
        self.tone = row.tone
        self.placed = order_views.when(row.created_at)
        self.timeline = [
            StepView(
                label=s.label,
                tone=s.tone,
                at=order_views.when(s.at),
                actor=s.actor,
                reason=s.reason,
            )
            for s in reversed(detail.timeline)
        ]
        self.money = [
            MoneyView(label=m.label, amount=format_usd(m.amount_cents), is_total=m.is_total)
            for m in detail.money
        ]
        self.inbound_tracking = detail.inbound_tracking or ""
        self.outbound_tracking = detail.outbound_tracking or ""
        waiting = row.status == "awaiting_shipment"
        self.ship_by = order_views.when(detail.ship_by) if detail.ship_by and waiting else ""
        self.appeal_deadline = (
            order_views.when(detail.appeal_deadline)
            if detail.appeal_deadline and row.status == "auth_failed"
            else ""
        )
        self.penalty = format_usd(detail.penalty_cents) if detail.penalty_cents else ""
        self._outcome(detail)
        self.loaded = True
        return None

    def _outcome(self, detail: order_views.OrderDetail) -> None:
        """After a failure: the buyer's refund and what happens next, the seller's appeal."""
        refund = detail.refund
        self.refund_amount = format_usd(refund.amount_cents) if refund else ""
        self.refund_at = order_views.when(refund.at) if refund and refund.at else ""
        self.refund_card = refund.card if refund else ""
        self.next_steps = detail.next_steps
        self.seller_penalised = detail.seller_penalised
        self.can_appeal = detail.can_appeal
