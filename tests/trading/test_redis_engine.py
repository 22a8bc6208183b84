"""What only the Redis engine has: the journal, pub/sub book updates, market data reads,
the function library's loading, pipelining, and refusals from inside the functions. On a
server and a cluster."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import pytest
import redis

from tests.trading.conftest import FakeClock
from tests.trading.helpers import T0, ask, bid, cancel
from trading import market_data
from trading.engine import RedisEngine, text
from trading.events import Accepted, Cancelled, Rested, Trade
from trading.journal import JournalConsumer, JournalEntry, read_journal
from trading.keys import book_keys
from trading.orders import EngineConfig, ExpireOrders, PlaceResult, RejectCode, Rejected
from trading.scripts import LIBRARY, ScriptRunner


@pytest.fixture(params=["redis", pytest.param("cluster", marks=pytest.mark.cluster)])
def client(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("redis_client" if request.param == "redis" else "cluster_client")


@pytest.fixture
def engine(client: Any, clock: FakeClock) -> RedisEngine:
    e = RedisEngine(client, clock=clock)
    e.open_book("v1")
    return e


def test_every_outcome_goes_to_the_journal_in_order(engine: RedisEngine, client: Any) -> None:
    engine.place(ask("a1", "s1", 20_000, 2))
    result = engine.place(bid("b1", "u1", 20_000, 3))
    engine.place(bid("b1", "u1", 20_000, 3))  # a replay writes nothing
    engine.cancel(cancel("b1", "u1"))
    engine.cancel(cancel("b1", "u1"))  # refused: writes nothing
    entries = read_journal(client, "v1")
    assert [e.command for e in entries] == ["place", "place", "cancel"]
    assert [e.sequence for e in entries] == [1, 3, 3]
    assert entries[1].events == result.events  # type: ignore[union-attr]
    (trade,) = entries[1].trades
    assert (trade.trade_id, trade.price_cents, trade.quantity, trade.at) == ("v1-3", 20_000, 2, T0)
    assert [type(e) for e in entries[0].events] == [Accepted, Rested]


def test_book_updates_are_published(engine: RedisEngine, client: Any) -> None:
    pubsub = client.pubsub()
    pubsub.subscribe(market_data.channel("v1"))
    deadline = time.monotonic() + 5
    while pubsub.get_message(timeout=0.1) is None and time.monotonic() < deadline:
        pass  # the subscribe confirmation
    engine.place(ask("a1", "s1", 20_000, 2))
    engine.place(ask("a2", "s2", 21_000, 1))
    engine.place(bid("b1", "u1", 20_000, 1))
    engine.place(bid("b2", "u2", 5_000, 1, ioc=True))  # changes no level: nothing published
    messages: list[market_data.BookUpdate] = []
    deadline = time.monotonic() + 1.0  # long enough for a fourth message, were there one
    while len(messages) < 4 and time.monotonic() < deadline:
        m = pubsub.get_message(timeout=0.2)
        if m and m["type"] == "message":
            messages.append(market_data.parse_update(m["data"]))
    pubsub.close()
    assert len(messages) == 3
    first, _, last = messages
    assert first.ask == market_data.Quote(price_cents=20_000, quantity=2) and first.bid is None
    assert [(s, lv.price_cents, lv.quantity, lv.orders) for s, lv in first.levels] == [
        ("ask", 20_000, 2, 1)
    ]
    assert [(s, lv.price_cents, lv.quantity, lv.orders) for s, lv in last.levels] == [
        ("ask", 20_000, 1, 1)
    ]
    assert last.last_trade is not None and last.last_trade.trade_id == "v1-4"
    assert last.ask == market_data.Quote(price_cents=20_000, quantity=1) and last.sequence == 4


def test_market_data(engine: RedisEngine, client: Any) -> None:
    engine.open_book("v2")
    engine.place(ask("a1", "s1", 20_000, 2))
    engine.place(ask("a2", "s2", 20_000, 3))
    engine.place(ask("a3", "s3", 22_000, 1))
    engine.place(bid("b1", "u1", 18_000, 4))
    engine.place(bid("b2", "u2", 20_000, 1, ioc=True))
    engine.place(bid("c1", "u1", 30_000, 1, book="v2"))
    top = market_data.top_of_book(client, "v1")
    assert (top.bid_cents, top.bid_quantity, top.ask_cents, top.ask_quantity) == (
        18_000,
        4,
        20_000,
        4,
    )
    assert top.spread_cents == 2_000
    assert top.last_trade == market_data.LastTrade(
        trade_id="v1-6", price_cents=20_000, quantity=1, at=T0
    )
    d = market_data.depth(client, "v1")
    assert [(lv.price_cents, lv.quantity, lv.orders) for lv in d.asks] == [
        (20_000, 4, 2),
        (22_000, 1, 1),
    ]
    assert [(lv.price_cents, lv.quantity, lv.orders) for lv in d.bids] == [(18_000, 4, 1)]
    assert len(market_data.depth(client, "v1", levels=1).asks) == 1
    assert [t.trade_id for t in market_data.recent_trades(client, "v1")] == ["v1-6"]
    many = market_data.tops(client, ["v1", "v2", "v3"])
    assert many["v1"] == top
    assert many["v2"].bid_cents == 30_000 and many["v2"].ask_cents is None
    assert many["v3"].bid_cents is None and many["v3"].sequence == 0
    assert many["v2"].sequence == 1


def test_functions_reload_after_function_flush(engine: RedisEngine, client: Any) -> None:
    client.function_flush()  # on a cluster: every primary
    result = engine.place(ask("a1", "s1", 20_000))
    assert isinstance(result, PlaceResult) and result.resting_quantity == 1
    client.function_flush()  # on a cluster: every primary
    many = engine.place_many([bid(f"b{i}", "u1", 20_000) for i in range(3)])
    assert [isinstance(r, PlaceResult) for r in many] == [True, True, True]
    assert [len(r.fills) for r in many if isinstance(r, PlaceResult)] == [1, 0, 0]
    client.function_flush()  # several calls, streamed: each is re-sent after the reload
    engine.place(ask("a2", "s1", 21_000, 2))
    client.function_flush()
    more = engine.place_many([bid(f"c{i}", "u1", 21_000) for i in range(3)], batch_size=1)
    assert [len(r.fills) for r in more if isinstance(r, PlaceResult)] == [1, 1, 0]
    assert [r.sequence for r in more if isinstance(r, PlaceResult)] == [7, 9, 11]


def test_a_dropped_connection_is_reopened(engine: RedisEngine, client: Any) -> None:
    """Single commands use a pooled connection directly: one the server closed is replaced."""
    assert isinstance(engine.place(ask("a1", "s1", 20_000)), PlaceResult)
    for node_client in _node_clients(client):  # from another connection: kill the pool's
        killer = redis.Redis(**node_client.connection_pool.connection_kwargs)
        assert cast(int, killer.client_kill_filter(_type="normal", skipme=True)) >= 1
        killer.close()
    result = engine.place(bid("b1", "u1", 20_000))
    assert isinstance(result, PlaceResult) and result.filled_quantity == 1
    assert isinstance(engine.place(bid("b2", "u1", 20_000)), PlaceResult)


def test_a_connection_error_mid_call_is_retried_through_the_client() -> None:
    class Conn:
        disconnected = False

        def send_command(self, *args: Any) -> None:
            pass

        def read_response(self) -> Any:
            raise redis.ConnectionError("lost")

        def disconnect(self) -> None:
            self.disconnected = True

    class Pool:
        conn = Conn()
        released = False

        def get_connection(self) -> Conn:
            return self.conn

        def release(self, conn: Conn) -> None:
            self.released = True

    class Client:
        connection = None
        connection_pool = Pool()

        def execute_command(self, *args: Any) -> Any:
            return [b"ok", args[1]]

    client = Client()
    reply = ScriptRunner(client).call("noop", ["k"], [])
    assert reply == [b"ok", LIBRARY.function("noop")]
    assert client.connection_pool.conn.disconnected and client.connection_pool.released


def _node_clients(client: Any) -> list[Any]:
    if hasattr(client, "get_primaries"):  # a cluster: a plain client per primary
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def test_place_many_keeps_per_book_order_and_reports_each(engine: RedisEngine) -> None:
    engine.open_book("v2")
    cmds = [ask("a1", "s1", 20_000), bid("b1", "u1", 20_000), bid("x", "u1", 1), ask("a1", "s1", 1)]
    cmds.append(ask("c1", "s1", 20_000, book="v2"))
    out = engine.place_many(cmds)
    assert isinstance(out[0], PlaceResult) and out[0].resting_quantity == 1
    assert isinstance(out[1], PlaceResult) and [t.trade_id for t in out[1].fills] == ["v1-3"]
    assert isinstance(out[2], Rejected) and out[2].code is RejectCode.INVALID_PRICE
    assert isinstance(out[3], PlaceResult) and out[3].replayed
    assert isinstance(out[4], PlaceResult) and out[4].sequence == 1


def test_scripts_refuse_bad_arguments_instead_of_raising(engine: RedisEngine, client: Any) -> None:
    """Even called directly with nonsense, the script answers with a refusal and writes nothing."""
    keys = book_keys("v1")
    base: list[Any] = ["v1", keys.channel, T0, 32, 100]  # and nonsense, floats too
    bad_calls: list[list[Any]] = [
        ["o1", "u1", "sideways", 100, 1, "gtc", T0 + 1, 100, 10_000_000, 100, 10**10],
        ["o1", "u1", "bid", "abc", 1, "gtc", T0 + 1, 100, 10_000_000, 100, 10**10],
        ["o1", "u1", "bid", 100.5, 1, "gtc", T0 + 1, 100, 10_000_000, 100, 10**10],
        ["o1", "u1", "bid", 100, 1.5, "gtc", T0 + 1, 100, 10_000_000, 100, 10**10],
        ["o1", "u1", "bid", 100, 1, "fok", T0 + 1, 100, 10_000_000, 100, 10**10],
        ["o1", "u1", "bid", 100, 1, "gtc", "never", 100, 10_000_000, 100, 10**10],
    ]
    for args in bad_calls:
        reply = engine.scripts.call("place", keys.script_keys, [*base, *args])
        assert reply[0] == b"rej", (args, reply)
    assert client.exists(keys.orders, keys.journal, keys.bids, keys.asks) == 0
    reply = engine.scripts.call(
        "cancel", book_keys("nope").script_keys, ["nope", "c", T0, 1, 1, "o", "u"]
    )
    assert reply[0] == b"rej" and reply[1] == b"unknown_book"


def test_the_library_is_loaded_on_every_primary(client: Any, clock: FakeClock) -> None:
    for node_client in _node_clients(client):
        node_client.function_flush()
    RedisEngine(client, clock=clock)
    for node_client in _node_clients(client):
        (library,) = node_client.function_list(library=LIBRARY.name)
        names = {text(f[1]) for f in library[5]}  # [name, library, engine, ..., functions]
        assert LIBRARY.function("place") in names and LIBRARY.function("snapshot") in names
        assert node_client.fcall(LIBRARY.function("noop"), 0) == 1


def _consumer(client: Any, name: str) -> JournalConsumer:
    return JournalConsumer(client, group="db", consumer=name)


def test_journal_consumer_at_least_once(engine: RedisEngine, client: Any, clock: FakeClock) -> None:
    engine.open_book("v2")
    engine.place(ask("a1", "s1", 20_000))
    engine.place(bid("b1", "u1", 20_000))
    engine.place(ask("c1", "s1", 20_000, book="v2"))
    worker = _consumer(client, "w1")
    got = worker.read(["v1", "v2"])
    assert sorted((e.variant_id, e.sequence) for e in got) == [("v1", 1), ("v1", 3), ("v2", 1)]
    # nothing new until more happens
    assert worker.read(["v1", "v2"]) == []
    # the worker "crashes" before acking: its entries stay pending and come back to it
    again = worker.read(["v1", "v2"], pending=True)
    assert sorted(e.entry_id for e in again) == sorted(e.entry_id for e in got)
    worker.ack([e for e in got if e.variant_id == "v2"])
    assert worker.pending_count("v1") == 2 and worker.pending_count("v2") == 0
    # another consumer claims what stayed unacked too long
    other = _consumer(client, "w2")
    assert other.claim_stale(["v1", "v2"], min_idle_ms=60_000) == []
    time.sleep(0.05)
    claimed = other.claim_stale(["v1", "v2"], min_idle_ms=10)
    assert sorted(e.sequence for e in claimed) == [1, 3]
    handled: list[JournalEntry] = []
    assert other.process(["v1", "v2"], handled.append) == 2
    assert worker.pending_count("v1") == 0
    # a new event is delivered once, to one consumer
    engine.place(ask("a2", "s2", 21_000))
    assert len(worker.read(["v1", "v2"])) == 1 and other.read(["v1", "v2"]) == []


def test_journal_consumer_handler_failure_leaves_entry_pending(
    engine: RedisEngine, client: Any
) -> None:
    engine.place(ask("a1", "s1", 20_000))
    worker = _consumer(client, "w1")

    def boom(entry: JournalEntry) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        worker.process(["v1"], boom)
    assert worker.pending_count("v1") == 1
    seen: list[int] = []
    assert worker.process(["v1"], lambda e: seen.append(e.sequence)) == 1
    assert seen == [1] and worker.pending_count("v1") == 0


def test_trim_keeps_unacknowledged_entries(engine: RedisEngine, client: Any) -> None:
    for i in range(5):
        engine.place(ask(f"a{i}", "s1", 20_000 + i))
    worker = _consumer(client, "w1")
    entries = worker.read(["v1"])
    worker.ack(entries[:3])
    assert worker.trim_acknowledged("v1") == 3
    assert [e.sequence for e in read_journal(client, "v1")] == [4, 5]
    worker.ack(entries[3:])
    assert worker.trim_acknowledged("v1") == 2


def test_events_are_json_arrays_in_the_documented_order(engine: RedisEngine, client: Any) -> None:
    engine.place(ask("a1", "s1", 20_000))
    engine.place(bid("b1", "u1", 20_000, 2, ioc=True))
    keys = book_keys("v1")
    raw = client.xrevrange(keys.journal, count=1)[0][1]
    events = json.loads(raw[b"ev"])
    assert events == [
        ["accepted", "b1", "u1", "bid", 20_000, 2, "ioc", 0, 2],
        ["trade", "v1-3", 20_000, 1, "a1", "s1", "b1", "u1", "bid", 0, 1, 3],
        ["cancelled", "b1", "u1", "bid", 20_000, 1, "ioc"],
    ]
    # the idempotency record holds the same events, after the command's clock
    assert client.hget(keys.outcomes, "b1") == f"{T0}|".encode() + raw[b"ev"]
    result = engine.place(bid("b1", "u1", 20_000))
    assert isinstance(result, PlaceResult) and result.replayed
    assert isinstance(result.fills[0], Trade) and result.fills[0].trade_id == "v1-3"


def test_events_written_as_json_objects_are_still_read(engine: RedisEngine, client: Any) -> None:
    """Journal entries and idempotency records written before the positional encoding hold
    JSON objects with the documented short keys: consumers and replays read them alike."""
    keys = book_keys("v1")
    accepted: dict[str, str | int]
    accepted = {"type": "accepted", "order": "b9", "user": "u1", "side": "bid", "price": 20_000}
    accepted |= {"qty": 1, "tif": "ioc", "exp": 0, "seq": 7}
    cancelled: dict[str, str | int]
    cancelled = {"type": "cancelled", "order": "b9", "user": "u1", "side": "bid"}
    cancelled |= {"price": 20_000, "qty": 1, "reason": "ioc"}
    old = json.dumps([accepted, cancelled])
    client.hset(keys.outcomes, "b9", f"{T0 - 5}|{old}")
    client.hset(keys.orders, "b9", "cancelled|bid|u1|20000|1|0|0|1|0|7|0|ioc")  # a record of then
    client.xadd(keys.journal, {"cmd": "place", "seq": 7, "at": T0 - 5, "ev": old})
    (entry,) = read_journal(client, "v1")
    assert [type(e) for e in entry.events] == [Accepted, Cancelled]
    for again in (
        engine.place(bid("b9", "u1", 20_000)),
        engine.place_many([bid("b9", "u1", 1)])[0],
    ):
        assert isinstance(again, PlaceResult) and again.replayed
        assert again.events == entry.events and again.sequence == 7
        assert again.cancel_reason == "ioc" and again.cancelled_quantity == 1


def test_a_batch_walks_past_what_it_read_of_the_book_like_one_by_one(engine: RedisEngine) -> None:
    """A batch reads the front of a side once and keeps it up to date as its orders rest and
    trade; a taker that goes past it reads on. Book v1 takes the orders in one batch, book v2
    one by one: the same trades, the same book."""
    engine.open_book("v2")
    for book in ("v1", "v2"):
        for i in range(50):  # already in Redis before the batch
            engine.place(ask(f"a{i}", "me" if i % 7 == 0 else f"s{i % 5}", 20_050 + i, book=book))

    def batch(book: str) -> list[Any]:
        cmds = [ask(f"n{i}", f"s{i % 5}", 20_000 + 2 * i, 2, book=book) for i in range(20)]
        cmds.append(bid("big", "me", 25_000, 75, book=book))  # past the batch's window
        cmds += [ask(f"m{i}", "me", 20_001 + i, book=book) for i in range(3)]
        cmds.append(bid("small", "u9", 20_200, 10, book=book))
        return cmds

    together = engine.place_many(batch("v1"))
    alone = [engine.place(cmd) for cmd in batch("v2")]

    def trades(results: list[Any]) -> list[list[tuple[str, int, int]]]:
        return [[(t.maker_order_id, t.price_cents, t.quantity) for t in r.fills] for r in results]

    assert trades(together) == trades(alone)
    assert sum(len(f) for f in trades(together)) > 32 + 20

    def book_orders(variant: str) -> list[tuple[str, str, int, int, int]]:
        snap = engine.snapshot(variant)
        return [
            (o.order_id, o.side, o.price_cents, o.quantity, o.sequence)
            for o in snap.bids + snap.asks
        ]

    assert book_orders("v1") == book_orders("v2")


def test_an_order_rested_and_filled_in_one_batch_leaves_no_expiry_entry(
    client: Any, clock: FakeClock
) -> None:
    """An order placed by a batch is added to the expiry index at the end of the batch, or
    earlier when a later order's sweep writes the pending changes first; once it is filled in
    the same batch its entry must be gone either way (else its expiry would later "expire" a
    filled order)."""
    e = RedisEngine(client, clock=clock, config=EngineConfig(sweep_limit=1))
    e.open_book("v1")
    e.place(bid("old1", "u1", 10_000, expires_at=T0 + 10))
    e.place(bid("old2", "u1", 10_000, expires_at=T0 + 10))
    clock.advance(20)  # both due: each place of the batch expires one of them
    out = e.place_many(
        [
            ask("a1", "u2", 50_000, expires_at=T0 + 1_000),  # rests (its index entry pending)
            ask("a2", "u2", 60_000, expires_at=T0 + 1_000),  # its sweep writes a1's entry
            bid("b1", "u3", 50_000, expires_at=T0 + 1_000),  # fills a1
            ask("a3", "u2", 55_000, expires_at=T0 + 1_000),  # rests
            bid("b2", "u3", 55_000, ioc=True),  # fills a3 before any write
        ]
    )
    assert [len(r.fills) for r in out if isinstance(r, PlaceResult)] == [0, 0, 1, 0, 1]
    index = {m.decode() for m in client.zrange(book_keys("v1").expiry, 0, -1)}
    assert index == {"a2"}
    clock.advance(2_000)
    expired = e.expire(ExpireOrders(variant_id="v1"))
    assert not isinstance(expired, Rejected)
    events: list[Any] = list(expired.events)
    assert [ev.order_id for ev in events] == ["a2"]
