"""The product page's trade dialog (Buy Now / Place Bid / Sell Now / Place Ask): a substate of
`ProductState` holding only its user's ticket.

The ticket's rules and words (who may trade, fee lines, hints, expiry choices, refusals) are
`sneakers_app.services.ticket`'s; this state parses the input, asks the service for a quote,
and shows it. Whether the dialog is open (`ProductState.dialog_open`) stays on the page's
state: its live loop follows every book change while it is, and re-quotes the open dialog
through `_market_changed`.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, urlencode

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.services import checkout, limits, market, ticket
from sneakers_app.services.checkout import Choice
from sneakers_app.services.ticket import FeeLine, HintView
from sneakers_app.vocabulary import ListingStatus
from state.base import handler
from state.product import ProductState

__all__ = ["Choice", "FeeLine", "HintView", "TradeState"]

TRADE_PARAM = "trade"
"""The query parameter that opens a dialog on load (`/product/<slug>?size=10&trade=bid`)."""


def _choice_id(value: object) -> int | None:
    """A saved card or address id as a select sends it ("12"), else None."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 12 else None


# Drops `trade=` from the address bar, keeping the rest (the size) and the router's history entry.
FORGET_TRADE_LINK = (
    "(() => { const u = new URL(window.location.href); u.searchParams.delete('trade'); "
    "window.history.replaceState(window.history.state, '', u); })()"
)


