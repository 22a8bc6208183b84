"""The journal consumer's database side: turn what the engine decided into rows.

The entries of one read are applied in one database transaction (`apply_entries`; an entry
alone when the batch fails, so a bad entry is found and parked on its own): fills become
`trades`, a `sales` row on the public tape and an `orders` row per unit; bids and asks take
their fills, cancellations, expiries and price changes. The rows a batch touches are read with
one query per table first, and each book's sequence is raised once per batch. Everything is
keyed by the engine's ids (trade id, order id) and set to absolute values, so applying an entry
twice changes nothing: the consumer acknowledges entries only after their transaction
committed, and a crash anywhere (mid-batch too) replays them.
The saga's first step (charge) and the emails are outbox rows written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from sneakers_app import models
from sneakers_app.models import Ask, Bid, EngineFill, Order, ProductVariant, Sale, Trade, utcnow
from sneakers_app.services import book_sequences, notifications, orders, outbox
from sneakers_app.services.market import parse_engine_order_id
from sneakers_app.services.notifications import Kind
from sneakers_app.services.read_once import kept, kept_many
from sneakers_app.vocabulary import LISTING_OPEN, ListingStatus
from trading import events as ev
from trading.journal import DeadLetters, JournalEntry, ParkedEntry

CHARGE_TASK = "sneakers.charge_order"
SEEDED = "seed-"
"""The client keys of the demo market makers' seeded orders (no "placed" notice)."""


def charge_key(order_id: int) -> str:
    """The outbox key of an order's charge (written with the order)."""
    return f"charge_order:{order_id}"


@dataclass
class Applied:
    trades: list[str] = field(default_factory=list)
    new_order_ids: list[int] = field(default_factory=list)
    emails: list[int] = field(default_factory=list)


@dataclass
class _Batch:
    """What a batch of entries reads once: the trades already recorded (by id) and the
    sellers' standings (for the fee snapshot; a batch completes no order, so they hold for it).
    Bids, asks, their addresses and cards are loaded into the session by `_prefetch`."""

    known: dict[str, Trade] = field(default_factory=dict)
    standings: dict[int, orders.SellerStanding] = field(default_factory=dict)
    rows: list[object] = field(default_factory=list)
    """The rows read ahead, held for the batch (the session forgets rows nothing holds)."""
    sales: list[Sale] = field(default_factory=list)
    new_orders: list[Order] = field(default_factory=list)
    """The new trades' sales and orders, written together after the trades
    (`_write_new_orders`)."""
    cancelled: dict[type[Bid] | type[Ask], dict[int, Bid | Ask]] = field(default_factory=dict)
    """Rows the engine took out of its book, written together (`_write_cancelled`) before
    anything reads which listings are open, and at the batch's end."""


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _row(session: Session, order_id: str) -> Bid | Ask | None:
    parsed = parse_engine_order_id(order_id)
    if parsed is None:
        return None
    side, row_id = parsed
    return session.get(Bid, row_id) if side == "bid" else session.get(Ask, row_id)


def _set_remaining(row: Bid | Ask, remaining: int, now: datetime) -> None:
    row.filled_quantity = max(row.filled_quantity, row.quantity - remaining)
    if row.status not in ("cancelled", "expired"):
        row.status = "filled" if remaining == 0 else "partially_filled"
    row.engine_accepted = True
    row.updated_at = now


class TradeIdConflict(Exception):
    """A journal entry's trade id is already recorded for another match: the book issued it a
    second time (it lost state and restarted below the database's last sequence). Retrying
    cannot help: the entry is parked for staff and the book rebuilt."""


