"""The ids every log line of a Reflex event carries: a request id of its own, the event, the
tab's client token (short), and the logged-in user. Bound once per event before its handler
runs (Reflex runs each event in a task of its own, so nothing leaks into the next)."""

from __future__ import annotations

from typing import Any

from reflex.middleware.middleware import Middleware
from reflex.state import BaseState

from sneakers_app import logs
from state.base import SessionState


class LogContext(Middleware):
    async def preprocess(self, app: Any, state: BaseState, event: Any) -> None:
        logs.clear()
        logs.bind(
            request_id=logs.new_request_id(),
            event_handler=_short(str(getattr(event, "name", ""))),
            tab=str(state.router_data.get("token") or "")[:8] or None,
            user_id=_user_id(state),
        )


def _short(name: str) -> str | None:
    """ "reflex___state____state.state___product____product_state.on_load" ->
    "product_state.on_load"."""
    parts = name.split(".")
    if len(parts) < 2:
        return name or None
    return f"{parts[-2].rsplit('____', 1)[-1]}.{parts[-1]}"


def _user_id(state: BaseState) -> int | None:
    """The user the tab is logged in as, read only if the session state is already loaded (no
    extra round trip to the state manager for a log line)."""
    root = state._get_root_state()
    session = root.substates.get(SessionState.get_name())
    user_id = getattr(session, "user_id", 0) if session is not None else 0
    return int(user_id) or None
