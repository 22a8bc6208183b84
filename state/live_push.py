"""Pushing one shared view to many tabs at once: the Reflex side of `sneakers_app.live.ViewFeed`.

A thousand tabs showing the same product in the same size would otherwise cost a thousand state
locks, deltas and encodings per book update. A feed reads the view once, and this transport
sends it as ONE socket.io message to a room holding every tab's socket (python-socketio
encodes a room message once and queues the same bytes on each socket). The message is exactly
what Reflex itself sends (`["event", {"delta": {<state>: {<var>_rx_state_: value}}}]`), so the
browser applies it as any other update.

The vars a feed owns are the same for every viewer (no user-specific values), and the session's
own handlers assign them unconditionally when they reload (see `ProductState._apply_public`),
so the browser always ends with the newest of the two.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

from engineio import packet as engineio_packet
from reflex.constants.state import FIELD_MARKER
from socketio import packet as socketio_packet

from sneakers_app.live import Transport
from state.base import event_namespace


@dataclasses.dataclass(frozen=True)
class SharedView:
    """What a feed reads: the data (`market`, for sessions that need more of it) and the state
    vars every member shows (name -> JSON value)."""

    market: Any
    vars: dict[str, Any]


async def _send_to_room(namespace: Any, room: str, update: dict[str, Any]) -> None:
    """One `event` message to every socket in `room`, encoded once.

    What python-socketio's room `emit` does, minus its task per recipient and the wait for
    all of them: each Engine.IO socket has its own queue and writer task that sends what is
    queued, in order, so one pass over the room queues the same packet for everyone (without
    the three coroutines per socket of `send_packet`). A socket already closed is skipped;
    one whose client stopped answering pings is closed by its own connection's loop.
    """
    server = namespace.server
    encoded = server.packet_class(
        socketio_packet.EVENT, namespace=namespace.namespace, data=["event", update]
    ).encode()
    packets = [
        engineio_packet.Packet(engineio_packet.MESSAGE, part)
        for part in (encoded if isinstance(encoded, list) else [encoded])
    ]
    sockets = server.eio.sockets
    for _sid, eio_sid in list(server.manager.get_participants(namespace.namespace, room)):
        socket = sockets.get(eio_sid)
        if socket is None or socket.closed:
            continue
        for pkt in packets:
            socket.queue.put_nowait(pkt)


def room_name(key: Hashable) -> str:
    return f"feed:{key!r}"


class StateRoomTransport(Transport[SharedView]):
    """Sends a feed's vars as a delta of `state_name` (a state's full name) to a socket.io room."""

    def __init__(self, state_name: str) -> None:
        self.state_name = state_name

    def _update(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "delta": {self.state_name: {k + FIELD_MARKER: v for k, v in values.items()}},
            "events": [],
        }

    async def push(
        self, key: Hashable, view: SharedView, previous: SharedView | None, joining: list[str]
    ) -> None:
        namespace = event_namespace()
        if namespace is None:
            return
        room = room_name(key)
        old = previous.vars if previous is not None else {}
        changed = {k: v for k, v in view.vars.items() if previous is None or old.get(k) != v}
        if changed:
            await _send_to_room(namespace, room, self._update(changed))
        if joining:
            # The whole view once for all newcomers (a room of their own for one message),
            # then they move to the feed's room.
            arrivals = f"{room}#joining"
            manager, ns = namespace.server.manager, namespace.namespace
            admitted = [sid for sid in joining if manager.is_connected(sid, ns)]
            for sid in admitted:
                manager.basic_enter_room(sid, ns, arrivals)
            try:
                await _send_to_room(namespace, arrivals, self._update(view.vars))
            finally:
                for sid in admitted:
                    manager.basic_leave_room(sid, ns, arrivals)
            for sid in admitted:
                if manager.is_connected(sid, ns):
                    manager.basic_enter_room(sid, ns, room)

    def drop(self, key: Hashable, member: str) -> None:
        namespace = event_namespace()
        if namespace is None:
            return
        # The in-memory manager's own leave is synchronous: it takes effect before anything
        # else is sent (python-socketio's async `leave_room` only wraps it).
        namespace.server.manager.basic_leave_room(member, namespace.namespace, room_name(key))

    def alive(self, member: str) -> bool:
        namespace = event_namespace()
        if namespace is None:
            return True
        return bool(namespace.server.manager.is_connected(member, namespace.namespace))
