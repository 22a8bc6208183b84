"""Live book updates for the pages: ONE Redis pub/sub subscriber per backend process.

The engine publishes every change of a book on `{book:<variant>}:updates` (see
`trading.market_data.channel`). This module pattern-subscribes to all of them once per process
and keeps, per book, the newest update and a version counter. A page session waiting on some
books registers an `asyncio.Event` for each of them (the fan-out: a message wakes exactly the
sessions watching that book) and, once woken, reads only the newest state of the book (the
conflation: ten updates while a session was busy reloading cost it one reload, not ten).

After the subscription is (re)established every book's version is bumped, so a session that
may have missed messages while Redis was away resyncs from the book itself.

Sessions that show the same thing share one read of it (`BookHub.shared`): the first session
woken by an update starts the read in a worker thread, and every other session of the process
that needs the same view at the same (or an older) version awaits that read instead of
starting its own. A thousand viewers of one product cost one read per update, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from sneakers_app.settings import get_settings
from trading import market_data

log = logging.getLogger(__name__)

PATTERN = "{book:*}:updates"
"""Every book's channel (`market_data.channel(v)`); braces are literal in Redis glob patterns."""
SHARED_VIEWS = 512
"""Shared reads kept per process (one per distinct view: product, size, ...)."""
MIN_PUSH_INTERVAL = 0.1
"""A feed pauses this long after each round (a read, a push), however fast its books move
(conflation). The pause follows the round rather than spacing round starts: when the rounds
slow down (a busy machine), the updates are conflated more instead of taking more of it
(measured: spacing the starts raised a worker's frames 4.2 -> 6.0 a second at 2000 viewers,
and the p99 with them, on a saturated machine)."""
FEED_IDLE_SECONDS = 30.0
"""A feed with no members stops after this long."""
T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


@dataclass(frozen=True)
class _SharedLoad:
    versions: Mapping[str, int]
    """The hub's versions of the view's books when the read started."""
    started: float
    future: asyncio.Future[Any]


def _subscriber_url(url: str) -> str:
    """Pub/sub messages are broadcast to every node of a Redis Cluster, so one node will do."""
    if url.startswith("redis+cluster://"):
        return url.replace("redis+cluster://", "redis://", 1)
    return url


class Wake(NamedTuple):
    """How a `BookHub.wake` ended: the topics' versions now, whether any moved, and whether it
    only ran out its time (nothing moved, no kick)."""

    versions: dict[str, int]
    changed: bool
    timed_out: bool


