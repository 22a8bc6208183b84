"""A browser tab as far as the Reflex backend can tell: Reflex 0.10's own websocket protocol
(what .web/utils/state.js speaks), without a browser.

Engine.IO v4 over a websocket at `/_event/?EIO=4&transport=websocket&token=<uuid>`; the socket.io
CONNECT packet to namespace "/_event" carries the page's hydrate event as its auth payload (so
the page's on_load runs); events go out as `42/_event,["event", {name, payload, router_data}]`
and updates come back as `42/_event,["event", {"delta": ..., "events": [...]}]`. Each tab is its
own Reflex session (own token). Used by the backend tests in tests/e2e/ and by the benchmarks
(scripts/bench_live.py, scripts/bench_responsiveness.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

STATE = "reflex___state____state"
NAMESPACE = "/_event"
EVENT_PACKET = f"42{NAMESPACE},"
CONNECT_ERROR = f"44{NAMESPACE},"
NEW_TOKEN = f'{EVENT_PACKET}["new_token",'
ENGINEIO_CLOSE = "1"


def state_name(cls: type) -> str:
    """The full name Reflex gives a State class (the prefix of its events' names)."""
    full: str = cls.get_full_name()  # type: ignore[attr-defined]
    return full


def var(name: str) -> str:
    """A var's key in a delta."""
    return f"{name}_rx_state_"


@dataclass
class Update:
    at: float
    """time.monotonic() when it arrived."""
    delta: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]

    def value(self, state: str, name: str) -> Any:
        return self.delta.get(state, {}).get(var(name))

    def has(self, state: str, name: str) -> bool:
        return var(name) in self.delta.get(state, {})


