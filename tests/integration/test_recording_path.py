"""What the journal consumer writes for a read of entries, and how few statements it takes: a
drop's fills, its Buy Nows that found nothing and its resting bids, applied in one transaction
the way the consumer applies them (`journal.batch_handler`), against the real engine, SQLite
and PostgreSQL; and the charge that follows each order."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from sneakers_app.models import Bid, Notification, Order, OrderEvent, OutboxMessage, Sale, Trade
from sneakers_app.services import journal, saga
from tests.integration.test_saga import PRICE, Market, mk, smtp, variant
from tests.support import factories
from trading.journal import JournalConsumer

__all__ = ["mk", "smtp", "variant"]

FILLS = 6


@pytest.fixture
def sent(mk: Market) -> Iterator[list[str]]:
    """The statements sent to the database, first words and table (e.g. 'INSERT INTO sales')."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        seen.append(" ".join(words[:3] if words[0].upper() == "INSERT" else words[:2]))

    event.listen(mk.db, "before_cursor_execute", count)
    yield seen
    event.remove(mk.db, "before_cursor_execute", count)


def _drop(mk: Market, variant_id: int) -> dict[str, list[int]]:
    """Asks from three sellers; then three Buy Nows below every ask (the engine cancels what an
    immediate order cannot fill), three bids that rest and six Buy Nows that fill, last (so
    nothing between the last fill and the batch's end reads the database)."""
    sellers = [mk.seller() for _ in range(3)]
    with mk.session() as s:
        for seller in sellers:
            factories.address(s, seller)
        s.commit()
    for i in range(FILLS):
        mk.place(sellers[i % 3], "ask", variant_id, PRICE + i)
    mk.drain(variant_id)
    buyers = [mk.buyer() for _ in range(FILLS)]
    misses = [
        mk.place(b, "bid", variant_id, PRICE - 100 + i, immediate=True).row_id
        for i, b in enumerate(buyers[3:])
    ]
    rests = [
        mk.place(b, "bid", variant_id, PRICE - 50 + i).row_id for i, b in enumerate(buyers[:3])
    ]
    fills = [mk.place(b, "bid", variant_id, PRICE + 100, immediate=True).row_id for b in buyers]
    return {"rests": rests, "misses": misses, "fills": fills}


def test_a_read_of_fills_misses_and_rests_is_recorded_with_one_insert_per_table(
    mk: Market, variant: int, sent: list[str]
) -> None:
    placed = _drop(mk, variant)
    consumer = JournalConsumer(mk.redis, group="db", consumer="test")
    entries = consumer.read([str(variant)], count=100)
    assert len(entries) == 12
    with mk.session() as s:  # as `journal.batch_handler` does: one transaction, no fallback
        sent.clear()
        applied = journal.apply_entries(s, entries)
        kinds, total = collections.Counter(sent), len(sent)  # before the commit's follow-ups
        s.commit()
    consumer.ack(entries)

    with mk.session() as s:
        trades = s.exec(select(Trade).where(Trade.variant_id == variant)).all()
        assert sorted(t.bid_id for t in trades) == sorted(placed["fills"])
        sales = s.exec(select(Sale).where(Sale.variant_id == variant)).all()
        assert sorted(str(x.trade_id) for x in sales) == sorted(t.id for t in trades)
        made = s.exec(select(Order).where(Order.variant_id == variant)).all()
        assert sorted(o.trade_id for o in made) == sorted(t.id for t in trades)
        assert all(o.status == "created" and o.buyer_address for o in made)
        assert sorted(applied.new_order_ids) == sorted(o.id or 0 for o in made)
        events = s.exec(select(OrderEvent).where(col(OrderEvent.order_id).in_(o.id for o in made)))
        created = sorted(e.order_id for e in events.all() if e.to_status == "created")
        assert created == sorted(o.id or 0 for o in made)
        charges = s.exec(select(OutboxMessage).where(OutboxMessage.task == journal.CHARGE_TASK))
        assert sorted(m.dedupe_key for m in charges.all()) == sorted(
            journal.charge_key(o.id or 0) for o in made
        )
        for bid_id in placed["misses"]:
            missed = s.get(Bid, bid_id)
            assert missed is not None and missed.status == "cancelled"
        for bid_id in placed["rests"]:
            rested = s.get(Bid, bid_id)
            assert rested is not None and rested.status == "open" and rested.engine_accepted
            live = s.exec(
                select(Notification).where(Notification.dedupe_key == f"bid_placed:{bid_id}")
            )
            assert live.first() is not None
        # each resting bid outbid the one before it: not a miss (cancelled earlier in the
        # read), nor a Buy Now the engine took after it
        outbid = s.exec(select(Notification).where(Notification.kind == "outbid")).all()
        rests = placed["rests"]
        assert sorted(n.dedupe_key for n in outbid) == [
            f"outbid:{rests[i]}:{rests[i + 1]}" for i in range(len(rests) - 1)
        ]

    # Each table's new rows in one statement (PostgreSQL sends a multi-row INSERT; SQLite,
    # in-process, may send a row at a time), the three misses cancelled in one UPDATE, and
    # nothing read twice (38 and 53 here; 42 and 57 before the resting bids' owners and their
    # wishes were read for the whole read at once; 93 on PostgreSQL and SQLite before the read
    # was written set-based: a flush per trade, an UPDATE per cancelled row, a notification
    # read before and after its INSERT, the size and product read again for each trade).
    assert kinds["UPDATE bids"] <= FILLS + 1, kinds  # the fills' rows and one for the misses
    # one read of the users the notices go to, one of what the resting bids' owners want, one
    # for each bidder who was outbid
    assert kinds["SELECT users.id,"] == 1, kinds
    assert kinds["SELECT notification_preferences.user_id,"] == 1 + len(rests) - 1, kinds
    if mk.db.dialect.name == "postgresql":
        for table in ("sales", "orders", "order_events"):
            assert kinds[f"INSERT INTO {table}"] == 1, kinds
        assert total <= 44, kinds
    else:
        assert total <= 56, kinds