def _apply_trade(
    session: Session, trade: ev.Trade, now: datetime, out: Applied, batch: _Batch
) -> None:
    known = batch.known.get(trade.trade_id)
    if known is not None:
        names = (f"b{known.bid_id}", f"a{known.ask_id}")
        if names != (trade.bid_order_id, trade.ask_order_id):
            raise TradeIdConflict(
                f"trade {trade.trade_id} is recorded between {names[0]} and {names[1]}, the "
                f"journal has it between {trade.bid_order_id} and {trade.ask_order_id}"
            )
        return  # a replay of an entry already applied
    bid, ask = _row(session, trade.bid_order_id), _row(session, trade.ask_order_id)
    if not isinstance(bid, Bid) or not isinstance(ask, Ask):
        raise LookupError(f"trade {trade.trade_id} names orders the database does not have")
    if bid.id in batch.cancelled.get(Bid, {}) or ask.id in batch.cancelled.get(Ask, {}):
        _write_cancelled(session, batch, now)  # in the order the engine wrote them
    bid_remaining = trade.taker_remaining if trade.taker_side == "bid" else trade.maker_remaining
    ask_remaining = trade.maker_remaining if trade.taker_side == "bid" else trade.taker_remaining
    _set_remaining(bid, bid_remaining, now)
    _set_remaining(ask, ask_remaining, now)
    session.add(bid)
    session.add(ask)
    executed_at = _at(trade.at)
    row = Trade(
        id=trade.trade_id,
        variant_id=int(trade.variant_id),
        bid_id=bid.id or 0,
        ask_id=ask.id or 0,
        buyer_id=bid.user_id,
        seller_id=ask.user_id,
        price_cents=trade.price_cents,
        quantity=trade.quantity,
        maker_side="ask" if trade.taker_side == "bid" else "bid",
        executed_at=executed_at,
    )
    session.add(row)
    batch.known[row.id] = row
    variant = kept(session, ProductVariant, row.variant_id)
    assert variant is not None
    standing = batch.standings.get(row.seller_id)
    if standing is None:
        standing = orders.seller_standing(session=session, seller_id=row.seller_id, now=now)
        batch.standings[row.seller_id] = standing
    for unit in range(1, trade.quantity + 1):
        batch.sales.append(
            Sale(
                product_id=variant.product_id,
                variant_id=row.variant_id,
                trade_id=row.id,
                price_cents=row.price_cents,
                executed_at=executed_at,
            )
        )
        batch.new_orders.append(
            orders.order_for_trade(
                session=session, trade=row, unit=unit, now=now, standing=standing
            )
        )
    out.trades.append(trade.trade_id)


def _write_new_orders(session: Session, batch: _Batch, out: Applied) -> None:
    """The batch's new trades' sales and orders, each kind in one statement after the trades,
    and one charge each (the outbox, one statement)."""
    if not batch.new_orders:
        return
    session.flush()  # the trades: a flush orders its inserts by table, not by foreign key
    session.add_all(batch.sales)  # written with the orders
    orders.record_new(session, batch.new_orders)
    ids = [order.id for order in batch.new_orders if order.id is not None]
    out.new_order_ids.extend(ids)
    outbox.add_many(session, CHARGE_TASK, [((i,), charge_key(i)) for i in ids])
    batch.sales.clear()
    batch.new_orders.clear()


def _notify_outbid(session: Session, rested: ev.Rested, out: Applied) -> None:
    """Tell the bidder who was highest for this size that a higher bid arrived. Highest
    before it in the engine's order: a bid the engine took later (already marked by its
    placing call, not yet recorded here, such as a Buy Now about to fill) does not count."""
    new_bid = _row(session, rested.order_id)
    if not isinstance(new_bid, Bid):
        return
    previous = session.exec(
        select(Bid)
        .where(
            Bid.variant_id == new_bid.variant_id,
            col(Bid.status).in_(LISTING_OPEN),
            Bid.id != new_bid.id,
            col(Bid.engine_accepted).is_(True),
            col(Bid.engine_sequence) < rested.sequence,
        )
        .order_by(col(Bid.price_cents).desc(), col(Bid.engine_sequence), col(Bid.id))
        .limit(1)
    ).first()
    if previous is None or previous.price_cents >= new_bid.price_cents:
        return
    if previous.user_id == new_bid.user_id:
        return
    result = notifications.notify(
        session=session,
        user_id=previous.user_id,
        kind=Kind.OUTBID,
        context={
            "variant_id": new_bid.variant_id,
            "your_price_cents": previous.price_cents,
            "new_price_cents": new_bid.price_cents,
        },
        dedupe_key=f"outbid:{previous.id}:{new_bid.id}",
        caused_by=new_bid.user_id,
    )
    if result is not None and result.email_notification_id is not None:
        out.emails.append(result.email_notification_id)


