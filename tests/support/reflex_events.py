"""Drive the app's Reflex state the way a browser tab does, without a browser.

A `Tab` owns one state tree (what the backend keeps for one tab). `send` takes an event name as
the browser sends it (`<state's full name>.<handler>`), resolves it through Reflex's own
registry (`RegistrationContext.event_handlers`, the lookup the event processor makes for every
websocket event: a name that is not there cannot be called by any client) and runs it with
Reflex's `process_event`, which parses the payload for the handler and applies its return
value. Events a handler returns (redirects, toasts) are collected, not followed.

As in the app, a foreground handler runs holding the tab's state lock (Reflex's in-memory state
manager holds the tab's tree), and a background handler (`@rx.event(background=True)`) runs
without it, through Reflex's `StateProxy`, taking the lock for each `async with self`; so two
`send`s gathered at once interleave as two events of one tab do.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.proxy import StateProxy
from reflex.state import BaseState, State
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event
from reflex_base.registry import RegistrationContext

import state.account
import state.api_keys
import state.auth
import state.base
import state.catalog
import state.notifications
import state.orders
import state.portfolio
import state.product
import state.selling
import state.staff  # noqa: F401 (every page state registered, as in the app)


class NoSuchEvent(LookupError):
    """The browser asked for an event handler the app does not have."""


@dataclass
class Tab:
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    root: State = field(
        default_factory=lambda: State(_reflex_internal_init=True)  # type: ignore[call-arg]
    )
    emitted: list[Any] = field(default_factory=list)
    deltas: list[Any] = field(default_factory=list)
    manager: StateManagerMemory = field(default_factory=StateManagerMemory)

    def __post_init__(self) -> None:
        self.manager.states[BaseStateToken(ident=self.token, cls=State).cache_key] = self.root

    async def state(self, cls: type[BaseState]) -> Any:
        return await self.root.get_state(cls)

    async def send(self, cls: type[BaseState], handler: str, **payload: Any) -> None:
        name = f"{cls.get_full_name()}.{handler}"
        registered = RegistrationContext.get().event_handlers.get(name)
        if registered is None:
            raise NoSuchEvent(name)

        async def enqueue(*args: Any, **kwargs: Any) -> None:
            self.emitted.append((args, kwargs))

        async def emit_event(*args: Any, **kwargs: Any) -> None:
            self.emitted.append((args, kwargs))

        async def emit_delta(token: str, delta: Mapping[str, Mapping[str, Any]]) -> None:
            self.deltas.append(delta)

        ctx = EventContext(
            token=self.token,
            state_manager=self.manager,
            enqueue_impl=enqueue,
            emit_event_impl=emit_event,
            emit_delta_impl=emit_delta,
        )
        reset = EventContext.set(ctx)
        try:
            token = BaseStateToken(ident=self.token, cls=registered.states[0])
            if registered.handler.is_background:
                target = await self.root.get_state(cls)
                await process_event(registered.handler, payload, StateProxy(target), None)
                return
            async with self.manager.modify_state_with_links(token) as root:
                target = await root.get_state(cls)
                await process_event(registered.handler, payload, target, root)
        finally:
            EventContext.reset(reset)
