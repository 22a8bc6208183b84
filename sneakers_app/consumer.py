"""The journal consumer process: engine journal -> trades, orders, statuses -> order saga.

`python -m sneakers_app consume-journal` (the run command starts one). Several may run: they
share a consumer group, and entries a dead consumer left unacknowledged are claimed after
`STALE_MS`. Stopping (SIGTERM/Ctrl-C) finishes the entry in hand; nothing is lost either way.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from types import FrameType

from sqlmodel import Session, select

from sneakers_app import outbox_relay
from sneakers_app.db import get_engine as get_db_engine
from sneakers_app.models import ProductVariant
from sneakers_app.redis_client import get_redis
from sneakers_app.services import journal
from trading.journal import JournalConsumer, JournalEntry

GROUP = "db"
STALE_MS = 30_000
REFRESH_BOOKS_S = 30.0
HOT_SECONDS = 0.2
HOT_BLOCK_MS = 50


def _variant_ids() -> list[str]:
    with Session(get_db_engine()) as session:
        return [str(v) for v in session.exec(select(ProductVariant.id)).all()]


def after_commit(applied: journal.Applied) -> None:
    """The entry's charges and emails are outbox rows committed with it: publish them now.
    Never raises (the entry is applied; a broker that is down leaves them to the sweep)."""
    outbox_relay.deliver_keys(applied.follow_ups)


def make_consumer(name: str | None = None) -> JournalConsumer:
    """A restarted consumer keeps its name (JOURNAL_CONSUMER_NAME, else the host name), so it
    first re-reads the entries it had not acknowledged when it stopped; give each of several
    consumers on one host its own name."""
    name = name or os.environ.get("JOURNAL_CONSUMER_NAME") or socket.gethostname()
    return JournalConsumer(get_redis(), group=GROUP, consumer=name)


def run(stop: threading.Event | None = None, *, block_ms: int = 1000) -> None:
    """Handle journal entries until `stop`: first the ones this consumer had read and not
    acknowledged before it stopped, then new ones as they come.

    Reading every book's stream costs Redis time in proportion to the number of books (about
    1.5 ms for the demo catalog's 750), so a busy book is not allowed to cost one such read per
    entry: after a read, the books that had entries are read on their own (blocking up to
    `HOT_BLOCK_MS`) for up to `HOT_SECONDS`, then every book again. No book waits longer than
    `HOT_SECONDS` plus one read for its entries to be looked at.
    """
    stop = stop or threading.Event()
    consumer = make_consumer()
    handle = journal.handler(lambda: Session(get_db_engine(), expire_on_commit=False), after_commit)

    def handle_all(entries: list[JournalEntry]) -> set[str]:
        """Handles and acks `entries`; returns their books."""
        return {entry.variant_id for entry in consumer.handle(entries, handle)}

    books: list[str] = []
    refreshed = 0.0
    unacked_read = False
    while not stop.is_set():
        if time.monotonic() - refreshed > REFRESH_BOOKS_S:
            books = _variant_ids()
            refreshed = time.monotonic()
            handle_all(consumer.claim_stale(books, min_idle_ms=STALE_MS))
        if not books:
            stop.wait(1.0)
            continue
        if not unacked_read:  # a read returns up to 100 per book: read until none is left
            while handle_all(consumer.read(books, pending=True)):
                pass
            unacked_read = True
        hot = handle_all(consumer.read(books, block_ms=block_ms))
        until = time.monotonic() + HOT_SECONDS
        while hot and time.monotonic() < until and not stop.is_set():
            hot = handle_all(consumer.read(sorted(hot), block_ms=HOT_BLOCK_MS))


def main() -> int:
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print("Journal consumer running.", flush=True)
    outbox_relay.start_sweeper(stop)
    run(stop)
    return 0