def test_a_bid_the_engine_cancelled_earlier_in_the_read_is_not_told_it_was_outbid(
    mk: Market, variant: int
) -> None:
    """A cancellation is written before the next resting bid asks who was highest."""
    seller, first, missed, higher = mk.seller(), mk.buyer(), mk.buyer(), mk.buyer()
    mk.place(seller, "ask", variant, PRICE)
    resting = mk.place(first, "bid", variant, PRICE - 200).row_id
    mk.drain(variant)
    miss = mk.place(missed, "bid", variant, PRICE - 100, immediate=True)  # the engine cancels it
    assert miss.status != "filled"
    new = mk.place(higher, "bid", variant, PRICE - 90).row_id
    consumer = JournalConsumer(mk.redis, group="db", consumer="test")
    entries = consumer.read([str(variant)], count=100)
    with mk.session() as s:
        journal.apply_entries(s, entries)  # one read: the miss's cancel, then the new bid
        s.commit()
    consumer.ack(entries)
    with mk.session() as s:
        cancelled = s.get(Bid, miss.row_id)
        assert cancelled is not None and cancelled.status == "cancelled"
        told = s.exec(select(Notification).where(Notification.kind == "outbid")).all()
        assert [n.dedupe_key for n in told] == [f"outbid:{resting}:{new}"]
        assert told[0].user_id == first


def test_a_higher_bid_is_told_to_the_bidder_it_outbid_though_a_later_buy_now_is_unrecorded(
    mk: Market, variant: int
) -> None:
    """The highest bid before a new one is the highest in the engine's order: a Buy Now placed
    after it (marked by its placing call, its fill not yet recorded) does not hide the notice."""
    seller, first, higher, hurried = mk.seller(), mk.buyer(), mk.buyer(), mk.buyer()
    mk.place(seller, "ask", variant, PRICE)
    resting = mk.place(first, "bid", variant, PRICE - 200).row_id
    mk.drain(variant)
    new = mk.place(higher, "bid", variant, PRICE - 90).row_id
    assert mk.place(hurried, "bid", variant, PRICE + 100, immediate=True).status == "filled"
    mk.drain(variant)  # one read: the new bid rests, then the Buy Now fills
    with mk.session() as s:
        told = s.exec(select(Notification).where(Notification.kind == "outbid")).all()
        assert [(n.dedupe_key, n.user_id) for n in told] == [(f"outbid:{resting}:{new}", first)]


def test_a_charge_reads_each_row_once(mk: Market, variant: int, sent: list[str]) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.matched_order(seller, buyer, variant)
    with mk.session() as s:  # as the worker's task does
        sent.clear()
        result = saga.charge(session=s, order_id=order_id, client=mk.stripe)
        kinds, total = collections.Counter(sent), len(sent)  # before the commit's follow-ups
        s.commit()
    assert result.status == "awaiting_shipment" and len(result.emails) == 2
    # the trade, size and product the notices name in one read, both parties in one, and
    # what each party gets for their notice's kind in one
    assert kinds["SELECT trades.id,"] == 1, kinds
    assert kinds["SELECT product_variants.id,"] + kinds["SELECT products.id,"] == 0, kinds
    assert kinds["SELECT users.id,"] == 1, kinds
    assert kinds["SELECT notification_preferences.user_id,"] == 1, kinds
    # the payment and the ledger's posting written without looking their keys up first; the
    # order moved to paid and on to awaiting shipment, with its ship-by date, in one UPDATE
    assert kinds["SELECT payments.id,"] == 0 and kinds["SELECT ledger_transactions.id,"] == 0
    assert kinds["UPDATE orders"] == 1, kinds
    with mk.session() as s:
        events = s.exec(select(OrderEvent).where(OrderEvent.order_id == order_id)).all()
        order = s.get(Order, order_id)
        assert order is not None and order.ship_by is not None
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "created"),
        ("created", "paid"),
        ("paid", "awaiting_shipment"),
    ]
    # 30 in the first round, 24 before this one (23 on PostgreSQL); SQLite inserts each row of
    # the ledger's entries and the order's events on its own
    assert total <= (14 if mk.db.dialect.name == "postgresql" else 16), kinds
