"""The /account API keys section: the member's working keys, making one and revoking one. Thin:
parse the form, re-check the session, call `services.api_keys` (its rules: names, scopes, how
many keys, whose key) and copy the answer into vars.

A new key's whole text is in `new_key` only until the member dismisses it or loads the page
again (never in browser storage); while it shows, the form is hidden and a repeated submit
makes nothing, and `busy` refuses a submit that arrives while the first is being made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.services import account_page, api_keys
from sneakers_app.services.account_page import ApiKeyRow
from sneakers_app.settings import get_settings
from state.account import _as_id
from state.base import SessionState, toast

READ, TRADE = api_keys.READ, api_keys.TRADE
NAME_MAX = api_keys.NAME_MAX
_MAX_FIELD = 300  # longer than any name the service takes, so it says what is wrong


def _create(user_id: int, name: str, scope: str) -> tuple[api_keys.NewKey, list[ApiKeyRow]]:
    with session_scope() as session:
        made = api_keys.create(session=session, user_id=user_id, name=name, scopes=scope)
        return made, account_page.api_key_rows(session=session, user_id=user_id)


class ApiKeyState(SessionState):
    keys: list[ApiKeyRow] = []
    form_error: str = ""
    busy: bool = False
    form_key: int = 0
    # The key just made, shown once: its whole text, its name and what it may do.
    new_key: str = ""
    new_key_name: str = ""
    new_key_scopes: str = ""
    docs_href: str = ""
    feed_docs_href: str = ""

    def _clear_new_key(self) -> None:
        self.new_key = self.new_key_name = self.new_key_scopes = ""

    def _load(self, user_id: int) -> None:
        with session_scope() as session:
            self.keys = account_page.api_key_rows(session=session, user_id=user_id)

    @rx.event
    def on_load(self) -> None:
        """A reload or a new visit never shows the key made before."""
        self._clear_new_key()
        self.form_error = ""
        self.busy = False
        api = get_settings().API_URL.rstrip("/")
        self.docs_href, self.feed_docs_href = api + routes.API_DOCS, api + routes.FEED_DOCS
        user = self._current_user()
        if user is None:
            self.keys = []
            return  # AccountState.on_load sends the visitor to log in
        self._load(user.id)

    @rx.event
    def clear_error(self) -> None:
        """Typing in the name field takes its error away."""
        self.form_error = ""

    @rx.event(background=True)
    async def create_key(self, form: dict[str, Any]) -> EventSpec | None:
        name = str(form.get("name", "") or "")[:_MAX_FIELD]
        scope = str(form.get("scope", "") or "")[:_MAX_FIELD]
        async with self:
            user = self._current_user()
            if user is None:
                return self._login_redirect()
            if self.busy or self.new_key:
                return None
            self.busy = True
            self.form_error = ""
        made, rows, error = None, None, ""
        try:
            made, rows = await asyncio.to_thread(_create, user.id, name, scope)
        except api_keys.ApiKeyError as exc:
            error = exc.message
        finally:
            async with self:
                self.busy = False
                if self.user_id == user.id:  # not logged out meanwhile
                    self.form_error = error
                    if made is not None and rows is not None:
                        self.keys = rows
                        self.new_key = made.secret
                        self.new_key_name = made.key.name
                        self.new_key_scopes = account_page.api_key_row(made.key).scopes
                        self.form_key += 1  # the form comes back empty
        # The keyboard goes on to the new key's Copy button (the form it was in is hidden).
        return rx.set_focus("new-api-key-copy") if made is not None else None

    @rx.event
    def dismiss_new_key(self) -> EventSpec | None:
        self._clear_new_key()
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        self._load(user.id)  # the new key may have been used meanwhile ("Last used")
        return rx.set_focus("api-key-name")  # the form is back: on to its first field

    @rx.event
    def revoke_key(self, key_id: int) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        target = _as_id(key_id)
        if target is None:
            return None
        with session_scope() as session:
            done = api_keys.revoke(session=session, user_id=user.id, key_id=target)
            self.keys = account_page.api_key_rows(session=session, user_id=user.id)
        if not done:
            return toast("error", "That key is not one of yours, or it was revoked already.")
        return toast("success", "Key revoked. It stops working at once.", duration=5000)