def _notify_placed(session: Session, row: Bid | Ask, side: str, out: Applied) -> None:
    """ "Your bid/ask is live" (not for the demo market makers' seeded orders)."""
    if row.client_key.startswith(SEEDED) or row.id is None:
        return
    result = notifications.notify(
        session=session,
        user_id=row.user_id,
        kind=Kind.BID_PLACED if side == "bid" else Kind.ASK_PLACED,
        context={
            f"{side}_id": row.id,
            "variant_id": row.variant_id,
            "price_cents": row.price_cents,
        },
        dedupe_key=f"{side}_placed:{row.id}",
    )
    if result is not None and result.email_notification_id is not None:
        out.emails.append(result.email_notification_id)


def _notify_price_drops(
    session: Session, variant_id: int, out: Applied, caused_by: int | None = None
) -> None:
    """Watchers whose target price the size's lowest ask now meets."""
    lowest = session.exec(
        select(Ask.price_cents)
        .where(Ask.variant_id == variant_id, col(Ask.status).in_(LISTING_OPEN))
        .order_by(col(Ask.price_cents))
        .limit(1)
    ).first()
    if lowest is None:
        return
    results = notifications.notify_price_drops(
        session=session, variant_id=variant_id, lowest_ask_cents=lowest, caused_by=caused_by
    )
    out.emails.extend(notifications.email_ids(results))


