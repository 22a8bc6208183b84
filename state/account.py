"""The account page: addresses, the saved card, payout details and notification preferences.

The card never touches our server. `save_card` creates a SetupIntent here; the browser confirms
it with Stripe Elements (stripe.js from settings.STRIPE_JS_URL and the publishable key) and
sends back only the SetupIntent's id, which `card_confirmed` checks with Stripe before saving.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from sneakers_app.db import session_scope
from sneakers_app.services import account_page, addresses, checkout, notifications, payments
from sneakers_app.services.account_page import AddressRow
from sneakers_app.services.addresses import AddressError
from sneakers_app.services.checkout import Choice
from sneakers_app.services.notifications import NotificationError
from sneakers_app.settings import get_settings
from state import address_form, offload
from state.base import SessionState, toast
from state.product_trade import TradeState

MAX_PASSWORD = 256

CHANNELS = ("in_app", "email")
MAX_FIELD = 300

# Runs in the browser: load stripe.js once, then mount a card Element into #card-element.
_MOUNT_CARD_JS = """
(async () => {
  const url = %(url)s, key = %(key)s;
  try {
    if (!window.Stripe) {
      await new Promise((resolve, reject) => {
        const tag = document.createElement('script');
        tag.src = url;
        tag.onload = resolve;
        tag.onerror = () => reject(new Error('load'));
        document.head.appendChild(tag);
      });
    }
    let target = null;
    for (let i = 0; i < 50 && !target; i++) {
      target = document.getElementById('card-element');
      if (!target) await new Promise((r) => setTimeout(r, 100));
    }
    if (!target) return {error: 'The card form could not be shown. Reload the page.'};
    const previous = window.__sneakersCard;
    if (previous) { try { previous.element.destroy(); } catch (e) {} }
    target.innerHTML = '';
    const stripe = window.Stripe(key);
    const element = stripe.elements().create('card', {style: {base: {fontSize: '16px'}}});
    element.mount(target);
    window.__sneakersCard = {stripe, element};
    return {ready: true};
  } catch (e) {
    return {error: 'The card form could not be loaded. Check your connection and try again.'};
  }
})()
"""

# Runs in the browser: confirm the SetupIntent with the card typed into the Element. Only the
# SetupIntent id (or an error message) comes back to the server.
_CONFIRM_CARD_JS = """
(async () => {
  const card = window.__sneakersCard;
  if (!card) return {error: 'The card form is not ready. Please open it again.'};
  try {
    const result = await card.stripe.confirmCardSetup(%(secret)s, {
      payment_method: {card: card.element},
    });
    if (result.error) {
      return {error: String(result.error.message || 'The card was declined.')};
    }
    return {setup_intent_id: String(result.setupIntent.id)};
  } catch (e) {
    return {error: 'Check the card number, expiry date and CVC.'};
  }
})()
"""


_UNAVAILABLE = "Payments are briefly unavailable. Please try again in a minute."


def _create_setup_intent(user_id: int) -> payments.SetupIntentSecret:
    with session_scope() as session:
        return payments.create_setup_intent(session=session, user_id=user_id)


def _complete_setup(user_id: int, setup_intent_id: str) -> payments.CardSummary:
    with session_scope() as session:
        return payments.complete_setup(
            session=session, user_id=user_id, setup_intent_id=setup_intent_id
        )


def _delete_address(*, session: Any, user_id: int, address_id: int) -> int:
    return checkout.delete_address(session=session, user_id=user_id, address_id=address_id)


@dataclasses.dataclass
class PreferenceRow:
    kind: str
    label: str
    in_app: bool
    email: bool


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 12:
        return int(value)
    return None


def _change_payout_details(
    user_id: int, kind: str, ref: str, holder: str, password: str | None
) -> tuple[str, str, str]:
    """In the password pool: check the password and save; the commit publishes the seller's
    notice (an outbox row committed with the change)."""
    with session_scope() as session:
        result = payments.change_payout_details(
            session=session,
            user_id=user_id,
            kind=kind,
            account_ref=ref,
            holder_name=holder,
            password=password,
        )
        account = result.account
        saved = (account.kind, account.holder_name, account.account_ref)
    return saved


class AccountState(SessionState):
    loaded: bool = False
    # addresses
    addresses: list[AddressRow] = []
    address_dialog_open: bool = False
    editing_address_id: int = 0
    address_form: dict[str, str] = {}
    address_errors: dict[str, str] = {}
    address_error: str = ""
    # cards (the default first)
    cards: list[Choice] = []
    card_brand: str = ""
    card_last4: str = ""
    card_form_open: bool = False
    card_form_ready: bool = False
    card_busy: bool = False
    card_error: str = ""
    # payouts
    payout_kind: str = "manual"
    payout_holder: str = ""
    payout_ref: str = ""
    payout_saved: bool = False
    payout_errors: dict[str, str] = {}
    # preferences
    preferences: list[PreferenceRow] = []

    @rx.var
    def card_label(self) -> str:
        if not self.card_last4:
            return ""
        return f"{self.card_brand.capitalize()} ending in {self.card_last4}"

    @rx.event
    def on_load(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            self.loaded = False
            return self._login_redirect()
        self.card_form_open = False
        self.card_form_ready = False
        self.card_busy = False
        self.card_error = ""
        self.address_dialog_open = False
        self.payout_errors = {}
        with session_scope() as session:
            self._load_addresses(session, user.id)
            self._load_card(session, user.id)
            account = payments.payout_account_for(session=session, user_id=user.id)
            prefs = notifications.preferences(session=session, user_id=user.id)
        self.payout_kind = account.kind if account else payments.default_payout_kind()
        self.payout_holder = account.holder_name if account else ""
        self.payout_ref = account.account_ref if account else ""
        self.payout_saved = account is not None
        self.preferences = [
            PreferenceRow(kind=p.kind.value, label=p.label, in_app=p.in_app, email=p.email)
            for p in prefs
        ]
        self.loaded = True
        return None

    def _load_addresses(self, session: Any, user_id: int) -> None:
        self.addresses = account_page.address_rows(session=session, user_id=user_id)

    def _load_card(self, session: Any, user_id: int) -> None:
        card = account_page.saved_card(session=session, user_id=user_id)
        self.card_brand = card.brand if card else ""
        self.card_last4 = card.last4 if card else ""
        self.cards = checkout.choices(session=session, user_id=user_id).cards

    # --- addresses --------------------------------------------------------------------------

    @rx.event
    def open_address_form(self, address_id: int = 0) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        self.address_errors = {}
        self.address_error = ""
        existing = next((a for a in self.addresses if a.id == _as_id(address_id)), None)
        if existing is None:
            self.editing_address_id = 0
            self.address_form = address_form.blank_address_form()
        else:
            with session_scope() as session:
                form = account_page.address_form(
                    session=session, user_id=user.id, address_id=existing.id
                )
            if form is None:
                return None
            self.address_form = form
            self.editing_address_id = existing.id
        self.address_dialog_open = True
        return None

    @rx.event
    def address_dialog_changed(self, is_open: bool) -> None:
        self.address_dialog_open = bool(is_open) and self.address_dialog_open

    @rx.event
    def save_address(self, form_data: dict[str, Any]) -> EventSpec | list[EventSpec] | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        values = address_form.typed_address(form_data)
        self.address_form = values
        data = address_form.address_input(values)
        try:
            with session_scope() as session:
                if self.editing_address_id:
                    saved = addresses.update_address(
                        session=session,
                        user_id=user.id,
                        address_id=self.editing_address_id,
                        data=data,
                    )
                else:
                    saved = addresses.add_address(session=session, user_id=user.id, data=data)
                saved_id = saved.id or 0
        except AddressError as exc:
            self.address_errors, self.address_error = address_form.refusal_messages(exc)
            return None
        with session_scope() as session:
            self._load_addresses(session, user.id)
        self.address_dialog_open = False
        self.address_errors = {}
        self.address_error = ""
        # an open trade dialog (this form is offered there too) offers and selects it
        offer: Any = TradeState.checkout_saved
        return [toast("success", "Address saved", duration=3000), offer("address", saved_id)]

    @rx.event
    def address_edited(self, field: str) -> None:
        """A field that showed an error was edited: its message goes (the others stay)."""
        self.address_errors = address_form.without_error(self.address_errors, field)

    @rx.event
    def make_default_address(self, address_id: int) -> EventSpec | None:
        return self._address_action(address_id, addresses.set_default, "Default address updated")

    @rx.event
    def delete_address(self, address_id: int) -> EventSpec | None:
        """Bids that ship to it are paused first (services/checkout.py), and the user told."""
        return self._address_action(address_id, _delete_address, "Address deleted")

    def _address_action(
        self, address_id: object, action: Callable[..., object], done: str
    ) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        target = _as_id(address_id)
        if target is None:
            return None
        try:
            with session_scope() as session:
                paused = action(session=session, user_id=user.id, address_id=target)
        except AddressError as exc:
            self.address_error = exc.message
            return None
        with session_scope() as session:
            self._load_addresses(session, user.id)
        self.address_error = ""
        notice = checkout.paused_notice(paused, "address") if isinstance(paused, int) else ""
        return toast("success", f"{done}. {notice}" if notice else done, duration=5000)

    # --- cards ----------------------------------------------------------------------------

    @rx.event
    def make_default_card(self, card_id: int) -> EventSpec | None:
        return self._card_action(card_id, payments.set_default_card, "Default card updated")

    @rx.event
    def delete_card(self, card_id: int) -> EventSpec | None:
        """Bids that would charge it are paused first (services/checkout.py)."""
        return self._card_action(card_id, checkout.delete_card, "Card deleted")

    def _card_action(
        self, card_id: object, action: Callable[..., object], done: str
    ) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        target = _as_id(card_id)
        if target is None:
            return None
        try:
            with session_scope() as session:
                paused = action(session=session, user_id=user.id, card_id=target)
        except payments.PaymentError as exc:
            self.card_error = str(exc)
            return None
        with session_scope() as session:
            self._load_card(session, user.id)
        self.card_error = ""
        notice = checkout.paused_notice(paused, "card") if isinstance(paused, int) else ""
        return toast("success", f"{done}. {notice}" if notice else done, duration=5000)

    # --- card -----------------------------------------------------------------------------

    @rx.event
    def open_card_form(self) -> EventSpec | None:
        if self._current_user() is None:
            return self._login_redirect()
        settings = get_settings()
        self.card_form_open = True
        self.card_form_ready = False
        self.card_error = ""
        script = _MOUNT_CARD_JS % {
            "url": json.dumps(settings.STRIPE_JS_URL),
            "key": json.dumps(settings.STRIPE_PUBLISHABLE_KEY),
        }
        return rx.call_script(script, callback=AccountState.card_form_mounted)

    @rx.event
    def card_form_mounted(self, result: Any) -> None:
        if isinstance(result, dict) and result.get("ready") is True:
            self.card_form_ready = True
            return
        error = result.get("error") if isinstance(result, dict) else None
        self.card_error = str(error or "The card form could not be loaded.")[:300]

    @rx.event
    def close_card_form(self) -> None:
        self.card_form_open = False
        self.card_busy = False
        self.card_error = ""

    # Background events: the Stripe calls run in a worker thread (each gives up after
    # STRIPE_TIMEOUT_SECONDS), so a slow or unreachable Stripe never holds up other tabs.
    @rx.event(background=True)
    async def save_card(self) -> EventSpec | None:
        async with self:
            user = self._current_user()
            if user is None:
                return self._login_redirect()
            if self.card_busy or not self.card_form_ready:
                return None
            self.card_error = ""
            self.card_busy = True
        intent, error = None, _UNAVAILABLE
        try:
            intent = await offload.outside_call(_create_setup_intent, user.id)
        except payments.PaymentTemporarilyUnavailable:
            pass
        except payments.PaymentError as exc:
            error = str(exc)
        finally:
            async with self:
                if intent is None:
                    self.card_busy = False
                    self.card_error = error
                elif not self.card_form_open:  # closed while Stripe answered
                    self.card_busy = False
                    intent = None
        if intent is None:
            return None
        script = _CONFIRM_CARD_JS % {"secret": json.dumps(intent.client_secret)}
        return rx.call_script(script, callback=AccountState.card_confirmed)

    @rx.event(background=True)
    async def card_confirmed(self, result: Any) -> EventSpec | list[EventSpec] | None:
        async with self:
            self.card_busy = False
            user = self._current_user()
            if user is None:
                return self._login_redirect()
            if not isinstance(result, dict):
                self.card_error = "The card could not be saved. Please try again."
                return None
            if result.get("error"):
                self.card_error = str(result["error"])[:300]
                return None
            self.card_busy = True
        setup_intent_id = str(result.get("setup_intent_id") or "")[:300]
        card, error = None, _UNAVAILABLE
        try:
            card = await offload.outside_call(_complete_setup, user.id, setup_intent_id)
        except payments.PaymentTemporarilyUnavailable:
            pass
        except payments.PaymentError as exc:
            error = str(exc)
        finally:
            async with self:
                self.card_busy = False
                if card is None:
                    self.card_error = error
                elif self.user_id == user.id:  # not logged out meanwhile
                    self.card_brand = card.brand
                    self.card_last4 = card.last4
                    self.card_form_open = False
                    self.card_form_ready = False
        if card is None:
            return None
        async with self:
            if self.user_id == user.id:
                with session_scope() as session:
                    self._load_card(session, user.id)
        # an open trade dialog (this form is offered there too) offers and selects it
        offer: Any = TradeState.checkout_saved
        return [toast("success", "Card saved", duration=3000), offer("card", card.card_id)]

    # --- payouts --------------------------------------------------------------------------

    # A background event: the password check (argon2) runs in the password pool, so it never
    # holds up other tabs.
    @rx.event(background=True)
    async def save_payout(self, form_data: dict[str, Any]) -> EventSpec | None:
        kind = payments.default_payout_kind()
        holder = str(form_data.get("holder_name", "") or "")[:MAX_FIELD]
        ref = str(form_data.get("account_ref", "") or "")[:MAX_FIELD]
        password = str(form_data.get("password", "") or "")[:MAX_PASSWORD]
        async with self:
            user = self._current_user()
            if user is None:
                return self._login_redirect()
            self.payout_holder, self.payout_ref = holder, ref
        try:
            saved = await offload.password_work(
                _change_payout_details, user.id, kind, ref, holder, password or None
            )
        except payments.PaymentError as exc:
            message = str(exc)
            field = "account_ref"
            if message.startswith("Account holder"):
                field = "holder_name"
            elif "password" in message or message.startswith("Too many"):
                field = "password"
            async with self:
                if self.user_id == user.id:
                    self.payout_errors = {field: message}
            return None
        async with self:
            if self.user_id != user.id:  # logged out meanwhile: nothing of theirs stays
                return None
            self.payout_kind, self.payout_holder, self.payout_ref = saved
            self.payout_errors = {}
            self.payout_saved = True
        return toast("success", "Payout details saved", duration=3000)

    # --- preferences ----------------------------------------------------------------------

    @rx.event
    def set_preference(self, kind: str, channel: str, value: bool) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        if channel not in CHANNELS or not isinstance(kind, str):
            return None
        current = next((p for p in self.preferences if p.kind == kind), None)
        if current is None:
            return None
        in_app = (value is True) if channel == "in_app" else current.in_app
        email = (value is True) if channel == "email" else current.email
        try:
            with session_scope() as session:
                saved = notifications.set_preference(
                    session=session, user_id=user.id, kind=kind, in_app=in_app, email=email
                )
        except NotificationError:
            return None
        self.preferences = [
            dataclasses.replace(p, in_app=saved.in_app, email=saved.email) if p.kind == kind else p
            for p in self.preferences
        ]
        return None
