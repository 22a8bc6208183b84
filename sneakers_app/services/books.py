"""Order books and the database: open every book, rebuild books from the database's open
orders after Redis lost them, and report every difference between the two.

A book is *behind* when its state in Redis is missing (Redis restarted without its data,
FLUSHALL, a failover to an empty replica) or its sequence is below the last one the database
recorded (`order_books`, see book_sequences.py). Such a book refuses every order
(`unknown_book` / `book_behind`: a place never creates a book) until `ensure_book` rebuilds it:
the database's open orders back in their time priority, the sequence resumed above the last one
the database saw. `ensure_book` runs by itself: at start (`ensure_all`), from the place path the
moment a book refuses an order for that reason, from the journal consumer when a book's journal
vanished, and every few seconds from beat (`sneakers.repair_books`).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from sneakers_app.models import Ask, Bid, EngineFill, OrderBook, ProductVariant, Trade
from sneakers_app.services import book_sequences
from sneakers_app.services.market import engine_order_id
from sneakers_app.vocabulary import LISTING_OPEN
from trading.engine import RedisEngine, text
from trading.events import Trade as TradeEvent
from trading.events import events_from_data
from trading.journal import JournalEntry
from trading.keys import book_keys, book_tag
from trading.orders import Side
from trading.recovery import Difference, OpenOrder, rebuild_book, reconcile

log = logging.getLogger(__name__)

REBUILD_LOCK_MS = 60_000
"""How long a rebuild may hold its book's lock (a crashed rebuilder's lock lapses)."""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def variant_ids(session: Session) -> list[int]:
    return [
        v
        for v in session.exec(select(ProductVariant.id).order_by(col(ProductVariant.id)))
        if v is not None
    ]


def open_orders(session: Session, variant_id: int) -> list[OpenOrder]:
    """Resting orders the engine has accepted, as the database records them."""
    out: list[OpenOrder] = []
    for side, table in (("bid", Bid), ("ask", Ask)):
        rows: Any = session.exec(
            select(table).where(
                table.variant_id == variant_id,
                col(table.status).in_(LISTING_OPEN),
                table.time_in_force == "gtc",
                col(table.engine_accepted).is_(True),
            )
        ).all()
        for row in rows:
            if row.expires_at is None or row.engine_sequence < 1:
                continue
            out.append(
                OpenOrder(
                    order_id=engine_order_id(side, row.id),  # type: ignore[arg-type]
                    user_id=str(row.user_id),
                    side=Side.BID if side == "bid" else Side.ASK,
                    price_cents=row.price_cents,
                    remaining=row.quantity - row.filled_quantity,
                    sequence=row.engine_sequence,
                    expires_at=_ms(row.expires_at),
                )
            )
    return out


def last_sequence(session: Session, variant_id: int) -> int:
    """The highest book sequence the database has seen, so new trade ids never repeat."""
    highest = book_sequences.recorded(session, variant_id)
    for table in (Bid, Ask):
        seqs: Any = session.exec(
            select(table.engine_sequence).where(table.variant_id == variant_id)
        ).all()
        highest = max([highest, *seqs])
    for trade_id in session.exec(select(Trade.id).where(Trade.variant_id == variant_id)).all():
        tail = trade_id.rsplit("-", 1)[-1]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return highest


@dataclass(frozen=True)
class BookHealth:
    variant_id: int
    state: str | None
    """open | rebuilding | None (missing from Redis)."""
    sequence: int
    floor: int
    """The last sequence the database recorded for the book."""

    @property
    def behind(self) -> bool:
        return self.state is None or self.sequence < self.floor


def health(*, session: Session, client: Any, variant_ids: list[int]) -> list[BookHealth]:
    """Each book's state in Redis against the database: one pipelined round trip and one query."""
    if not variant_ids:
        return []
    floors = {
        row.variant_id: row.last_sequence
        for row in session.exec(
            select(OrderBook)
            .where(col(OrderBook.variant_id).in_(variant_ids))
            .execution_options(populate_existing=True)
        ).all()
    }
    pipe = client.pipeline(transaction=False)
    for v in variant_ids:
        pipe.hmget(book_keys(str(v)).meta, "state", "seq")
    out = []
    for v, (state, seq) in zip(variant_ids, pipe.execute(), strict=True):
        out.append(
            BookHealth(
                variant_id=v,
                state=text(state) if state is not None else None,
                sequence=int(text(seq)) if seq is not None else 0,
                floor=floors.get(v, 0),
            )
        )
    return out


def _lock_key(variant_id: int) -> str:
    return f"{book_tag(str(variant_id))}:rebuild-lock"


_UNLOCK = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


