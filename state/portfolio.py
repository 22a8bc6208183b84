"""/portfolio: pairs owned with market value and gains, value over time, active bids, purchases.

Thin: every handler re-checks the user; the portfolio service validates and checks ownership.
Editing and cancelling a bid are `ListingEditor`'s (shared with the seller dashboard's asks).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import plotly.graph_objects as go
import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes, vocabulary
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.services import listings, order_views, portfolio
from state import charts
from state.base import SessionState
from state.listing_editor import ListingEditor
from state.orders import OrderRowView, product_image, row_view


@dataclasses.dataclass
class HoldingView:
    id: int
    name: str
    size: str
    image: str
    href: str
    bought_here: bool
    order_href: str
    paid: str
    purchased_on: str
    market_value: str
    has_market_value: bool
    gain: str
    gain_pct: str
    trend: str


@dataclasses.dataclass
class ProductOption:
    id: str
    name: str


def _trend(cents: int) -> str:
    return "up" if cents > 0 else "down" if cents < 0 else "flat"


def _signed(cents: int) -> str:
    return ("+" if cents > 0 else "") + format_usd(cents)


def _holding(h: portfolio.Holding) -> HoldingView:
    return HoldingView(
        id=h.id,
        name=h.product.name,
        size=h.product.size_label,
        image=product_image(h.product.image),
        href=routes.product(h.product.slug),
        bought_here=h.source == "bought",
        order_href=routes.order(h.order_id) if h.order_id else "",
        paid=format_usd(h.purchase_price_cents),
        purchased_on=order_views.day(h.purchased_on),
        market_value=format_usd(h.market_value_cents),
        has_market_value=h.has_market_value,
        gain=_signed(h.gain_cents),
        gain_pct=vocabulary.percent_text(h.gain_bp),
        trend=_trend(h.gain_cents),
    )


class PortfolioState(ListingEditor, SessionState):
    holdings: list[HoldingView] = []
    history: list[OrderRowView] = []
    item_count: int = 0
    total_value: str = ""
    total_cost: str = ""
    total_gain: str = ""
    total_gain_pct: str = ""
    total_trend: str = "flat"
    figure: go.Figure = rx.field(default_factory=charts.empty_figure)
    days: str = "90"

    # Add-a-pair dialog
    add_open: bool = False
    add_product_id: str = ""
    product_options: list[ProductOption] = []
    today: str = ""
    sizes_by_product: dict[str, str] = {}
    _choices_system: str = ""
    """The size system `sizes_by_product` is in."""
    add_product_error: str = ""
    add_size_error: str = ""
    add_price_error: str = ""
    add_date_error: str = ""
    add_form_error: str = ""

    @rx.var
    def size_hint(self) -> str:
        sizes = self.sizes_by_product.get(self.add_product_id, "")
        return f"Sizes: {sizes}" if sizes else "Choose a sneaker to see its sizes."

    def _refresh(self, user_id: int) -> None:
        with session_scope() as session:
            held = portfolio.holdings(
                session=session, user_id=user_id, size_system=self.size_system
            )
            series = portfolio.value_series(session=session, user_id=user_id, days=int(self.days))
            history = portfolio.purchase_history(
                session=session, user_id=user_id, size_system=self.size_system
            )
        summary = portfolio.summarize(held)
        self.holdings = [_holding(h) for h in held]
        self.item_count = summary.items
        self.total_value = format_usd(summary.value_cents)
        self.total_cost = format_usd(summary.cost_cents)
        self.total_gain = _signed(summary.gain_cents)
        self.total_gain_pct = vocabulary.percent_text(summary.gain_bp)
        self.total_trend = _trend(summary.gain_cents)
        self.figure = charts.value_chart(series)
        self.history = [row_view(r) for r in history]
        self._load_listings(user_id)

    def _listing_side(self) -> listings.Side:
        return "bid"

    def _clear_errors(self) -> None:
        self.add_product_error = self.add_size_error = self.add_price_error = ""
        self.add_date_error = self.add_form_error = self.edit_listing_error = ""

    def _close(self) -> None:
        super()._close()
        self.add_open = False
        self._clear_errors()

    @rx.event
    def set_days(self, days: str | list[str]) -> EventSpec | None:
        if isinstance(days, str) and days in {str(d) for d in portfolio.SERIES_DAYS}:
            self.days = days
        return self._reload()

    # --- adding a pair --------------------------------------------------------------------

    @rx.event
    def open_add(self) -> EventSpec | None:
        if self._current_user() is None:
            return self._login_redirect()
        self._close()
        if not self.product_options or self._choices_system != self.size_system:
            self._choices_system = self.size_system
            with session_scope() as session:
                choices = portfolio.product_choices(session=session, size_system=self.size_system)
            self.product_options = [ProductOption(id=str(c.id), name=c.name) for c in choices]
            self.sizes_by_product = {str(c.id): ", ".join(c.sizes) for c in choices}
        self.add_product_id = ""
        self.today = datetime.now(UTC).date().isoformat()
        self.add_open = True
        return None

    @rx.event
    def choose_product(self, product_id: str) -> None:
        self.add_product_id = product_id if product_id in self.sizes_by_product else ""
        self.add_product_error = ""

    @rx.event
    def add_item(self, form: dict[str, str]) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        if self.busy:
            return None
        self._clear_errors()
        price_text = str(form.get("price", ""))[:40].strip()
        size = str(form.get("size", ""))[:20]
        date_text = str(form.get("purchased_on", ""))[:20]
        price: int | None = None
        if price_text.startswith("-"):
            self.add_price_error = "The price cannot be negative."
        else:
            try:
                price = parse_usd(price_text)
            except ValueError as error:
                self.add_price_error = str(error)
        try:
            purchased_on = portfolio.parse_purchase_date(date_text)
        except portfolio.PortfolioError as error:
            self.add_date_error = error.message
            purchased_on = None
        product_id = int(self.add_product_id) if self.add_product_id.isdigit() else 0
        if price is None or purchased_on is None:
            # Still check the sneaker and size so every wrong field is marked at once.
            try:
                with session_scope() as session:
                    portfolio.resolve_variant(
                        session, product_id=product_id, size=size, size_system=self.size_system
                    )
            except portfolio.PortfolioError as error:
                self._show(error)
            return None
        self.busy = True
        try:
            with session_scope() as session:
                portfolio.add_item(
                    session=session,
                    product_id=product_id,
                    size=size,
                    purchase_price_cents=price,
                    purchased_on=purchased_on,
                    user_id=user.id,
                    size_system=self.size_system,
                )
        except portfolio.PortfolioError as error:
            self._show(error)
            self.busy = False
            return None
        self._close()
        self._refresh(user.id)
        return [rx.toast.success("Added to your portfolio.")]

    def _show(self, error: portfolio.PortfolioError) -> None:
        target = {
            "product": "add_product_error",
            "size": "add_size_error",
            "price": "add_price_error",
            "date": "add_date_error",
        }.get(error.field, "add_form_error")
        setattr(self, target, error.message)

    @rx.event
    def remove_item(self, item_id: int) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        try:
            with session_scope() as session:
                portfolio.remove_item(session=session, user_id=user.id, item_id=item_id)
        except portfolio.PortfolioError as error:
            return [rx.toast.error(error.message)]
        self._refresh(user.id)
        return [rx.toast.success("Removed from your portfolio.")]
