"""The session every page shares: who is logged in, re-checked against the database.

The browser holds a random session token in localStorage. Every handler that needs a user calls
`_current_user()`, which looks the token up again: the view vars below are for display only and
are never trusted for a decision.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, cast
from urllib.parse import quote

import reflex as rx
from reflex.event import EventHandler, EventSpec
from reflex_base.config import get_state_auto_setters

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.services import accounts, sizes

if get_state_auto_setters():
    # Reflex would then give every state var a `set_<var>` event the browser can call, the
    # vars the handlers decide with included (the order being acted on, `busy`, the user).
    raise RuntimeError(
        "Reflex's state_auto_setters (REFLEX_STATE_AUTO_SETTERS) must stay off: it lets any "
        "browser set any state var."
    )


def toast(
    kind: Literal["success", "error", "info", "warning"], message: str, **options: Any
) -> EventSpec:
    """`rx.toast.<kind>(message, **options)`, typed (mypy sees Reflex's lazy `rx.toast` as Any)."""
    spec: EventSpec = getattr(rx.toast, kind)(message, **options)
    return spec


def handler(event: object) -> EventHandler:
    """A state's `@rx.event` handler as the EventHandler it is at run time (mypy sees Reflex's
    `EventNamespace`), so a handler can chain another: `return handler(Other.on_load)()`."""
    return cast(EventHandler, event)


def event_namespace() -> Any | None:
    """The running app's socket.io namespace (None outside a Reflex server)."""
    from reflex.config import get_config

    module = sys.modules.get(get_config().module)
    return getattr(getattr(module, "app", None), "event_namespace", None)


_worker_stopping = False


def stop_serving_tabs() -> None:
    """This web worker is stopping (its stop signal, `state.worker_sessions`): from now on it
    takes no new connection, and no tab is connected here as far as the background loops can
    tell, so each ends at its next look, however its tab's socket is doing."""
    global _worker_stopping
    _worker_stopping = True


def worker_stopping() -> bool:
    return _worker_stopping


def client_connected(token: str, sid: str = "") -> bool:
    """Whether a tab's websocket is still connected to this backend process (the app's socket
    map: token -> socket id; a reload gets a new socket id, a closed tab none; `sid` empty:
    any socket of that tab). Background loops check it every pass. False in a worker that is
    stopping."""
    if _worker_stopping:
        return False
    namespace = event_namespace()
    if namespace is None:
        return True  # outside a Reflex server there is nothing to ask
    # The token manager's own map: `token_to_sid` copies every connection's entry per call,
    # which a thousand live loops asking on every update turn into quadratic work.
    sockets = getattr(getattr(namespace, "_token_manager", None), "token_to_socket", None)
    if isinstance(sockets, dict):
        current = getattr(sockets.get(token), "sid", None)
    else:
        current = namespace.token_to_sid.get(token)
    return current is not None and (not sid or current == sid)


class SessionState(rx.State):
    auth_token: str = rx.LocalStorage("", name="sneakers_session", sync=True)
    user_id: int = 0
    user_name: str = ""
    user_email: str = ""
    user_is_staff: bool = False
    session_checked: bool = False
    # The size system the tab shows sizes in: the account's when logged in, else this tab's
    # own choice (kept for the browser session, as the tab's state is).
    size_system: str = sizes.DEFAULT_SYSTEM

    @rx.var
    def is_authenticated(self) -> bool:
        return self.user_id > 0

    def _current_user(self) -> accounts.AuthenticatedUser | None:
        token = self.auth_token
        if not token:
            self._set_user(None)
            return None
        with session_scope() as session:
            user = accounts.user_for_token(session=session, token=token)
        self._set_user(user)
        return user

    def _set_user(self, user: accounts.AuthenticatedUser | None) -> None:
        new_id = user.id if user else 0
        if self.user_id and self.user_id != new_id:
            # Logged out, session expired or revoked, or another account took the tab.
            self._forget_user_data()
        self.user_id = new_id
        self.user_name = user.display_name if user else ""
        self.user_email = user.email if user else ""
        self.user_is_staff = bool(user and user.is_staff)
        self.session_checked = True
        if user is not None and self.size_system != user.size_system:
            self.size_system = user.size_system

    def _forget_user_data(self) -> None:
        """Drop, on the server, everything every page state of this tab holds for the user who
        just left (addresses, payout details, orders, portfolio, staff detail...): each loaded
        substate of the session forgets its own (`_forget_user`)."""
        session_state: SessionState = self
        while type(session_state) is not SessionState and session_state.parent_state is not None:
            session_state = session_state.parent_state  # type: ignore[assignment]
        for substate in list(session_state.substates.values()):
            if isinstance(substate, SessionState):
                substate._forget_user()

    def _forget_user(self) -> None:
        """What a page state does when its user leaves: back to its defaults (and its own
        substates too). States that also hold public data or run live loops override it."""
        self.reset()  # type: ignore[no-untyped-call]

    def _login_redirect(self) -> EventSpec:
        path = (self.router.url.path or "/").rstrip("/") or "/"
        return rx.redirect(f"{routes.LOGIN}?next={quote(path)}")

    async def _forget_in_every_page_state(self) -> None:
        """Forget the user in every page state of the tab, also those this event did not load
        (Reflex's redis state manager loads substates lazily and would send them at the next
        hydrate)."""
        for cls in SessionState.get_substates():
            substate = await self.get_state(cls)
            if isinstance(substate, SessionState):
                substate._forget_user()

    @rx.event
    async def load_session(self) -> None:
        """Runs on every page load: refresh who is logged in (an expired session logs out)."""
        had_user = self.user_id
        user = self._current_user()
        if user is None and had_user:
            await self._forget_in_every_page_state()
        if user is None and self.auth_token:
            self.auth_token = ""

    @rx.event
    def set_size_system(self, system: str | list[str]) -> EventSpec | None:
        """Show sizes in another system; a logged-in member's choice is saved to the account."""
        value = str(system if isinstance(system, str) else (system[0] if system else ""))[:8]
        error = sizes.system_error(value)
        user = self._current_user()
        if not error and user is not None:
            with session_scope() as session:
                error = sizes.set_size_system(session=session, user_id=user.id, system=value)
        if error:
            return toast("error", error)
        self.size_system = value
        return None

    @rx.event
    async def require_login(self) -> EventSpec | None:
        had_user = self.user_id
        if self._current_user() is None:
            if had_user:
                await self._forget_in_every_page_state()
            return self._login_redirect()
        return None

    @rx.event
    async def log_out(self) -> EventSpec:
        token = self.auth_token
        if token:
            with session_scope() as session:
                accounts.log_out(session=session, token=token)
        self.auth_token = ""
        self._set_user(None)
        await self._forget_in_every_page_state()
        return rx.redirect(routes.BROWSE)
