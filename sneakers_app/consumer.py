"""The journal consumer process: engine journal -> trades, orders, statuses -> order saga.

`python -m sneakers_app consume-journal` (the run command starts one). Several may run: they
share a consumer group, and entries a dead consumer left unacknowledged are claimed after
`STALE_MS`. Stopping (SIGTERM/Ctrl-C) finishes the entry in hand; nothing is lost either way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import ResponseError
from sqlmodel import Session, select

from sneakers_app import gc_tuning, health, logs, metrics, outbox_relay
from sneakers_app.db import get_db_engine
from sneakers_app.models import ProductVariant
from sneakers_app.redis_client import get_redis
from sneakers_app.services import journal, limits
from sneakers_app.settings import get_settings
from trading.journal import DeadLetters, JournalConsumer, JournalEntry
from trading.keys import book_keys

log = logging.getLogger(__name__)

GROUP = "db"
STALE_MS = 30_000
REFRESH_BOOKS_S = 30.0
HOT_SECONDS = 0.2
HOT_BLOCK_MS = 50


def _variant_ids() -> list[str]:
    with Session(get_db_engine()) as session:
        return [str(v) for v in session.exec(select(ProductVariant.id)).all()]


def after_commit(applied: journal.Applied) -> None:
    """An entry was applied. Its charges and emails are outbox rows its commit published (or
    handed to a worker thread that does; a sweep sends what a broker that is down refused):
    what is left is to say what happened."""
    if applied.new_order_ids:
        with logs.bound(order_ids=list(applied.new_order_ids)):
            log.info("journal: new orders %s", applied.new_order_ids)


def make_consumer(name: str | None = None) -> JournalConsumer:
    """A restarted consumer keeps its name (JOURNAL_CONSUMER_NAME, else the host name), so it
    first re-reads the entries it had not acknowledged when it stopped; give each of several
    consumers on one host its own name."""
    name = name or os.environ.get("JOURNAL_CONSUMER_NAME") or socket.gethostname()
    return JournalConsumer(get_redis(), group=GROUP, consumer=name)


BATCH = 200
"""At most this many journal entries are applied in one transaction (JOURNAL_BATCH: another
number; 1 applies each entry in its own transaction)."""
MAX_ATTEMPTS = 5
"""An entry whose handler fails this many times in a row is parked (dead letters)."""
RETRY_BASE_S = 0.2
RETRY_MAX_S = 5.0


def is_blip(exc: BaseException) -> bool:
    """Redis or the database away (connection refused or lost, a timeout, Redis loading, a
    locked SQLite file): the loop waits and goes on, nothing counts against an entry. Anything
    else an entry's handler raises counts against that entry."""
    from redis.exceptions import BusyLoadingError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    blips = (
        RedisConnectionError,
        RedisTimeoutError,
        BusyLoadingError,
        OperationalError,
        InterfaceError,
        DisconnectionError,
        PoolTimeoutError,
        ConnectionError,
        TimeoutError,
    )
    return isinstance(exc, blips)