def _write_cancelled(session: Session, batch: _Batch, now: datetime) -> None:
    """The engine took these rows out of its book: cancelled, unless their owner paused them
    (their card or address was deleted). One compare-and-set per table on the rows in the
    database, not on the copies read before: a pause committed while this batch was applied is
    kept."""
    for table, rows in batch.cancelled.items():
        session.execute(
            update(table)
            .where(
                col(table.id).in_(list(rows)),
                col(table.status) != ListingStatus.PAUSED,
            )
            .values(status=ListingStatus.CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        for row in rows.values():
            session.expire(row, ["status", "updated_at"])
    batch.cancelled.clear()


def _prefetch_placed_notices(
    session: Session, entries: Sequence[JournalEntry], bids: Sequence[Bid], asks: Sequence[Ask]
) -> None:
    """The owners of the orders that rest, and whether they want to hear of it: one query each
    for the whole read (a notice read them one at a time)."""
    rested = {
        parsed
        for entry in entries
        for event in entry.events
        if isinstance(event, ev.Rested) and (parsed := parse_engine_order_id(event.order_id))
    }
    placed = [
        (row.user_id, Kind.BID_PLACED if side == "bid" else Kind.ASK_PLACED)
        for side, rows in (("bid", bids), ("ask", asks))
        for row in rows
        if (side, row.id) in rested and not row.client_key.startswith(SEEDED)
    ]
    if placed:
        kept_many(session, models.User, [user_id for user_id, _ in placed])
        notifications.preload_channels(session, placed)


def _prefetch(session: Session, entries: Sequence[JournalEntry], now: datetime) -> _Batch:
    """Read what the entries touch with one query per table: the trades already recorded, the
    bids and asks they name (into the session, where `session.get` finds them), the addresses
    and cards an order snapshots, and the standing of each seller who sold."""
    trade_ids = [t.trade_id for e in entries for t in e.trades]
    ids: dict[str, set[int]] = {"bid": set(), "ask": set()}
    for entry in entries:
        for event in entry.events:
            names = (
                (event.bid_order_id, event.ask_order_id)
                if isinstance(event, ev.Trade)
                else (getattr(event, "order_id", ""),)
            )
            for name in names:
                parsed = parse_engine_order_id(name)
                if parsed is not None:
                    ids[parsed[0]].add(parsed[1])
    batch = _Batch()
    if trade_ids:
        found = session.exec(select(Trade).where(col(Trade.id).in_(trade_ids))).all()
        batch.known = {t.id: t for t in found}
    bids = session.exec(select(Bid).where(col(Bid.id).in_(ids["bid"]))).all() if ids["bid"] else []
    asks = session.exec(select(Ask).where(col(Ask.id).in_(ids["ask"]))).all() if ids["ask"] else []
    batch.rows.extend((*bids, *asks))
    _prefetch_placed_notices(session, entries, bids, asks)
    if not trade_ids or len(batch.known) == len(set(trade_ids)):
        return batch
    address_ids = {r.address_id for r in (*bids, *asks) if r.address_id}
    card_ids = {b.payment_card_id for b in bids if b.payment_card_id}
    if address_ids:
        found_addresses = session.exec(
            select(models.Address).where(col(models.Address.id).in_(address_ids))
        )
        batch.rows.extend(found_addresses.all())
    if card_ids:
        found_cards = session.exec(
            select(models.PaymentCard).where(col(models.PaymentCard.id).in_(card_ids))
        )
        batch.rows.extend(found_cards.all())
    sellers = {a.user_id for a in asks}
    batch.standings = orders.seller_standings(session=session, seller_ids=sellers, now=now)
    return batch


def _apply_event(
    session: Session, event: ev.Event, now: datetime, out: Applied, batch: _Batch
) -> None:
    if isinstance(event, ev.Trade):
        _apply_trade(session, event, now, out, batch)
        return
    row = _row(session, getattr(event, "order_id", ""))
    if row is None:
        return
    if not isinstance(event, ev.Cancelled) and row.id in batch.cancelled.get(type(row), {}):
        _write_cancelled(session, batch, now)  # in the order the engine wrote them
    if isinstance(event, ev.Accepted | ev.Rested):
        if not (row.engine_accepted and row.engine_sequence == event.sequence):
            row.engine_accepted = True  # else the placing call marked it so: nothing changes
            row.engine_sequence = event.sequence
            row.updated_at = now
            session.add(row)
        if isinstance(event, ev.Rested):
            _notify_placed(session, row, event.side, out)
            _write_cancelled(session, batch, now)  # the next step reads which are open
            if event.side == "bid":
                _notify_outbid(session, event, out)
            else:
                _notify_price_drops(session, row.variant_id, out, caused_by=row.user_id)
        return
    if isinstance(event, ev.Cancelled):
        batch.cancelled.setdefault(type(row), {})[row.id or 0] = row
        return
    if isinstance(event, ev.Expired):
        row.status = "expired"
    elif isinstance(event, ev.Modified):
        row.price_cents = event.new_price_cents
        row.engine_sequence = event.sequence
    row.updated_at = now
    session.add(row)


def apply_entries(
    session: Session, entries: Sequence[JournalEntry], now: datetime | None = None
) -> Applied:
    """Apply journal entries in order, in the caller's transaction: the caller commits, then
    acknowledges them. Each book's recorded sequence is raised once, to its last entry's."""
    now = now or utcnow()
    out = Applied()
    batch = _prefetch(session, entries, now)
    sequences: dict[int, int] = {}
    for entry in entries:
        for event in entry.events:
            _apply_event(session, event, now, out, batch)
        if entry.variant_id.isdigit():
            book = int(entry.variant_id)
            sequences[book] = max(sequences.get(book, 0), entry.sequence)
    _write_new_orders(session, batch, out)
    _write_cancelled(session, batch, now)
    for book, sequence in sorted(sequences.items()):
        book_sequences.raise_to(session, book, sequence)
    trade_ids = [t.trade_id for e in entries for t in e.trades]
    if trade_ids:  # recorded now: the copies kept for a lost journal are done with
        session.execute(delete(EngineFill).where(col(EngineFill.trade_id).in_(trade_ids)))
    session.flush()
    return out


def apply_entry(session: Session, entry: JournalEntry, now: datetime | None = None) -> Applied:
    """Apply one journal entry. The caller commits, then acknowledges the entry."""
    return apply_entries(session, [entry], now)


def handler(
    session_factory: Callable[[], Session], after_commit: Callable[[Applied], None]
) -> Callable[[JournalEntry], None]:
    """A JournalConsumer handler: one transaction per entry; its commit publishes the charges
    and emails written with it (outbox rows), then `after_commit` is told what was applied."""

    def handle(entry: JournalEntry) -> None:
        with session_factory() as session:
            applied = apply_entry(session, entry)
            session.commit()
        after_commit(applied)

    return handle


def batch_handler(
    session_factory: Callable[[], Session], after_commit: Callable[[Applied], None]
) -> Callable[[Sequence[JournalEntry]], None]:
    """Like `handler`, for the entries of one read: one transaction for all of them."""

    def handle(entries: Sequence[JournalEntry]) -> None:
        with session_factory() as session:
            applied = apply_entries(session, entries)
            session.commit()
        after_commit(applied)

    return handle


# --- parked entries (the consumer's dead letters), for staff -------------------------------


@dataclass(frozen=True, kw_only=True)
class ParkedView:
    parked_id: str
    book: str
    entry_id: str
    command: str
    sequence: int
    summary: str
    """What the entry holds, e.g. '1 trade, 2 other events'."""
    error: str
    attempts: int
    parked_at: datetime


def _redis() -> Any:
    from sneakers_app.redis_client import get_redis

    return get_redis()


def _summary(parked: ParkedEntry) -> str:
    if parked.entry.malformed:
        return "unreadable entry"
    trades = len(parked.entry.trades)
    others = len(parked.entry.events) - trades
    parts = [f"{trades} trade{'s' if trades != 1 else ''}"] if trades else []
    if others:
        parts.append(f"{others} other event{'s' if others != 1 else ''}")
    return ", ".join(parts) or "no events"


def parked_entries(
    *, session: Session, staff_id: int, client: Any = None, limit: int = 50
) -> list[ParkedView]:
    """Journal entries the consumer gave up on, newest first (staff only)."""
    orders.require_staff(session, staff_id)
    client = client or _redis()
    return [
        ParkedView(
            parked_id=p.parked_id,
            book=p.entry.variant_id,
            entry_id=p.entry.entry_id,
            command=p.entry.command,
            sequence=p.entry.sequence,
            summary=_summary(p),
            error=p.error,
            attempts=p.attempts,
            parked_at=_at(p.parked_at),
        )
        for p in DeadLetters(client).list(count=limit)
    ]


def reapply_parked(
    *, session: Session, staff_id: int, parked_id: str, client: Any = None
) -> Applied:
    """Apply a parked entry again (after its cause was fixed) and drop it from the dead letters.
    Raises what applying raises (nothing is committed then, and it stays parked); the commit
    publishes the entry's follow-ups (outbox rows)."""
    orders.require_staff(session, staff_id)
    dead = DeadLetters(client or _redis())
    parked = dead.get(parked_id)
    if parked is None:
        raise LookupError("That entry is no longer parked.")
    if parked.entry.malformed:
        raise ValueError(parked.entry.malformed)
    applied = apply_entry(session, parked.entry)
    session.commit()
    dead.remove(parked_id)
    return applied


def dismiss_parked(*, session: Session, staff_id: int, parked_id: str, client: Any = None) -> bool:
    """Drop a parked entry without applying it (staff decided it holds nothing to record)."""
    orders.require_staff(session, staff_id)
    return DeadLetters(client or _redis()).remove(parked_id)
