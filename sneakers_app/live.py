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
from typing import Any, TypeVar

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
T = TypeVar("T")


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
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
        self._versions[book] = self._versions.get(book, 0) + 1
        self._latest[book] = update
        for event in self._waiters.get(book, ()):
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

    async def wait(self, seen: Mapping[str, int], timeout: float) -> tuple[dict[str, int], bool]:
        """Wait until any book in `seen` moved past its version (or `timeout` seconds).

        Returns the new versions and whether anything changed; pass them back next time.
        """
        self.ensure_started()
        books = [b for b in seen if b]
        if not self._changed(seen):
            event = asyncio.Event()
            for book in books:
                self._waiters.setdefault(book, set()).add(event)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
            finally:
                for book in books:
                    waiters = self._waiters.get(book)
                    if waiters is not None:
                        waiters.discard(event)
                        if not waiters:
                            del self._waiters[book]
        changed = self._changed(seen)
        return self.versions(books), changed

    async def shared(
        self,
        key: Hashable,
        seen: Mapping[str, int],
        load: Callable[[], T],
        *,
        not_before: float | None = None,
    ) -> T:
        """`load()` (run in a worker thread) for the view `key`, shared between sessions.

        A read that started once the hub had reached the versions in `seen` (from `wait`), and
        not before the monotonic time `not_before` (for reloads that a book version does not
        announce, e.g. a sale row the database has not got yet), is fresh enough for the
        caller: it awaits that read, running or done, instead of starting its own.
        """
        entry = self._shared.get(key)
        if (
            entry is None
            or (not_before is not None and entry.started < not_before)
            or any(entry.versions.get(b, 0) < v for b, v in seen.items())
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


_hub: BookHub | None = None


def get_hub() -> BookHub:
    """The process's hub (its subscriber starts with the first waiter)."""
    global _hub
    if _hub is None:
        _hub = BookHub()
    return _hub
