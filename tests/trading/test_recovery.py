"""Rebuilding a book from the database's open orders, and reconciling the two."""

from __future__ import annotations

from typing import Any

import pytest

from tests.trading.conftest import FakeClock
from tests.trading.helpers import T0, ask, bid
from trading import market_data
from trading.engine import RedisEngine
from trading.keys import book_keys
from trading.orders import PlaceResult, RejectCode, Rejected, RestingOrder, Side
from trading.recovery import Difference, OpenOrder, rebuild_book, reconcile


@pytest.fixture(params=["redis", pytest.param("cluster", marks=pytest.mark.cluster)])
def client(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("redis_client" if request.param == "redis" else "cluster_client")


def open_orders(engine: RedisEngine, variant: str = "v1") -> list[OpenOrder]:
    """What the database would hold: the resting orders as the journal consumer recorded them."""
    snap = engine.snapshot(variant)
    return [_open(o) for o in snap.bids + snap.asks]


def _open(o: RestingOrder) -> OpenOrder:
    return OpenOrder(
        order_id=o.order_id,
        user_id=o.user_id,
        side=o.side,
        price_cents=o.price_cents,
        remaining=o.quantity,
        sequence=o.sequence,
        expires_at=o.expires_at,
    )


def test_rebuild_after_losing_redis_restores_the_book(client: Any, clock: FakeClock) -> None:
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    engine.place(ask("a1", "s1", 20_000, 3))
    engine.place(ask("a2", "s2", 20_000, 2))
    engine.place(ask("a3", "s3", 21_000, 1))
    engine.place(bid("b1", "u1", 20_000, 1))
    engine.place(bid("b2", "u2", 18_000, 4))
    before = engine.snapshot("v1")
    saved = open_orders(engine)
    assert reconcile(client, "v1", saved) == []

    client.flushall()  # Redis is lost
    seq = rebuild_book(client, "v1", reversed(saved), last_sequence=before.sequence, clock=clock)
    assert seq == before.sequence
    after = engine.snapshot("v1")
    assert after.bids == before.bids and after.asks == before.asks
    assert reconcile(client, "v1", saved) == []
    top = market_data.top_of_book(client, "v1")
    assert (top.bid_cents, top.ask_cents, top.ask_quantity) == (18_000, 20_000, 4)

    # matching continues with time priority intact and trade ids that never repeat
    result = engine.place(bid("b3", "u3", 20_000, 3))
    assert isinstance(result, PlaceResult)
    assert [(t.trade_id, t.maker_order_id, t.quantity) for t in result.fills] == [
        (f"v1-{seq + 2}", "a1", 2),
        (f"v1-{seq + 3}", "a2", 1),
    ]
    # a retried place of a rebuilt order is still a replay, not a second order
    again = engine.place(ask("a3", "s3", 21_000, 1))
    assert isinstance(again, PlaceResult) and again.replayed


def test_rebuild_replaces_what_redis_had(client: Any, clock: FakeClock) -> None:
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    engine.place(ask("a1", "s1", 20_000, 3))
    engine.place(ask("stale", "s2", 20_500, 1))
    first = engine.place(ask("gone", "s3", 20_700, 1))
    db = [o for o in open_orders(engine) if o.order_id not in ("stale", "gone")]
    rebuild_book(client, "v1", db, clock=clock)
    assert [o.order_id for o in engine.snapshot("v1").asks] == ["a1"]
    assert reconcile(client, "v1", db) == []
    # an order the rebuild dropped is still known: its retry is a replay, not a new order
    again = engine.place(ask("gone", "s3", 20_700, 1))
    assert isinstance(again, PlaceResult) and again.replayed
    assert again.events == first.events  # type: ignore[union-attr]
    (batched,) = engine.place_many([ask("stale", "s2", 20_500, 1)])  # a batch knows them too
    assert isinstance(batched, PlaceResult) and batched.replayed
    assert [o.order_id for o in engine.snapshot("v1").asks] == ["a1"]


def test_book_is_halted_while_rebuilding(client: Any, clock: FakeClock) -> None:
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    keys = book_keys("v1")
    engine.scripts.call("rebuild_begin", keys.script_keys, ["v1", keys.channel, T0, 0, 0, 0])
    halted = engine.place(ask("a1", "s1", 20_000))
    assert isinstance(halted, Rejected) and halted.code is RejectCode.BOOK_HALTED
    assert reconcile(client, "v1", []) == [
        Difference(kind="book", field="state", redis_value="rebuilding")
    ]
    rebuild_book(client, "v1", [], clock=clock)
    assert isinstance(engine.place(ask("a1", "s1", 20_000)), PlaceResult)


def test_a_book_reopened_after_an_unfinished_rebuild_reads_its_sides_again(
    client: Any, clock: FakeClock
) -> None:
    """A rebuild that deleted the sides and never finished leaves no top of book behind: a
    command after the book is reopened reads the sides rather than trusting a stale best."""
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    assert isinstance(engine.place(ask("a1", "s1", 20_000)), PlaceResult)
    keys = book_keys("v1")
    engine.scripts.call("rebuild_begin", keys.script_keys, ["v1", keys.channel, T0, 0, 0, 0])
    assert market_data.top_of_book(client, "v1").ask_cents is None
    engine.open_book("v1", reopen=True)
    assert isinstance(engine.place(ask("a2", "s1", 25_000)), PlaceResult)
    top = market_data.top_of_book(client, "v1")
    assert (top.ask_cents, top.ask_quantity) == (25_000, 1)
    assert reconcile(client, "v1", open_orders(engine)) == []


def test_reconcile_reports_every_difference(client: Any, clock: FakeClock) -> None:
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    engine.place(ask("a1", "s1", 20_000, 3))
    engine.place(ask("a2", "s2", 21_000, 2))
    engine.place(bid("b1", "u1", 19_000, 1))
    db = {o.order_id: o for o in open_orders(engine)}
    a1, a2 = db["a1"], db["a2"]
    changed = [
        OpenOrder(**{**a1.__dict__, "remaining": 2, "price_cents": 20_100}),
        OpenOrder(
            order_id="ghost",
            user_id="u9",
            side=Side.BID,
            price_cents=15_000,
            remaining=1,
            sequence=99,
            expires_at=T0 + 1,
        ),
        a2,
    ]  # b1 missing from the database
    diffs = reconcile(client, "v1", changed)
    assert sorted((d.kind, d.order_id, d.field) for d in diffs) == [
        ("mismatch", "a1", "price_cents"),
        ("mismatch", "a1", "remaining"),
        ("missing_in_database", "b1", None),
        ("missing_in_redis", "ghost", None),
    ]
    # corrupt Redis's own level totals: reconcile notices that too
    client.hincrby(book_keys("v1").depth_asks, "21000", 5)
    client.hset(book_keys("v1").top, "bid", 1)
    diffs = reconcile(client, "v1", list(db.values()))
    assert sorted((d.kind, d.field) for d in diffs) == [("depth", "ask@21000"), ("top", "bid")]


def test_rebuild_refuses_bad_orders_before_touching_redis(client: Any, clock: FakeClock) -> None:
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    engine.place(ask("a1", "s1", 20_000))
    bad = OpenOrder(
        order_id="x",
        user_id="u",
        side=Side.BID,
        price_cents=100,
        remaining=0,
        sequence=1,
        expires_at=T0 + 1,
    )
    with pytest.raises(ValueError, match="not an open order"):
        rebuild_book(client, "v1", [bad], clock=clock)
    assert [o.order_id for o in engine.snapshot("v1").asks] == ["a1"]


def test_only_a_rebuild_that_forgot_orders_marks_the_book_forgotten(
    client: Any, clock: FakeClock
) -> None:
    """A book Redis lost whole has no records to forget: its places keep skipping the
    idempotency-record read for new ids; one whose resting orders were dropped must not."""
    engine = RedisEngine(client, clock=clock)
    engine.open_book("v1")
    engine.place(ask("a1", "s1", 20_000))
    saved = open_orders(engine)
    client.flushall()
    rebuild_book(client, "v1", saved, last_sequence=5, clock=clock)
    assert client.hget(book_keys("v1").meta, "forgotten") is None
    rebuild_book(client, "v1", saved, last_sequence=5, clock=clock)  # drops a1's record
    assert client.hget(book_keys("v1").meta, "forgotten") is not None
    again = engine.place(ask("a1", "s1", 20_000))  # still a replay of the first place
    assert isinstance(again, PlaceResult) and again.replayed