@dataclass
class Tab:
    """One browser tab. `open()` connects and waits until the page is ready; `connect()` only
    sends the hydrate event, frames then arrive in the background: each event frame goes to
    `on_frame` (its raw text and time.time_ns() of its arrival) if set, and, unless `parse` is
    False, into `updates` (a benchmark with a thousand tabs reads the raw text instead)."""

    base_url: str
    """http://host:port of the backend."""
    path: str = "/"
    query: dict[str, str] = field(default_factory=dict)
    """The search part of the page's URL (?size=...)."""
    params: dict[str, str] = field(default_factory=dict)
    """The route's own parameters ([slug] of /product/[slug]): the router's query has both."""
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    updates: list[Update] = field(default_factory=list)
    error: str | None = None
    goodbye: bool = False
    """The server said it was closing the connection (an Engine.IO close packet) before it did:
    the browser then reconnects at once, where a connection that is just lost waits out the
    ping timeout."""
    goodbye_at: float | None = None
    """time.monotonic() when the (first) goodbye on this connection came."""
    closes_on_goodbye: bool = True
    """Whether the tab closes its connection on the goodbye (a browser does; False: a client
    gone without a word, which the server must close itself)."""
    new_tokens: int = 0
    """How often the server took this tab's token for another tab's and gave it a new one (a new,
    empty session; the tab goes on with the new token, as state.js does)."""
    parse: bool = True
    on_frame: Callable[[str, int], None] | None = None
    _ws: Any = None
    _session: Any = None
    _own_session: bool = False
    _closing: bool = False
    _reader: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def router_data(self) -> dict[str, Any]:
        search = "&".join(f"{k}={v}" for k, v in self.query.items())
        return {
            "pathname": self.path,
            "asPath": self.path + (f"?{search}" if search else ""),
            "query": {**self.query, **self.params},
        }

    async def open(self, timeout: float = 60.0) -> None:
        """Connect and hydrate, until the page's on_load handlers have run (as a browser tab
        is ready); TimeoutError when the backend does not answer within `timeout`."""
        started = time.monotonic()
        await asyncio.wait_for(self.connect(), timeout)
        await self.wait_var(STATE, "is_hydrated", True, timeout - (time.monotonic() - started))

    async def connect(self, session: Any = None) -> None:
        """Open the websocket (on `session`, an aiohttp.ClientSession shared by many tabs, or
        the tab's own) and send the hydrate event (state.js bootAuth): the CONNECT packet to
        the namespace with the event as its auth payload (socket.io-client takes the namespace
        from the URL's path). Frames are read by a background task from here on."""
        import aiohttp

        if session is None and self._session is None:
            self._session, self._own_session = aiohttp.ClientSession(), True
        self._session = session or self._session
        ws_url = self.base_url.replace("http", "ws", 1) + "/_event/"
        self._ws = await self._session.ws_connect(
            f"{ws_url}?EIO=4&transport=websocket&token={self.token}",
            headers={"Origin": self.base_url},
            protocols=(metadata.version("reflex"),),
            autoping=True,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_close=5),
        )
        self.goodbye = False
        self.goodbye_at = None
        opened = await self._ws.receive(timeout=30)
        if opened.type != aiohttp.WSMsgType.TEXT or not opened.data.startswith("0"):
            raise RuntimeError(f"no Engine.IO open packet: {opened!r}")
        hydrate = {
            "name": f"{STATE}.hydrate_and_load",
            "payload": {},
            "router_data": self.router_data(),
        }
        await self._ws.send_str(f"40{NAMESPACE},{json.dumps({'event': hydrate})}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        import aiohttp

        try:
            while True:
                msg = await self._ws.receive()
                now = time.time_ns()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        if self.error is None and not self._closing and not self.goodbye:
                            self.error = "closed by the server"
                        return
                    continue
                data: str = msg.data
                if await self._control(data):
                    continue
                if data.startswith(CONNECT_ERROR):
                    self.error = f"connect refused: {data[:300]}"
                    return
                if not data.startswith(EVENT_PACKET):
                    continue
                if self.on_frame is not None:
                    self.on_frame(data, now)
                if self.parse:
                    self._parse(data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._arrived.set()

    async def _control(self, data: str) -> bool:
        """Handle a packet about the connection itself (True) rather than the page."""
        if data == "2":  # Engine.IO ping -> pong
            await self._ws.send_str("3")
        elif data == ENGINEIO_CLOSE:  # engine.io-client closes the transport on it
            self.goodbye = True
            if self.goodbye_at is None:  # the first: closing, the server says it again
                self.goodbye_at = time.monotonic()
            if self.closes_on_goodbye:
                await self._ws.close()
        elif data.startswith(NEW_TOKEN):  # state.js: the tab goes on with the new token
            self.token = json.loads(data[len(EVENT_PACKET) :])[1]
            self.new_tokens += 1
        else:
            return False
        return True

    def _parse(self, data: str) -> None:
        name, body = json.loads(data[len(EVENT_PACKET) :])[:2]
        if name != "event" or not isinstance(body, dict):
            return
        self.updates.append(
            Update(
                at=time.monotonic(), delta=body.get("delta") or {}, events=body.get("events") or []
            )
        )
        self._arrived.set()

    async def until(self, event: asyncio.Event) -> None:
        """Until `event` is set or the connection has ended."""
        assert self._reader is not None, "connect() first"
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({waiter, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def wait_closed(self) -> None:
        """Until the connection ends (closed by either side, or failed: see `error`)."""
        if self._reader is not None:
            await asyncio.wait({self._reader})

    async def send(self, state: str, handler: str, **payload: Any) -> float:
        """Send one event; returns time.monotonic() just before it went out."""
        event = {
            "name": f"{state}.{handler}",
            "payload": payload,
            "router_data": self.router_data(),
        }
        sent = time.monotonic()
        await self._ws.send_str(f"{EVENT_PACKET}{json.dumps(['event', event])}")
        return sent

    async def wait_for(
        self, predicate: Callable[[Update], bool], timeout: float, *, since: int = 0
    ) -> Update:
        """The first update from index `since` on that matches (TimeoutError after `timeout`)."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            while seen < len(self.updates):
                update = self.updates[seen]
                seen += 1
                if predicate(update):
                    return update
            if self.error is not None:
                raise RuntimeError(self.error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no such update")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def wait_var(
        self, state: str, name: str, expected: Any, timeout: float, *, since: int = 0
    ) -> Update:
        return await self.wait_for(
            lambda u: u.has(state, name) and u.value(state, name) == expected,
            timeout,
            since=since,
        )

    def latest(self, state: str, name: str, default: Any = None) -> Any:
        """The last value of a var the backend sent this tab."""
        for update in reversed(self.updates):
            if update.has(state, name):
                return update.value(state, name)
        return default

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._session is not None and self._own_session:
            await self._session.close()
