"""The product page's watch button: a substate of `ProductState` holding only its user's watch
of the product (or of the chosen size) and its target price (rules in
`sneakers_app.services.watchlist`)."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec

from sneakers_app.db import session_scope
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.services import limits, watchlist
from state.product import ProductState

__all__ = ["WatchState"]


class WatchState(ProductState):
    watching: bool = False
    watch_target: str = ""
    watch_error: str = ""
    watch_message: str = ""

    def _forget_user(self) -> None:
        """Everything here was the user's: back to the defaults."""
        self.reset()  # type: ignore[no-untyped-call]

    def _view_changed(self, *, page_load: bool) -> None:
        if page_load:
            self.watch_message = ""
        self._load_watch()

    def _load_watch(self) -> None:
        self.watch_error = ""
        user = self._current_user()
        if user is None or not self._product_id:
            self.watching = False
            self.watch_target = ""
            return
        with session_scope() as session:
            found = watchlist.get_watch(
                session=session,
                user_id=user.id,
                product_id=self._product_id,
                variant_id=self._selected_variant(),
            )
        self.watching = found is not None
        self.watch_target = (
            format_usd(found.target_price_cents).removeprefix("$")
            if found and found.target_price_cents
            else ""
        )

    @rx.event
    def set_watch_target(self, value: str) -> None:
        self.watch_target = str(value)[:20]
        self.watch_error = ""

    @rx.event
    def save_watch(self, form_data: dict[str, Any] | None = None) -> EventSpec | None:
        """The popover's form (Save, or Enter in the target field)."""
        typed = form_data.get("target") if isinstance(form_data, dict) else None
        if isinstance(typed, str):
            self.watch_target = typed[:20]
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        target: int | None = None
        text = self.watch_target.strip()
        if text:
            try:
                target = parse_usd(text)
            except ValueError as exc:
                self.watch_error = str(exc)
                return None
        self.watch_error = self._refused_by_limit(limits.WATCH, user.id)
        if self.watch_error:
            return None
        try:
            with session_scope() as session:
                watchlist.watch(
                    session=session,
                    user_id=user.id,
                    product_id=self._product_id,
                    variant_id=self._selected_variant(),
                    target_price_cents=target,
                )
        except watchlist.WatchError as exc:
            self.watch_error = exc.message
            return None
        self.watching = True
        self.watch_error = ""
        self.watch_message = (
            f"We'll tell you when an ask for {self._scope_label()} drops to "
            f"{format_usd(target)} or less."
            if target
            else f"Watching {self._scope_label()}."
        )
        return None

    @rx.event
    def remove_watch(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        self.watch_error = self._refused_by_limit(limits.WATCH, user.id)
        if self.watch_error:
            return None
        with session_scope() as session:
            watchlist.unwatch(
                session=session,
                user_id=user.id,
                product_id=self._product_id,
                variant_id=self._selected_variant(),
            )
        self.watching = False
        self.watch_target = ""
        self.watch_message = "No longer watching."
        return None
