"""Editing and cancelling one's own listing from a list: the portfolio's bids and the seller
dashboard's asks. A state mixin: the page state says which side it lists and how it reloads;
the listings service checks who owns the listing, parses the price and says what happened.

Thin: every handler re-checks the user; the listing being edited is held here (a guard var no
client event can set) and the service refuses another member's listing.
"""

from __future__ import annotations

import dataclasses

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import checkout, listings, order_views
from sneakers_app.services.checkout import Choice
from state.base import SessionState


@dataclasses.dataclass
class ListingView:
    id: int
    name: str
    size: str
    image: str
    href: str
    price: str
    price_plain: str
    """The price as a person types it (no "$", no thousands commas), for the edit field."""
    highest_bid: str
    lowest_ask: str
    leads: bool
    """The highest bid (a bid) or the lowest ask (an ask) of its size right now."""
    expires: str
    paused: bool = False
    """Out of the book until its owner picks another card or address (its were deleted)."""


def _plain(cents: int) -> str:
    return f"{cents // 100}" + (f".{cents % 100:02d}" if cents % 100 else "")


def listing_view(item: listings.OwnListing) -> ListingView:
    return ListingView(
        id=item.id,
        name=item.product.name,
        size=item.product.size_label,
        image=routes.product_image(item.product.image),
        href=routes.product(item.product.slug),
        price=format_usd(item.price_cents),
        price_plain=_plain(item.price_cents),
        highest_bid=format_usd(item.highest_bid_cents),
        lowest_ask=format_usd(item.lowest_ask_cents),
        leads=item.leads,
        expires=order_views.day(item.expires_at),
        paused=item.paused,
    )


class ListingEditor(SessionState, mixin=True):
    """A page of one's own things with one's open listings of one side among them: its load
    (logged in only), the listings, and the dialog that gives one a new price."""

    loaded: bool = False
    own_listings: list[ListingView] = []
    edit_listing_id: int = 0
    edit_listing_name: str = ""
    edit_listing_value: str = ""
    edit_listing_hint: str = ""
    edit_listing_error: str = ""
    busy: bool = False
    # a paused bid: the card and address it goes back to the book with
    resume_listing_id: int = 0
    resume_cards: list[Choice] = []
    resume_addresses: list[Choice] = []
    resume_card_id: str = ""
    resume_address_id: str = ""
    resume_error: str = ""

    def _listing_side(self) -> listings.Side:
        """Which side the page lists: "bid" (portfolio) or "ask" (seller dashboard)."""
        raise NotImplementedError

    def _refresh(self, user_id: int) -> None:
        """Reload everything the page shows (its listings included, `_load_listings`)."""
        raise NotImplementedError

    def _load_listings(self, user_id: int) -> None:
        with session_scope() as session:
            rows = listings.open_listings(
                session=session,
                user_id=user_id,
                side=self._listing_side(),
                size_system=self.size_system,
            )
        self.own_listings = [listing_view(r) for r in rows]

    def _close(self) -> None:
        """Close the page's dialogs (a page with more dialogs extends this)."""
        self.edit_listing_id = 0
        self.edit_listing_error = ""
        self.resume_listing_id = 0
        self.resume_error = ""
        self.busy = False

    @rx.event
    def on_load(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            self.loaded = False
            return self._login_redirect()
        self._close()
        self._refresh(user.id)
        self.loaded = True
        return None

    def _reload(self) -> EventSpec | None:
        """Load the page again (a range or period changed), for a member still logged in."""
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        self._refresh(user.id)
        return None

    @rx.event
    def dialog_open_change(self, is_open: bool) -> None:
        if not is_open:
            self._close()

    @rx.event
    def open_edit_listing(self, listing_id: int) -> None:
        row = next((r for r in self.own_listings if r.id == listing_id), None)
        self._close()
        if row is not None:
            self.edit_listing_id = row.id
            self.edit_listing_name = f"{row.name} \u00b7 {row.size}"
            self.edit_listing_value = row.price_plain
            self.edit_listing_hint = listings.REPRICE_HINTS[self._listing_side()]

    @rx.event
    def save_listing_price(self, form: dict[str, str]) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        if self.busy or not self.edit_listing_id:
            return None
        self.edit_listing_error = ""
        with session_scope() as session:
            outcome = listings.reprice(
                session=session,
                user_id=user.id,
                side=self._listing_side(),
                listing_id=self.edit_listing_id,
                raw_price=form.get("price"),
                ip=self.router.session.client_ip,
            )
        if not outcome.ok:
            self.edit_listing_error = outcome.message
            return None
        self._close()
        self._refresh(user.id)
        return [rx.toast.success(outcome.message)]

    @rx.event
    def cancel_listing(self, listing_id: int) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        with session_scope() as session:
            outcome = listings.cancel(
                session=session,
                user_id=user.id,
                side=self._listing_side(),
                listing_id=listing_id,
                ip=self.router.session.client_ip,
            )
        if outcome is None:
            return None
        self._refresh(user.id)
        toast = rx.toast.success if outcome.ok else rx.toast.error
        return [toast(outcome.message)]

    # --- a paused bid ----------------------------------------------------------------------

    @rx.event
    def open_resume(self, listing_id: int) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        row = next((r for r in self.own_listings if r.id == listing_id and r.paused), None)
        self._close()
        if row is None:
            return None
        with session_scope() as session:
            found = checkout.choices(session=session, user_id=user.id)
        self.resume_cards, self.resume_addresses = found.cards, found.addresses
        self.resume_card_id = next((str(c.id) for c in found.cards if c.is_default), "")
        self.resume_address_id = next((str(a.id) for a in found.addresses if a.is_default), "")
        self.edit_listing_name = f"{row.name} \u00b7 {row.size} \u00b7 {row.price}"
        self.resume_listing_id = row.id
        return None

    @rx.event
    def resume_choose_card(self, value: str) -> None:
        if any(str(c.id) == value for c in self.resume_cards):
            self.resume_card_id = value

    @rx.event
    def resume_choose_address(self, value: str) -> None:
        if any(str(a.id) == value for a in self.resume_addresses):
            self.resume_address_id = value

    @rx.event
    def resume_listing(self) -> list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return [self._login_redirect()]
        if self.busy or not self.resume_listing_id:
            return None
        self.resume_error = ""
        with session_scope() as session:
            outcome = listings.resume_bid(
                session=session,
                user_id=user.id,
                listing_id=self.resume_listing_id,
                address_id=_selected(self.resume_address_id),
                payment_card_id=_selected(self.resume_card_id),
                ip=self.router.session.client_ip,
            )
        if not outcome.ok:
            self.resume_error = outcome.message
            return None
        self._close()
        self._refresh(user.id)
        return [rx.toast.success(outcome.message)]


def _selected(value: str) -> int | None:
    """A select's value as an id; "" (nothing saved) is None: the service uses the default."""
    return int(value) if value.isdigit() and len(value) < 12 else None