class BookHub:
    """Newest update and version per book, and the sessions waiting for them."""

    def __init__(self, url: str | None = None) -> None:
        self._url = url
        self._versions: dict[str, int] = {}
        self._latest: dict[str, market_data.BookUpdate] = {}
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._epoch = 0
        self._shared: dict[Hashable, _SharedLoad] = {}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed: asyncio.Event | None = None
        self._kicks: dict[str, asyncio.Event] = {}
        self._missed_kicks: set[str] = set()  # kicked while not waiting: the next wait returns
        self._feeds: dict[Hashable, ViewFeed[Any]] = {}
        self.messages = 0

    # --- the subscriber ---------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the subscriber on the running loop (once; again if it died or the loop changed)."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self._subscribed = asyncio.Event()
        self._task = loop.create_task(self._run(), name="sneakers-book-hub")

    async def wait_subscribed(self, timeout: float = 5.0) -> bool:
        self.ensure_started()
        assert self._subscribed is not None
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        task, self._task = self._task, None
        await _cancel(task)

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            client = aioredis.Redis.from_url(_subscriber_url(self._url or get_settings().redis_url))
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(PATTERN)
                # Wait for Redis to confirm: from then on no published update is missed.
                confirm = await pubsub.get_message(timeout=5.0)
                if confirm is None or confirm.get("type") != "psubscribe":
                    raise RedisConnectionError("no confirmation of the subscription")
                self._resync_all()
                if self._subscribed is not None:
                    self._subscribed.set()
                backoff = 0.2
                async for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        self._on_message(message.get("data"))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("book updates: subscriber lost Redis (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _on_message(self, data: Any) -> None:
        try:
            update = market_data.parse_update(data)
        except (ValueError, KeyError, TypeError, IndexError):
            log.warning("book updates: ignoring a malformed message")
            return
        self.messages += 1
        book = update.variant_id
        self._latest[book] = update
        self._bump(book)
        if update.last_trade is not None or update.reset:
            self._bump(trade_topic(book))

    def _bump(self, topic: str) -> None:
        self._versions[topic] = self._versions.get(topic, 0) + 1
        for event in self._waiters.get(topic, ()):
            event.set()

    def _resync_all(self) -> None:
        """After (re)subscribing: every waiter reloads, as it may have missed messages."""
        self._epoch += 1
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    # --- what the pages use -----------------------------------------------------------------

    def versions(self, books: Iterable[str]) -> dict[str, int]:
        """The current version of each book (plus the resubscribe epoch under key "")."""
        seen = {b: self._versions.get(b, 0) for b in books}
        seen[""] = self._epoch
        return seen

    def latest(self, book: str) -> market_data.BookUpdate | None:
        return self._latest.get(book)

    def _changed(self, seen: Mapping[str, int]) -> bool:
        if seen.get("", 0) != self._epoch:
            return True
        return any(self._versions.get(b, 0) != v for b, v in seen.items() if b)

    async def wait(
        self, seen: Mapping[str, int], timeout: float, *, kick_key: str = ""
    ) -> tuple[dict[str, int], bool]:
        """Wait until any topic in `seen` (a book, or a book's trades: `trade_topic`) moved past
        its version, or `timeout` seconds, or `kick(kick_key)`.

        Returns the new versions and whether anything changed; pass them back next time.
        """
        woke = await self.wake(seen, timeout, kick_key=kick_key)
        return woke.versions, woke.changed

    async def wake(self, seen: Mapping[str, int], timeout: float, *, kick_key: str = "") -> Wake:
        """`wait`, also telling whether it merely ran out its time (nothing changed and no kick):
        a loop that only looks at its session when something happened can skip that look."""
        self.ensure_started()
        books = [b for b in seen if b]
        timed_out = False
        if kick_key in self._missed_kicks:
            self._missed_kicks.discard(kick_key)
        elif not self._changed(seen):
            event = asyncio.Event()
            for book in books:
                self._waiters.setdefault(book, set()).add(event)
            if kick_key:
                self._kicks[kick_key] = event

            def time_is_up() -> None:
                nonlocal timed_out
                timed_out = not event.is_set()
                event.set()

            # A timer that sets the event, not `wait_for`: a timeout raised and suppressed here
            # leaves a reference cycle (exception, traceback, frames) for the garbage collector,
            # one per sleeping tab every few seconds.
            timer = asyncio.get_running_loop().call_later(timeout, time_is_up)
            try:
                await event.wait()
            finally:
                timer.cancel()
                for book in books:
                    waiters = self._waiters.get(book)
                    if waiters is not None:
                        waiters.discard(event)
                        if not waiters:
                            del self._waiters[book]
                if kick_key and self._kicks.get(kick_key) is event:
                    del self._kicks[kick_key]
        changed = self._changed(seen)
        return Wake(self.versions(books), changed, timed_out and not changed)

    def wake_all(self) -> None:
        """Wake every wait now (each returns unchanged, so its loop looks again): a stopping
        worker's page loops then find their tabs gone and end, rather than sleeping out
        their timeouts while the worker waits for them."""
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
        for event in self._kicks.values():
            event.set()

    def kick(self, key: str) -> None:
        """Wake the `wait` registered under `key` now (it returns unchanged, so its caller looks
        again at what it waits for: e.g. a page that opened a dialog wants every book change).
        A kick while nothing waits under `key` (its loop is busy reading) is kept for the next
        `wait` under that key, which then returns at once."""
        event = self._kicks.get(key)
        if event is not None:
            event.set()
        elif key:
            if len(self._missed_kicks) >= 10_000:  # keys of tabs long gone: let them go
                self._missed_kicks.clear()
            self._missed_kicks.add(key)

    async def shared(
        self,
        key: Hashable,
        seen: Mapping[str, int],
        load: Callable[[], T],
        *,
        not_before: float | None = None,
        any_version: bool = False,
    ) -> T:
        """`load()` (run in a worker thread) for the view `key`, shared between sessions.

        A read that started once the hub had reached the versions in `seen` (from `wait`), and
        not before the monotonic time `not_before` (for reloads that a book version does not
        announce, e.g. a sale row the database has not got yet), is fresh enough for the
        caller: it awaits that read, running or done, instead of starting its own. With
        `any_version`, a read that started after `not_before` will do, whatever the books did
        since (a burst of tabs arriving while the books change takes one read, not one each).
        """
        entry = self._shared.get(key)
        if (
            entry is None
            or (not_before is not None and entry.started < not_before)
            or (not any_version and any(entry.versions.get(b, 0) < v for b, v in seen.items()))
            or (
                entry.future.done()
                and (entry.future.cancelled() or entry.future.exception() is not None)
            )
        ):
            loop = asyncio.get_running_loop()
            entry = _SharedLoad(
                versions=self.versions([b for b in seen if b]),
                started=time.monotonic(),
                future=asyncio.ensure_future(loop.run_in_executor(None, load)),
            )
            self._shared.pop(key, None)
            self._shared[key] = entry
            if len(self._shared) > SHARED_VIEWS:
                oldest = next(iter(self._shared))
                if oldest != key:
                    del self._shared[oldest]
        # Shielded: a session that is cancelled while waiting does not cancel the others' read.
        result: T = await asyncio.shield(entry.future)
        return result

    def waiting_sessions(self) -> int:
        return len({id(e) for waiters in self._waiters.values() for e in waiters})

    # --- shared views pushed once per update -------------------------------------------------

    def feed(
        self, key: Hashable, books: Iterable[str], load: Callable[[], T], transport: Transport[T]
    ) -> ViewFeed[T]:
        """The process's feed of the view `key` (started on first use, see `ViewFeed`)."""
        self.ensure_started()
        feed = self._feeds.get(key)
        if feed is None or feed.stopped:
            feed = ViewFeed(self, key, tuple(books), load, transport)
            self._feeds[key] = feed
            feed.start()
        return feed

    def find_feed(self, key: Hashable) -> ViewFeed[Any] | None:
        feed = self._feeds.get(key)
        return None if feed is None or feed.stopped else feed

    def _feed_stopped(self, feed: ViewFeed[Any]) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def trade_topic(book: str) -> str:
    """The topic that moves only when a book trades (or is rebuilt): `wait` on it to sleep
    through book changes that are not trades."""
    return f"trade:{book}"


class Transport(Protocol[T_contra]):
    """How a feed reaches its members (for the pages: socket.io rooms of the Reflex app)."""

    async def push(
        self, key: Hashable, view: T_contra, previous: T_contra | None, joining: list[str]
    ) -> None:
        """Send what differs from `previous` (everything when it is None) to every member
        already in, and the whole `view` to each of `joining`, who are in from then on."""

    def drop(self, key: Hashable, member: str) -> None:
        """Take `member` out at once: nothing pushed from now on reaches it."""

    def alive(self, member: str) -> bool:
        """Whether `member` is still connected (a closed tab is let go)."""


class ViewFeed(Generic[T]):
    """One view that many sessions show alike (say a product page's market in one size), kept
    current by ONE loop per process: on a change of its books it reads the view once (through
    `BookHub.shared`, under the feed's key) and pushes it once to all its members (the
    transport encodes one message for all of them), pausing `MIN_PUSH_INTERVAL` seconds after
    each (conflation). Members are strings (socket ids), each with its owner's generation, so a
    stale owner's `leave` does not remove a newer membership of the same socket.

    Joining is two steps: a session that joins has just loaded the view itself and shows that;
    it is `joining` until the next push, which sends it the whole view as read after it joined,
    and from then on it gets what changed. `leave` takes effect at once.
    """

    def __init__(
        self,
        hub: BookHub,
        key: Hashable,
        books: tuple[str, ...],
        load: Callable[[], T],
        transport: Transport[T],
    ) -> None:
        self.hub = hub
        self.key = key
        self.books = books
        self._load = load
        self._transport = transport
        self.members: dict[str, int] = {}
        self.joining: dict[str, int] = {}
        self.view: T | None = None
        self.stopped = False
        self._task: asyncio.Task[None] | None = None
        self._kick_key = f"feed:{id(self)}"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"sneakers-feed-{self.key}"
        )

    def join(self, member: str, generation: int) -> None:
        self.members.pop(member, None)
        self.joining[member] = generation

    def leave(self, member: str, generation: int | None = None) -> bool:
        """Take `member` out (only if it still belongs to `generation`, when one is given)."""
        gone = False
        for group in (self.joining, self.members):
            gen = group.get(member)
            if gen is not None and (generation is None or gen == generation):
                del group[member]
                gone = True
        if gone:
            self._transport.drop(self.key, member)
            if not self.members and not self.joining:
                self.hub.kick(self._kick_key)
        return gone

    def __len__(self) -> int:
        return len(self.members) + len(self.joining)

    async def _run(self) -> None:
        seen = self.hub.versions(self.books)
        idle_since: float | None = None
        try:
            while True:
                if self.members or self.joining:
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= FEED_IDLE_SECONDS:
                    break
                seen, changed = await self.hub.wait(
                    seen, FEED_IDLE_SECONDS / 2, kick_key=self._kick_key
                )
                if not changed or not (self.members or self.joining):
                    continue
                try:
                    await self._round(seen)
                except Exception:
                    log.exception("live feed %s: a push failed; the next one sends all", self.key)
                    self.view = None
                await asyncio.sleep(MIN_PUSH_INTERVAL)
        finally:
            self.stopped = True
            self.hub._feed_stopped(self)
            for member in [*self.members, *self.joining]:
                self._transport.drop(self.key, member)

    async def _round(self, seen: Mapping[str, int]) -> None:
        for member in [m for m in self.members if not self._transport.alive(m)]:
            self.leave(member)
        joining = dict(self.joining)
        view = await self.hub.shared(self.key, seen, self._load)
        # Those still joining under the same generation (a leave meanwhile wins).
        arriving = [m for m, g in joining.items() if self.joining.get(m) == g]
        previous, self.view = self.view, view
        await self._push_and_admit(view, previous, arriving, joining)

    async def _push_and_admit(
        self, view: T, previous: T | None, arriving: list[str], joining: Mapping[str, int]
    ) -> None:
        await self._transport.push(self.key, view, previous, arriving)
        for member in arriving:
            if self.joining.get(member) == joining[member]:
                self.members[member] = self.joining.pop(member)
            elif member not in self.members:
                self._transport.drop(self.key, member)


_hub: BookHub | None = None


def get_hub() -> BookHub:
    """The process's hub (its subscriber starts with the first waiter)."""
    global _hub
    if _hub is None:
        _hub = BookHub()
    return _hub