def ensure_book(*, session: Session, client: Any, variant_id: int) -> bool:
    """Rebuild the book from the database if Redis lost it or is behind; True when it did.

    One rebuilder per book at a time (a lock in Redis); a caller that finds the lock taken
    returns at once (the book keeps refusing orders until the holder finishes). A book left
    halted by a rebuilder that died is rebuilt again once its lock lapsed."""
    (h,) = health(session=session, client=client, variant_ids=[variant_id])
    if h.state == "open" and not h.behind:
        return False
    token = secrets.token_hex(8)
    lock = _lock_key(variant_id)
    if not client.set(lock, token, nx=True, px=REBUILD_LOCK_MS):
        return False
    try:
        (h,) = health(session=session, client=client, variant_ids=[variant_id])
        if h.state == "open" and not h.behind:
            return False
        recover_fills(session, variant_id)
        orders = open_orders(session, variant_id)
        floor = last_sequence(session, variant_id)
        if not orders and h.state is None:
            # nothing to bring back: a new book, or one lost while empty
            RedisEngine(client, load_scripts=False).open_book(str(variant_id), last_sequence=floor)
            sequence = floor
        else:
            sequence = rebuild_book(client, str(variant_id), orders, last_sequence=floor)
        book_sequences.raise_to(session, variant_id, sequence, rebuilt=True)
        session.commit()
        return True
    finally:
        client.eval(_UNLOCK, 1, lock, token)


def recover_fills(session: Session, variant_id: int) -> list[str]:
    """Record the fills users were told about whose journal entry was lost before the consumer
    recorded them (engine_fills, written by the place path), oldest first; committed. Their new
    orders are charged by the order sweep (`sweep_orders`: orders still `created`)."""
    from sneakers_app.services import journal

    rows = session.exec(
        select(EngineFill)
        .where(EngineFill.variant_id == variant_id)
        .order_by(col(EngineFill.at_ms), col(EngineFill.trade_id))
    ).all()
    recovered = []
    for row in rows:
        trade_id = row.trade_id
        try:
            events = events_from_data(
                json.loads(row.event), variant_id=str(variant_id), at=row.at_ms
            )
            fills = tuple(t for t in events if isinstance(t, TradeEvent))
            if fills and session.get(Trade, trade_id) is None:
                entry = JournalEntry(
                    entry_id="",
                    variant_id=str(variant_id),
                    command="recovered",
                    sequence=max(t.sequence for t in fills),
                    at=row.at_ms,
                    events=fills,
                )
                journal.apply_entry(session, entry)  # deletes the row too
                recovered.append(trade_id)
            else:
                session.delete(row)
            session.commit()
        except Exception:  # one bad row never keeps the book from being rebuilt
            session.rollback()
            log.exception("could not record the kept fill %s", trade_id)
    return recovered


def ensure_all(*, session: Session, client: Any) -> list[int]:
    """Open every new book and rebuild every book Redis lost or is behind on; returns the
    variant ids of the books it opened or rebuilt."""
    # kept fills the consumer recorded after the place path wrote them (a race) are done with
    recorded = select(Trade.id).where(col(Trade.id) == col(EngineFill.trade_id)).exists()
    session.execute(delete(EngineFill).where(recorded))  # by the trades' key, per kept fill
    session.commit()
    done = []
    for h in health(session=session, client=client, variant_ids=variant_ids(session)):
        if (h.state != "open" or h.behind) and ensure_book(
            session=session, client=client, variant_id=h.variant_id
        ):
            done.append(h.variant_id)
    return done


def open_all(*, session: Session, engine: RedisEngine) -> int:
    """Open new books and rebuild lost ones (see ensure_all); returns how many."""
    return len(ensure_all(session=session, client=engine.client))


def rebuild_all(*, session: Session, client: Any) -> dict[int, int]:
    """Rebuild every book from the database; returns each book's order count."""
    counts: dict[int, int] = {}
    for variant_id in variant_ids(session):
        orders = open_orders(session, variant_id)
        sequence = rebuild_book(
            client, str(variant_id), orders, last_sequence=last_sequence(session, variant_id)
        )
        book_sequences.raise_to(session, variant_id, sequence, rebuilt=True)
        session.commit()
        counts[variant_id] = len(orders)
    return counts


def reconcile_all(*, session: Session, client: Any) -> dict[int, list[Difference]]:
    """Every difference between Redis and the database, per book (empty when they agree)."""
    report: dict[int, list[Difference]] = {}
    for variant_id in variant_ids(session):
        diffs = reconcile(client, str(variant_id), open_orders(session, variant_id))
        if diffs:
            report[variant_id] = diffs
    return report