class TradeState(ProductState):
    dialog_kind: str = "bid"
    dialog_size: str = ""
    price_input: str = ""
    expiry_days: str = "30"
    expiry_choices: list[str] = []
    price_error: str = ""
    size_error: str = ""
    form_error: str = ""
    blocker: str = ""
    submitting: bool = False
    fee_lines: list[FeeLine] = []
    total_label: str = "Total"
    total: str = ""
    hints: list[HintView] = []
    fixed_price: str = ""
    result_message: str = ""
    # the checkout: the card charged and the address the pair goes to (an ask: where a pair
    # that fails authentication comes back to), each one of the user's saved ones
    cards: list[Choice] = []
    addresses: list[Choice] = []
    card_id: str = ""
    address_id: str = ""
    checkout_error: str = ""

    _client_key: str = ""
    _fee_level: int = 1

    def _forget_user(self) -> None:
        """Everything here was the user's: back to the defaults."""
        self.reset()  # type: ignore[no-untyped-call]

    # --- the quote -----------------------------------------------------------------------

    def _dialog_variant(self) -> int | None:
        return self._variant_for(self.dialog_size) if self.dialog_size else None

    def _quote(self, top: ticket.Top) -> ticket.Quote:
        return ticket.quote(
            self.dialog_kind,
            self.price_input,
            top,
            fee_level=self._fee_level,
            size_chosen=self._dialog_variant() is not None,
        )

    def _show_fees(self, quote: ticket.Quote) -> None:
        self.fee_lines = quote.fee_lines
        self.total_label = quote.total_label
        self.total = quote.total

    def _market_changed(self) -> None:
        """Quote the open dialog at the size's top of book now."""
        if not self.dialog_open:
            return
        quote = self._quote(ticket.top_of_book(self._dialog_variant()))
        if ticket.is_immediate(self.dialog_kind):
            self.fixed_price = quote.fixed_price
        self.hints = quote.hints
        self._show_fees(quote)

    def _reset_dialog(self, kind: str) -> None:
        self.dialog_kind = kind
        self.dialog_size = self.selected_size
        self.price_input = ""
        self.price_error = ""
        self.size_error = ""
        self.form_error = ""
        self.blocker = ""
        self.result_message = ""
        self.submitting = False
        self.fee_lines = []
        self.total = ""
        self.fixed_price = ""
        self.checkout_error = ""
        self._client_key = uuid.uuid4().hex

    def _load_checkout(
        self, session: Any, user_id: int, *, card: int = 0, address: int = 0
    ) -> None:
        """The user's saved cards and addresses; `card` / `address` (one just added) selected,
        else the one selected before if still there, else the default."""
        found = checkout.choices(session=session, user_id=user_id)
        self.cards, self.addresses = found.cards, found.addresses
        self.card_id = self._pick(found.cards, card, self.card_id)
        self.address_id = self._pick(found.addresses, address, self.address_id)

    @staticmethod
    def _pick(options: list[Choice], wanted: int, current: str) -> str:
        ids = [str(o.id) for o in options]
        for candidate in (str(wanted) if wanted else "", current):
            if candidate in ids:
                return candidate
        default = next((o for o in options if o.is_default), None)
        return str(default.id) if default else ""

    # --- handlers ------------------------------------------------------------------------

    @rx.event
    def open_trade(self, kind: str) -> EventSpec | None:
        user = self._current_user()
        if kind not in ticket.KINDS or not self._product_id:
            return None if user is not None else self._login_redirect()
        if user is None:
            # back here after logging in, with this size chosen and this dialog open again
            query = {"size": self.selected_size, TRADE_PARAM: kind}
            back = (
                routes.product(self.slug) + "?" + urlencode({k: v for k, v in query.items() if v})
            )
            return rx.redirect(f"{routes.LOGIN}?next={quote(back, safe='/')}")
        self._open(kind, user.id)
        return None

    def _view_changed(self, *, page_load: bool) -> None:
        """A page load asking for a dialog (`?trade=bid`, where a log-in from it returns to)
        opens it for a logged-in user."""
        if not page_load:
            return
        kind = str(self.router.url.query_parameters.get(TRADE_PARAM, ""))
        user = self._current_user()
        if kind in ticket.KINDS and user is not None and self._product_id:
            self._open(kind, user.id)

    def _open(self, kind: str, user_id: int) -> None:
        self._reset_dialog(kind)
        self.card_id = self.address_id = ""
        with session_scope() as session:
            opening = ticket.open_ticket(session=session, user_id=user_id, kind=kind)
            self._load_checkout(session, user_id)
        self.blocker = opening.blocker
        self._fee_level = opening.fee_level
        self.expiry_choices = opening.expiry_choices
        self.expiry_days = opening.expiry_days
        self.dialog_open = True
        self._market_changed()
        self._kick_live()  # the dialog's price follows every change of the book now

    @rx.event
    def open_from_link(self) -> EventSpec | list[EventSpec] | None:
        """A link that opens a form at once: `?trade=ask` from the seller dashboard's New ask
        (after the page's own load; `open_trade` re-checks the user and the kind)."""
        if "trade" not in self.router.url.query_parameters:
            return None
        kind = str(self.router.url.query_parameters.get("trade", ""))[:10]
        # The link opens the form once: a reload or a shared copy of the address shows the page.
        forget = rx.call_script(FORGET_TRADE_LINK)
        if kind not in ticket.KINDS or not self._product_id:
            return forget
        spec: EventSpec = handler(TradeState.open_trade)(kind)
        return [spec, forget]

    @rx.event
    def set_dialog_open(self, open_: bool) -> None:
        if not open_ and self.submitting:
            return
        self.dialog_open = bool(open_)
        self._kick_live()

    @rx.event
    def set_dialog_size(self, size: str) -> EventSpec | None:
        size = str(size)[:10]
        if size not in self._variants.values():
            return None
        self.dialog_size = size
        self.size_error = ""
        self.form_error = ""
        if self.selected_size != size:
            # The page follows the dialog's size: its chart is read off the event loop.
            select: Any = ProductState.select_size
            spec: EventSpec = select(size)
            return spec
        self._market_changed()
        return None

    @rx.event
    def choose_card(self, value: str) -> None:
        if any(str(c.id) == value for c in self.cards):
            self.card_id = value
            self.checkout_error = ""

    @rx.event
    def choose_address(self, value: str) -> None:
        if any(str(a.id) == value for a in self.addresses):
            self.address_id = value
            self.checkout_error = ""

    @rx.event
    def checkout_saved(self, kind: str, row_id: int) -> None:
        """A card or address was just added (in this dialog, or in the account page of this
        tab): offer it, select it, and ask again whether the user may trade now."""
        user = self._current_user()
        if user is None or not self.dialog_open:
            return
        new_id = row_id if isinstance(row_id, int) and not isinstance(row_id, bool) else 0
        with session_scope() as session:
            self._load_checkout(
                session,
                user.id,
                card=new_id if kind == "card" else 0,
                address=new_id if kind == "address" else 0,
            )
            self.blocker = ticket.blocker(session=session, user_id=user.id, kind=self.dialog_kind)
        self.checkout_error = ""

    @rx.event
    def set_expiry(self, days: str) -> None:
        if days in self.expiry_choices:
            self.expiry_days = days

    @rx.event
    def set_price(self, text: str) -> None:
        text = str(text)[:20]
        if text == self.price_input:
            # A late debounced keystroke after a submit: keep the submit's error visible.
            return
        self.price_input = text
        self.price_error = ticket.typing_error(self.dialog_kind, text)
        self.form_error = ""
        # A typed price needs no book; Buy Now / Sell Now quote the best price.
        top: ticket.Top = (None, None)
        if ticket.is_immediate(self.dialog_kind):
            top = ticket.top_of_book(self._dialog_variant())
        self._show_fees(self._quote(top))

    @rx.event
    def submit_trade(self, form_data: dict[str, Any]) -> EventSpec | None:
        """The dialog's form (confirm button or Enter in the price field)."""
        price = form_data.get("price") if isinstance(form_data, dict) else None
        if isinstance(price, str) and not ticket.is_immediate(self.dialog_kind):
            self.price_input = price[:20]
        return self._confirm()

    # --- confirming ----------------------------------------------------------------------

    def _refuse(self, refusal: ticket.Refusal) -> None:
        if refusal.field == "price":
            self.price_error = refusal.message
        elif refusal.field == "size":
            self.size_error = refusal.message
        elif refusal.field == "blocker":
            self.blocker = refusal.message
        elif refusal.field in ("card", "address"):
            self.checkout_error = refusal.message
        else:
            self.form_error = refusal.message

    def _ticket_price(self, kind: str, variant: int) -> int | None:
        """The price to place at, or None (with the reason shown): the best price for Buy
        Now / Sell Now (unless it moved since the dialog showed it), else the typed one."""
        if not ticket.is_immediate(kind):
            try:
                return parse_usd(self.price_input)
            except ValueError as exc:
                self.price_error = str(exc)
                return None
        top = ticket.top_of_book(variant)
        price = ticket.now_price(kind, top)
        if price is None:
            self.form_error = ticket.no_counterparty(kind)
            return None
        if format_usd(price) != self.fixed_price:
            self.fixed_price = format_usd(price)
            self._show_fees(self._quote(top))
            self.form_error = ticket.price_changed(price)
            return None
        return price

    def _confirm(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        if self.submitting or not self.dialog_open or self.dialog_kind not in ticket.KINDS:
            return None
        self.price_error = self.size_error = self.form_error = self.checkout_error = ""
        kind = self.dialog_kind
        variant = self._dialog_variant()
        if variant is None:
            self.size_error = "Choose a size."
            return None
        price = self._ticket_price(kind, variant)
        if price is None:
            return None
        try:
            days = int(self.expiry_days)
        except ValueError:
            self.form_error = "Choose an expiry."
            return None
        self.form_error = self._refused_by_limit(limits.ORDERS, user.id)
        if self.form_error:
            return None
        self.submitting = True
        try:
            with session_scope() as session:
                refusal = ticket.refusal(
                    session=session,
                    user_id=user.id,
                    kind=kind,
                    variant_id=variant,
                    price_cents=price,
                )
                if refusal is not None:
                    self._refuse(refusal)
                    return None
                placed = ticket.place(
                    session=session,
                    user_id=user.id,
                    kind=kind,
                    variant_id=variant,
                    price_cents=price,
                    client_key=self._client_key,
                    expiry_days=days,
                    address_id=_choice_id(self.address_id),
                    payment_card_id=_choice_id(self.card_id),
                )
        except market.MarketError as exc:
            self._refuse(ticket.Refusal(field=exc.field, message=exc.message))
            return None
        finally:
            self.submitting = False
        if placed.status == ListingStatus.CANCELLED:
            self.form_error = placed.message
            self._client_key = uuid.uuid4().hex
            return None
        self.dialog_open = False
        self.listing_message = placed.message
        self._page()._reload(with_tape=False)
        done: EventSpec = rx.toast.success(placed.message)
        return done