def backoff_s(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1` (exponential, capped)."""
    return float(min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, attempt - 1)))


class _Loop:
    """The consumer's state across reads. A book whose entry failed is *stalled*: its later
    entries are not read (they stay in the journal, or pending on this consumer) until that
    entry is applied or parked, so each book's entries are applied in sequence order; other
    books go on. Several consumers share the group: an entry is delivered to one of them, and a
    book's entries reach another consumer only through `claim_stale` after STALE_MS (the first
    one is then presumed dead)."""

    def __init__(
        self,
        consumer: JournalConsumer,
        handle: Callable[[JournalEntry], None],
        handle_batch: Callable[[Sequence[JournalEntry]], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.handle = handle
        self.handle_batch = handle_batch
        self.batch = max(1, int(os.environ.get("JOURNAL_BATCH") or BATCH))
        self.dead = DeadLetters(consumer.client)
        self.failures: dict[str, int] = {}  # entry id -> failed attempts in a row
        self.stalled: dict[str, float] = {}  # book -> when its failed entry may be tried again

    def handle_all(self, entries: list[JournalEntry]) -> set[str]:
        """Handles and acks `entries` in order, stopping a book at its first failure; returns
        the books that made progress. A blip propagates (the caller backs off).

        With a batch handler, up to `batch` entries go in one transaction and one XACK per book;
        when a batch fails (not a blip) its entries are handled one at a time, so the entry at
        fault is counted and parked alone."""
        progressed: set[str] = set()
        if self.handle_batch is not None and len(entries) > 1 and self.batch > 1:
            rest: list[JournalEntry] = []
            for first in range(0, len(entries), self.batch):
                chunk = entries[first : first + self.batch]
                if rest or any(e.malformed for e in chunk) or not self._batch(chunk):
                    rest.extend(chunk)
                    continue
                progressed |= {e.variant_id for e in chunk}
            for book in progressed:
                self.stalled.pop(book, None)
            return progressed | self._one_by_one(rest)
        return self._one_by_one(entries)

    def _batch(self, entries: list[JournalEntry]) -> bool:
        """Handle and ack `entries` in one transaction; False when it failed (nothing of it
        was committed)."""
        assert self.handle_batch is not None
        try:
            self.handle_batch(entries)
        except Exception as exc:
            if is_blip(exc):
                raise
            log.info("a batch of %d journal entries failed (%r): one at a time", len(entries), exc)
            return False
        self.consumer.ack(entries)
        for e in entries:
            self.failures.pop(e.entry_id, None)
        return True

    def _one_by_one(self, entries: list[JournalEntry]) -> set[str]:
        progressed: set[str] = set()
        stopped: set[str] = set()
        for entry in entries:
            book = entry.variant_id
            if book in stopped:
                continue
            try:
                if entry.malformed:
                    raise ValueError(entry.malformed)
                with logs.bound(
                    journal_entry=entry.entry_id,
                    book=book,
                    trade_ids=[t.trade_id for t in entry.trades] or None,
                ):
                    self.handle(entry)
            except Exception as exc:
                if is_blip(exc):
                    raise
                stopped.add(book)
                self._failed(entry, exc)
                continue
            self.consumer.ack([entry])
            self.failures.pop(entry.entry_id, None)
            progressed.add(book)
            self._count_applied(entry)
        for book in progressed - stopped:
            self.stalled.pop(book, None)
        return progressed

    def _count_applied(self, entry: JournalEntry) -> None:
        name = self.consumer.consumer
        metrics.JOURNAL_APPLIED.labels(consumer=name).inc()
        written_ms = int(entry.entry_id.split("-", 1)[0] or 0)
        age = max(0.0, time.time() - written_ms / 1000)
        metrics.JOURNAL_APPLY_AGE.labels(consumer=name).observe(age)

    def _failed(self, entry: JournalEntry, exc: Exception) -> None:
        attempts = self.failures.get(entry.entry_id, 0) + 1
        conflict = isinstance(exc, journal.TradeIdConflict)
        if attempts < MAX_ATTEMPTS and not conflict:
            self.failures[entry.entry_id] = attempts
            self.stalled[entry.variant_id] = time.monotonic() + backoff_s(attempts)
            log.warning(
                "journal entry %s of book %s failed (attempt %d): %r",
                entry.entry_id,
                entry.variant_id,
                attempts,
                exc,
            )
            return
        self.dead.park(
            entry,
            error=f"{type(exc).__name__}: {exc}",
            attempts=attempts,
            consumer=self.consumer.consumer,
            group=self.consumer.group,
        )
        self.failures.pop(entry.entry_id, None)
        metrics.JOURNAL_PARKED.labels(consumer=self.consumer.consumer).inc()
        # its book goes on with the next entry: the engine decided those already, and applying
        # is idempotent and order-insensitive enough that the parked entry can be re-applied
        # later (docs/trading.md, "Books and the journal under faults")
        self.stalled[entry.variant_id] = time.monotonic()
        log.error(
            "journal entry %s of book %s parked after %d attempts: %r",
            entry.entry_id,
            entry.variant_id,
            attempts,
            exc,
        )
        if conflict and entry.variant_id.isdigit():
            _repair(int(entry.variant_id))

    def retry_stalled(self) -> None:
        """Re-read (in order) the pending entries of the stalled books that are due."""
        now = time.monotonic()
        due = sorted(b for b, at in self.stalled.items() if at <= now)
        if due:
            entries = self.consumer.read(due, pending=True)
            for b in set(due) - {e.variant_id for e in entries}:
                self.stalled.pop(b, None)  # nothing left pending: it reads new entries again
            self.handle_all(entries)

    def flowing(self, books: list[str]) -> list[str]:
        return [b for b in books if b not in self.stalled]


def _repair(variant_id: int) -> None:
    """Rebuild a book that issued a trade id twice, if it is still behind the database."""
    from sneakers_app.services import books as book_service

    try:
        with Session(get_db_engine(), expire_on_commit=False) as session:
            book_service.ensure_book(session=session, client=get_redis(), variant_id=variant_id)
    except Exception as exc:  # beat's repair_books tries again
        log.warning("could not rebuild book %s yet: %r", variant_id, exc)


def run(stop: threading.Event | None = None, *, block_ms: int = 1000) -> None:
    """Handle journal entries until `stop`: first the ones this consumer had read and not
    acknowledged before it stopped, then new ones as they come.

    Reading every book's stream costs Redis time in proportion to the number of books (about
    1.5 ms for the demo catalog's 750), so a busy book is not allowed to cost one such read per
    entry: after a read, the books that had entries are read on their own (blocking up to
    `HOT_BLOCK_MS`) for up to `HOT_SECONDS`, then every book again. No book waits longer than
    `HOT_SECONDS` plus one read for its entries to be looked at.

    Faults: Redis or the database away makes the loop wait (backoff up to RETRY_MAX_S) and go
    on where it was once they are back; a book's journal that vanished (Redis lost its data)
    gets its group again; an entry that fails
    MAX_ATTEMPTS times is parked in the dead-letter stream (staff console) and its book goes
    on. Nothing here ever ends the loop but `stop`.
    """
    stop = stop or threading.Event()
    outbox_relay.publish_in_background()  # each entry's charges and emails: never wait on them
    consumer = make_consumer()
    session = lambda: Session(get_db_engine(), expire_on_commit=False)  # noqa: E731
    handle = journal.handler(session, after_commit)
    loop = _Loop(consumer, handle, journal.batch_handler(session, after_commit))
    books: list[str] = []
    refreshed = 0.0
    unacked_read = False
    blips = 0
    while not stop.is_set():
        try:
            if time.monotonic() - refreshed > REFRESH_BOOKS_S:
                books = _variant_ids()
                refreshed = time.monotonic()
                loop.handle_all(consumer.claim_stale(loop.flowing(books), min_idle_ms=STALE_MS))
            if not books:
                stop.wait(1.0)
                continue
            if not unacked_read:  # a read returns up to 100 per book: read until none is left
                while loop.handle_all(consumer.read(loop.flowing(books), pending=True)):
                    pass
                unacked_read = True
            loop.retry_stalled()
            hot = loop.handle_all(consumer.read(loop.flowing(books), block_ms=block_ms))
            until = time.monotonic() + HOT_SECONDS
            while hot and time.monotonic() < until and not stop.is_set():
                hot_books = loop.flowing(sorted(hot))
                hot = loop.handle_all(consumer.read(hot_books, block_ms=HOT_BLOCK_MS))
            blips = 0
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                blips += 1
                log.exception("journal consumer: %r; retrying in %.1fs", exc, backoff_s(blips))
                stop.wait(backoff_s(blips))
                continue
            # a journal and its group vanished: Redis lost its data. Make the groups again; the
            # book itself refuses orders until it is rebuilt (by the first order it refuses, or
            # beat's repair_books), from the database, which holds everything applied so far.
            log.warning("a book's journal vanished (%s); creating its group again", exc)
            consumer.forget_groups()
            unacked_read = False
        except Exception as exc:
            blips += 1
            if is_blip(exc):
                log.warning("journal consumer: %r; retrying in %.1fs", exc, backoff_s(blips))
            else:  # not an entry's fault (those are counted in handle_all): log it and go on
                log.exception("journal consumer loop failed; retrying in %.1fs", backoff_s(blips))
            stop.wait(backoff_s(blips))
            consumer.forget_groups()  # a restarted Redis may have lost them
            unacked_read = False  # entries read before the blip are pending: read them first


NOT_YET_READ = "(not yet read)"
"""The lag gauges' consumer label for entries no consumer of the group has read yet."""
COUNT_CAP = 10_000
"""Undelivered entries are counted up to this many per book (then the figure is a floor)."""


def _ms(entry_id: Any) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0] or 0)


class JournalLag(Collector):
    """The group's journal lag, read from Redis at each scrape of this consumer's /metrics:
    per consumer, the entries it read and has not applied yet and the age of the oldest; for
    `NOT_YET_READ`, the entries no consumer has read yet and the oldest one's age. A few
    pipelined round trips whatever the number of books (one per book and step at most)."""

    def __init__(self, client: Any, books: Callable[[], list[str]]) -> None:
        self.client = client
        self.books = books

    def collect(self) -> Iterator[Metric]:
        entries = GaugeMetricFamily(
            "sneakers_journal_lag_entries",
            "Journal entries not applied yet, per consumer (read, unacknowledged) or not read",
            labels=["consumer"],
        )
        seconds = GaugeMetricFamily(
            "sneakers_journal_lag_seconds",
            "Age of the oldest journal entry not applied yet, per consumer or not read",
            labels=["consumer"],
        )
        now_ms = time.time() * 1000
        for name, (count, oldest_ms) in self.lag().items():
            entries.add_metric([name], count)
            seconds.add_metric([name], max(0.0, (now_ms - oldest_ms) / 1000) if count else 0.0)
        yield entries
        yield seconds

    def lag(self) -> dict[str, tuple[int, int]]:
        """{consumer: (entries, oldest entry's ms)}, `NOT_YET_READ` included."""
        streams = [book_keys(v).journal for v in self.books()]
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            pipe.xinfo_groups(stream)
        groups: dict[str, dict[str, Any]] = {}
        for stream, reply in zip(streams, pipe.execute(raise_on_error=False), strict=True):
            for group in reply if isinstance(reply, list) else []:
                if _text(group.get("name")) == GROUP:
                    groups[stream] = group
        out: dict[str, tuple[int, int]] = {NOT_YET_READ: (0, 0)}
        self._undelivered(groups, out)
        self._pending(groups, out)
        return out

    def _undelivered(
        self, groups: dict[str, dict[str, Any]], out: dict[str, tuple[int, int]]
    ) -> None:
        pipe = self.client.pipeline(transaction=False)
        for stream, group in groups.items():
            pipe.xrange(stream, min="(" + _text(group["last-delivered-id"]), count=COUNT_CAP)
        for found in pipe.execute(raise_on_error=False):
            if isinstance(found, list) and found:
                _add(out, NOT_YET_READ, len(found), _ms(found[0][0]))

    def _pending(self, groups: dict[str, dict[str, Any]], out: dict[str, tuple[int, int]]) -> None:
        behind = [s for s, g in groups.items() if int(g.get("pending") or 0)]
        pipe = self.client.pipeline(transaction=False)
        for stream in behind:
            pipe.xpending(stream, GROUP)
        owners: list[tuple[str, str, int]] = []
        for stream, summary in zip(behind, pipe.execute(raise_on_error=False), strict=True):
            for c in summary.get("consumers", []) if isinstance(summary, dict) else []:
                owners.append((stream, _text(c["name"]), int(c["pending"])))
        pipe = self.client.pipeline(transaction=False)
        for stream, name, _count in owners:
            pipe.xpending_range(stream, GROUP, min="-", max="+", count=1, consumername=name)
        for (_stream, name, count), first in zip(
            owners, pipe.execute(raise_on_error=False), strict=True
        ):
            oldest = _ms(first[0]["message_id"]) if isinstance(first, list) and first else 0
            _add(out, name, count, oldest)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _add(out: dict[str, tuple[int, int]], name: str, count: int, oldest_ms: int) -> None:
    had, had_oldest = out.get(name, (0, 0))
    oldest = min(x for x in (had_oldest, oldest_ms) if x) if (had_oldest or oldest_ms) else 0
    out[name] = (had + count, oldest)


def main() -> int:
    stop = threading.Event()
    health.serve(get_settings().CONSUMER_METRICS_PORT, JournalLag(get_redis(), _variant_ids))

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logs.configure()
    print("Journal consumer running.", flush=True)
    outbox_relay.start_sweeper(stop)
    limits.prepare()
    gc_tuning.freeze_startup()  # everything is imported: no pass walks it again
    run(stop)
    return 0
