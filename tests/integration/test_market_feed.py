"""The public market-data feed (`python -m sneakers_app market-feed`) on a real Valkey, driven
through the matching engine, with real websockets clients. Each test starts the feed's own
`serve` (what the command runs) in a thread on an ephemeral port, with its own limits."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sneakers_app.feed import protocol, server
from sneakers_app.feed.protocol import LocalBook
from tests.support.servers import RedisServer, free_port
from trading import market_data
from trading.engine import RedisEngine
from trading.orders import (
    CancelOrder,
    ExpireOrders,
    ModifyOrder,
    PlaceOrder,
    Side,
    TimeInForce,
)
from trading.recovery import OpenOrder, rebuild_book

HOUR_MS = 3_600_000


# --- the feed, in a thread of this process -------------------------------------------------


@dataclass
class RunningFeed:
    port: int
    loop: asyncio.AbstractEventLoop
    feed: server.Feed

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{protocol.STREAM_PATH}"


@contextmanager
def running_feed(redis_url: str, **overrides: Any) -> Iterator[RunningFeed]:
    config = replace(
        server.FeedConfig(redis_url=redis_url, port=0, heartbeat_s=5.0, subscribe_deadline_s=5.0),
        **overrides,
    )
    ready = threading.Event()
    got: dict[str, Any] = {}

    async def main() -> None:
        got["loop"] = asyncio.get_running_loop()
        got["stop"] = stop = asyncio.Event()

        def started(port: int) -> None:
            got["port"] = port
            ready.set()

        await server.serve(
            config, stop=stop, started=started, feed_ready=lambda f: got.update(feed=f)
        )

    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the test
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="market-feed", daemon=True)
    thread.start()
    assert ready.wait(10), "the feed did not start"
    assert not failure, failure
    try:
        yield RunningFeed(port=got["port"], loop=got["loop"], feed=got["feed"])
    finally:
        got["loop"].call_soon_threadsafe(got["stop"].set)
        thread.join(10)
    assert not failure, failure


def _in_own_loop(scenario: Coroutine[Any, Any, None]) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario).result()


def _new_books(redis_server: RedisServer, count: int) -> tuple[RedisEngine, list[int]]:
    engine = RedisEngine(redis.Redis.from_url(redis_server.url))
    base = random.randrange(10**9, 2 * 10**9)
    books = [base + i for i in range(count)]
    for book in books:
        engine.open_book(str(book))
    return engine, books


def _order(
    book: int,
    order_id: str,
    side: Side,
    price: int,
    qty: int = 1,
    *,
    user: str = "u1",
    ioc: bool = False,
    expires_at: int | None = None,
) -> PlaceOrder:
    return PlaceOrder(
        variant_id=str(book),
        order_id=order_id,
        user_id=user,
        side=side,
        price_cents=price,
        quantity=qty,
        time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
        expires_at=None if ioc else (expires_at or int(time.time() * 1000) + HOUR_MS),
    )


def _engine_levels(client: Any, book: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    depth = market_data.depth(client, str(book))
    return (
        [(lv.price_cents, lv.quantity) for lv in depth.bids],
        [(lv.price_cents, lv.quantity) for lv in depth.asks],
    )


# --- a client keeping local books ------------------------------------------------------------


def documented_checksum(book: LocalBook) -> int:
    """The checksum as docs/asyncapi.yaml defines it, written out here rather than taken from
    the feed's code: CRC32 of the top 10 bids (highest first) and the top 10 asks (lowest
    first), each "price:quantity", joined by "|" within a side, the sides joined by ";"."""
    bids = sorted(book.bids.items(), reverse=True)[:10]
    asks = sorted(book.asks.items())[:10]
    text = "|".join(f"{p}:{q}" for p, q in bids) + ";" + "|".join(f"{p}:{q}" for p, q in asks)
    return zlib.crc32(text.encode("ascii"))


@dataclass
class BookKeeper:
    """What a careful client does: a book from each snapshot, each update applied only when its
    prev_seq is the seq it has, the checksum checked after each, a resync on a gap."""

    ws: ClientConnection
    books: dict[int, LocalBook] = field(default_factory=dict)
    resyncing: set[int] = field(default_factory=set)
    drop_next: set[int] = field(default_factory=set)
    snapshots: dict[int, int] = field(default_factory=dict)
    updates: int = 0
    gaps: list[int] = field(default_factory=list)
    bad_checksums: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        await self.handle(message)
        return message

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "snapshot":
            v = message["variant_id"]
            book = LocalBook.from_snapshot(message)
            if documented_checksum(book) != message["checksum"]:
                self.bad_checksums.append(message)
            self.books[v] = book
            self.resyncing.discard(v)
            self.snapshots[v] = self.snapshots.get(v, 0) + 1
        elif kind == "update":
            v = message["variant_id"]
            if v in self.drop_next and message["seq"] != message["prev_seq"]:
                # lost on the way (one that moved the sequence: a cancel or an expiry keeps
                # it, and the loss of one of those shows in the checksum instead)
                self.drop_next.discard(v)
                return
            if v in self.resyncing:
                return
            book = self.books[v]
            if message["prev_seq"] != book.seq:
                self.gaps.append(v)
                self.resyncing.add(v)
                await self.ws.send(json.dumps({"op": "resync", "variant_id": v}))
                return
            book.apply(message["changes"])
            book.seq = message["seq"]
            self.updates += 1
            if documented_checksum(book) != message["checksum"]:
                self.bad_checksums.append(message)
                self.resyncing.add(v)
                await self.ws.send(json.dumps({"op": "resync", "variant_id": v}))
        elif kind != "heartbeat":
            self.others.append(message)

    def levels(self, v: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return self.books[v].side("bid"), self.books[v].side("ask")

    async def until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            assert left > 0, "the feed did not get there in time"
            try:
                await self.receive(timeout=min(left, 0.5))
            except TimeoutError:
                pass


def _j(**body: Any) -> str:
    return json.dumps(body)


async def _subscribe(ws: ClientConnection, channel: str, **ids: Any) -> None:
    await ws.send(json.dumps({"op": "subscribe", "channel": channel, **ids}))


async def _next(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of type `kind` (heartbeats skipped; anything else fails)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {kind} message within {timeout}s"
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), left))
        if message["type"] == "heartbeat" and kind != "heartbeat":
            continue
        assert message["type"] == kind, message
        return message


async def _nothing_but_heartbeats(ws: ClientConnection, seconds: float) -> None:
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), seconds))
            assert message["type"] == "heartbeat", message
    except TimeoutError:
        pass


# --- the tests ------------------------------------------------------------------------------


class Clock:
    """The engine's clock, moved on by the test to expire orders (epoch ms)."""

    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.now


def _random_stream(
    engine: RedisEngine, books: list[int], clock: Clock, steps: int, name: str
) -> int:
    """Places (some crossing, some IOC, some expiring soon), cancels, modifies and expiry
    sweeps on `books` (order ids start with `name`); returns how many commands the engine
    accepted."""
    rng = random.Random(f"{books[0]}-{name}")
    resting: dict[int, list[tuple[str, str]]] = {b: [] for b in books}
    accepted = 0
    for i in range(steps):
        book = rng.choice(books)
        roll = rng.random()
        if roll < 0.6 or not resting[book]:
            side = rng.choice([Side.BID, Side.ASK])
            mid = 10_000
            price = mid + rng.randrange(-12, 13) * 100
            user = f"u{rng.randrange(6)}"
            soon = rng.random() < 0.15
            order = _order(
                book,
                f"{name}{i}",
                side,
                price,
                rng.randrange(1, 4),
                user=user,
                ioc=rng.random() < 0.1,
                expires_at=clock.now + (60_000 if soon else HOUR_MS),
            )
            outcome = engine.place(order)
            if order.time_in_force is TimeInForce.GTC:
                resting[book].append((order.order_id, user))
        elif roll < 0.8:
            order_id, user = resting[book].pop(rng.randrange(len(resting[book])))
            outcome = engine.cancel(
                CancelOrder(variant_id=str(book), order_id=order_id, user_id=user)
            )  # type: ignore[assignment]
        elif roll < 0.93:
            order_id, user = rng.choice(resting[book])
            price = 10_000 + rng.randrange(-12, 13) * 100
            outcome = engine.modify(  # type: ignore[assignment]
                ModifyOrder(
                    variant_id=str(book),
                    order_id=order_id,
                    user_id=user,
                    price_cents=price,
                    quantity=rng.randrange(1, 4),
                )
            )
        else:
            clock.now += 61_000  # the orders that expire soon are now due
            outcome = engine.expire(ExpireOrders(variant_id=str(book)))  # type: ignore[assignment]
        accepted += 0 if type(outcome).__name__ == "Rejected" else 1
    return accepted


def test_a_client_keeps_every_book_equal_to_the_engine_through_a_random_stream_and_a_gap(
    redis_server: RedisServer,
) -> None:
    """Books followed from their snapshots and updates stay equal to the engine's depth after
    a random stream of orders, cancels, modifications and expiries; every update's checksum
    holds; an update lost on the way is seen as a gap (prev_seq), and a resync puts it right."""
    client = redis.Redis.from_url(redis_server.url)
    clock = Clock()
    engine, books = _new_books(redis_server, 3)
    engine.clock = clock
    # some orders before anyone subscribes: the snapshot carries them
    _random_stream(engine, books, clock, 40, "p")

    async def scenario() -> None:
        with running_feed(redis_server.url) as feed:
            async with connect(feed.url) as ws:
                keeper = BookKeeper(ws)
                for book in books:
                    await _subscribe(ws, "book", variant_id=book)
                await keeper.until(lambda: len(keeper.books) == 3)
                for book in books:
                    assert keeper.levels(book) == _engine_levels(client, book)

                first = asyncio.create_task(
                    asyncio.to_thread(_random_stream, engine, books, clock, 150, "q")
                )
                await keeper.until(first.done, timeout=30)
                await first
                keeper.drop_next.add(books[1])  # the next update of this book is lost
                stream = asyncio.create_task(
                    asyncio.to_thread(_random_stream, engine, books, clock, 150, "r")
                )
                await keeper.until(stream.done, timeout=30)
                assert await stream > 100

                def equal() -> bool:
                    return not keeper.resyncing and all(
                        keeper.levels(b) == _engine_levels(client, b) for b in books
                    )

                await keeper.until(equal)
                seen = (keeper.bad_checksums, keeper.gaps, keeper.snapshots, keeper.updates)
                assert keeper.bad_checksums == [], seen
                assert keeper.gaps == [books[1]], ("the lost update is the only gap", seen)
                assert keeper.snapshots == {books[0]: 1, books[1]: 2, books[2]: 1}, seen
                assert keeper.updates > 30, seen  # (fewer than the commands: coalesced)
                assert keeper.others[:3] == [
                    {"type": "subscribed", "channel": "book", "variant_id": b} for b in books
                ]

    _in_own_loop(scenario())


def test_updates_faster_than_the_feed_sends_them_are_coalesced(redis_server: RedisServer) -> None:
    """While the feed's loop is busy, 30 updates of one book arrive: its subscriber gets fewer,
    merged updates whose prev_seq chain holds and whose checksums match, and ends equal."""
    client = redis.Redis.from_url(redis_server.url)
    engine, (book,) = _new_books(redis_server, 1)

    async def scenario() -> None:
        with running_feed(redis_server.url) as feed:
            async with connect(feed.url) as ws:
                keeper = BookKeeper(ws)
                await _subscribe(ws, "book", variant_id=book)
                await keeper.until(lambda: book in keeper.books)
                updates: list[dict[str, Any]] = []

                feed.loop.call_soon_threadsafe(time.sleep, 0.5)  # the feed is busy
                await asyncio.sleep(0.05)
                for i in range(30):
                    await asyncio.to_thread(
                        engine.place, _order(book, f"c{i}", Side.ASK, 20_000 + (i % 7) * 100)
                    )
                while (
                    len(updates) < 1
                    or keeper.books[book].seq < updates[-1]["seq"]
                    or (keeper.levels(book) != _engine_levels(client, book))
                ):
                    message = await keeper.receive()
                    if message["type"] == "update":
                        updates.append(message)
                assert keeper.bad_checksums == [] and keeper.gaps == []
                assert len(updates) < 30 / 2, f"{len(updates)} updates for 30 changes"
                assert sum(len(u["changes"]) for u in updates) <= 7 * len(updates)

    _in_own_loop(scenario())


def test_the_trades_channel_sends_every_trade_of_a_command_with_its_taker_side(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    engine, (book, other) = _new_books(redis_server, 2)
    engine.place(_order(book, "a1", Side.ASK, 20_000, user="seller"))
    engine.place(_order(book, "a2", Side.ASK, 20_500, 2, user="seller"))

    async def scenario() -> None:
        with running_feed(redis_server.url) as feed:
            async with connect(feed.url) as ws:
                await _subscribe(ws, "trades", variant_id=book)
                assert await _next(ws, "subscribed") == {
                    "type": "subscribed",
                    "channel": "trades",
                    "variant_id": book,
                }
                await asyncio.to_thread(engine.place, _order(other, "x", Side.ASK, 20_000))
                await asyncio.to_thread(engine.place, _order(other, "y", Side.BID, 20_000))
                # one Buy Now takes both asks: two trades in one command
                await asyncio.to_thread(
                    engine.place, _order(book, "b1", Side.BID, 20_500, 2, user="buyer", ioc=True)
                )
                first, second = await _next(ws, "trade"), await _next(ws, "trade")
                recent = market_data.recent_trades(client, str(book))
                assert [first["trade_id"], second["trade_id"]] == [
                    recent[1].trade_id,
                    recent[0].trade_id,
                ]
                assert (first["price_cents"], first["quantity"]) == (20_000, 1)
                assert (second["price_cents"], second["quantity"]) == (20_500, 1)
                assert first["taker_side"] == second["taker_side"] == "bid"
                assert first["variant_id"] == book and first["time"] == recent[0].at
                # a place that trades nothing sends no trade
                await asyncio.to_thread(engine.place, _order(book, "a3", Side.ASK, 21_000))
                await asyncio.to_thread(
                    engine.place, _order(book, "s1", Side.ASK, 19_000, user="seller2")
                )
                await _nothing_but_heartbeats(ws, 0.4)
                await ws.send(
                    json.dumps({"op": "unsubscribe", "channel": "trades", "variant_id": book})
                )
                assert (await _next(ws, "unsubscribed"))["variant_id"] == book

    _in_own_loop(scenario())


def test_the_ticker_sends_top_and_last_sale_of_many_variants_when_they_change(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    engine, (a, b) = _new_books(redis_server, 2)
    engine.place(_order(a, "a1", Side.ASK, 20_000, 2, user="seller"))
    engine.place(_order(a, "a2", Side.BID, 18_000, user="buyer"))

    def expected(v: int) -> dict[str, Any]:
        top = market_data.tops(client, [str(v)])[str(v)]
        last = top.last_trade
        return {
            "type": "ticker",
            "channel": "ticker",
            "variant_id": v,
            "seq": top.sequence,
            "bid_cents": top.bid_cents,
            "bid_quantity": top.bid_quantity,
            "ask_cents": top.ask_cents,
            "ask_quantity": top.ask_quantity,
            "last_trade": (
                {
                    "trade_id": last.trade_id,
                    "price_cents": last.price_cents,
                    "quantity": last.quantity,
                    "time": last.at,
                }
                if last
                else None
            ),
        }

    async def scenario() -> None:
        with running_feed(redis_server.url) as feed:
            async with connect(feed.url) as ws:
                await _subscribe(ws, "ticker", variant_ids=[a, b, a])
                ack = await _next(ws, "subscribed")
                assert ack["variant_ids"] == [a, b]
                initial = {m["variant_id"]: m for m in [await _next(ws, "ticker") for _ in "ab"]}
                assert initial == {a: expected(a), b: expected(b)}
                assert initial[b]["bid_cents"] is None and initial[b]["last_trade"] is None

                # a level below the top changes nothing the ticker shows
                await asyncio.to_thread(engine.place, _order(a, "a3", Side.BID, 17_000))
                await _nothing_but_heartbeats(ws, 0.4)
                # a better bid does
                await asyncio.to_thread(engine.place, _order(b, "b1", Side.BID, 15_000))
                assert await _next(ws, "ticker") == expected(b)
                # and a sale
                await asyncio.to_thread(
                    engine.place, _order(a, "t1", Side.BID, 20_000, user="buyer", ioc=True)
                )
                sale = await _next(ws, "ticker")
                assert sale == expected(a)
                assert sale["last_trade"]["price_cents"] == 20_000 and sale["ask_quantity"] == 1

    _in_own_loop(scenario())


def test_heartbeats_come_every_interval_with_a_counter_per_connection(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        with running_feed(redis_server.url, heartbeat_s=0.2) as feed:
            async with connect(feed.url) as first:
                counts = [(await _next(first, "heartbeat"))["counter"] for _ in range(3)]
                assert counts == [1, 2, 3]
                started = time.monotonic()
                async with connect(feed.url) as second:
                    assert (await _next(second, "heartbeat"))["counter"] == 1
                    assert (await _next(first, "heartbeat"))["counter"] >= 4
                assert time.monotonic() - started < 2

    _in_own_loop(scenario())


def test_a_connection_that_does_not_subscribe_in_time_is_closed(redis_server: RedisServer) -> None:
    _engine, (book,) = _new_books(redis_server, 1)

    async def scenario() -> None:
        with running_feed(redis_server.url, subscribe_deadline_s=0.5) as feed:
            async with connect(feed.url) as idle, connect(feed.url) as busy:
                await _subscribe(busy, "book", variant_id=book)
                await _next(busy, "subscribed")
                await _next(busy, "snapshot")
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(idle.recv(), 3)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1008
                assert closed.value.rcvd.reason == "no subscription within 0.5 s"
                await asyncio.sleep(0.3)
                await busy.ping()  # still open, past the deadline

    _in_own_loop(scenario())


def test_bad_requests_get_an_error_and_change_nothing(redis_server: RedisServer) -> None:
    engine, (book,) = _new_books(redis_server, 1)
    unknown = book + 10**6

    async def scenario() -> None:
        with running_feed(redis_server.url, max_message_bytes=512) as feed:
            async with connect(feed.url) as ws:
                keeper = BookKeeper(ws)
                await _subscribe(ws, "book", variant_id=book)
                await keeper.until(lambda: book in keeper.books)
                keeper.others.clear()
                sub = {"op": "subscribe", "channel": "book"}
                bad: list[tuple[str | bytes, str]] = [
                    ("{not json", "bad_json"),
                    ("[1, 2]", "bad_message"),
                    (b'{"op": "subscribe"}', "bad_message"),
                    (_j(op="buy", channel="book", variant_id=1), "unknown_op"),
                    (_j(op="subscribe", channel="orders", variant_id=1), "unknown_channel"),
                    (_j(**sub, variant_id="12"), "bad_variant_id"),
                    (_j(**sub, variant_id=-3), "bad_variant_id"),
                    (_j(**sub, variant_id=True), "bad_variant_id"),
                    (_j(op="subscribe", channel="ticker", variant_ids=[]), "bad_variant_id"),
                    (_j(**sub, variant_id=unknown), "unknown_variant"),
                    (
                        _j(op="subscribe", channel="ticker", variant_ids=[book, unknown]),
                        "unknown_variant",
                    ),
                    (_j(**sub, variant_id=book), "already_subscribed"),
                    (_j(op="unsubscribe", channel="trades", variant_id=book), "not_subscribed"),
                    (_j(op="resync", variant_id=unknown), "not_subscribed"),
                    (_j(**sub, variant_id=1, pad="x" * 600), "message_too_large"),
                ]
                for text, code in bad:
                    await ws.send(text)
                    await keeper.until(lambda: len(keeper.others) == 1)
                    error = keeper.others.pop()
                    assert error["type"] == "error" and error["code"] == code, (text, error)
                    assert error["message"]
                # nothing changed: the book subscription alone, still flowing
                assert feed.feed.markets.keys() == {str(book)}
                await asyncio.to_thread(engine.place, _order(book, "a1", Side.ASK, 20_000))
                message = await keeper.receive()
                assert message["type"] == "update" and keeper.bad_checksums == []
                await _nothing_but_heartbeats(ws, 0.2)
                # a frame beyond the hard maximum (16 x 512 bytes) closes the connection
                await ws.send("x" * (512 * 16 + 1))
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 3)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    _in_own_loop(scenario())


def test_a_connection_holds_at_most_its_subscriptions(redis_server: RedisServer) -> None:
    _engine, (a, b, c) = _new_books(redis_server, 3)

    async def scenario() -> None:
        with running_feed(redis_server.url, max_subscriptions=3) as feed:
            async with connect(feed.url) as ws:
                await _subscribe(ws, "book", variant_id=a)
                await _next(ws, "subscribed")
                await _next(ws, "snapshot")
                await _subscribe(ws, "ticker", variant_ids=[a, b])
                await _next(ws, "subscribed")
                await _next(ws, "ticker")
                await _next(ws, "ticker")
                for request in (
                    {"channel": "trades", "variant_id": c},
                    {"channel": "ticker", "variant_ids": [c]},
                ):
                    await _subscribe(ws, **request)
                    error = await _next(ws, "error")
                    assert error["code"] == "too_many_subscriptions"
                assert str(c) not in feed.feed.markets
                await ws.send(
                    json.dumps({"op": "unsubscribe", "channel": "ticker", "variant_ids": [b]})
                )
                await _next(ws, "unsubscribed")
                assert str(b) not in feed.feed.markets  # nobody follows it any more
                await _subscribe(ws, "trades", variant_id=c)
                assert (await _next(ws, "subscribed"))["variant_id"] == c

    _in_own_loop(scenario())


def test_connections_from_one_address_are_limited(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        with running_feed(redis_server.url, max_connections_per_ip=2) as feed:
            async with connect(feed.url), connect(feed.url) as second:
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(feed.url):
                        pass
                assert refused.value.response.status_code == 429
                await second.close()
                await asyncio.sleep(0.1)
                async with connect(feed.url) as again:
                    await again.ping()

    _in_own_loop(scenario())


def test_a_rebuilt_book_and_a_lost_subscription_send_fresh_snapshots(
    redis_server: RedisServer,
) -> None:
    """A reset from the engine (the book rebuilt from the database) and the feed's pub/sub
    connection dropped: each time the subscriber gets a new snapshot equal to the engine's
    book, and its updates go on from there."""
    client = redis.Redis.from_url(redis_server.url)
    engine, (book,) = _new_books(redis_server, 1)
    engine.place(_order(book, "a1", Side.ASK, 20_000, 2))
    engine.place(_order(book, "b1", Side.BID, 18_000))

    async def scenario() -> None:
        with running_feed(redis_server.url) as feed:
            async with connect(feed.url) as ws:
                keeper = BookKeeper(ws)
                await _subscribe(ws, "book", variant_id=book)
                await keeper.until(lambda: book in keeper.books)
                assert keeper.levels(book) == ([(18_000, 1)], [(20_000, 2)])

                later = int(time.time() * 1000) + HOUR_MS
                await asyncio.to_thread(
                    rebuild_book,
                    client,
                    str(book),
                    [
                        OpenOrder(
                            order_id=f"r{i}",
                            user_id=f"u{i}",
                            side=side,
                            price_cents=price,
                            remaining=qty,
                            sequence=900 + i,
                            expires_at=later,
                        )
                        for i, (side, price, qty) in enumerate(
                            [(Side.ASK, 21_000, 3), (Side.BID, 17_500, 1)]
                        )
                    ],
                    last_sequence=1000,
                )
                await keeper.until(lambda: keeper.snapshots[book] == 2)
                assert keeper.levels(book) == ([(17_500, 1)], [(21_000, 3)])
                assert keeper.levels(book) == _engine_levels(client, book)
                assert keeper.books[book].seq >= 1000

                client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # type: ignore[no-untyped-call]
                await keeper.until(lambda: keeper.snapshots[book] == 3)
                await asyncio.to_thread(engine.place, _order(book, "a2", Side.ASK, 20_800))
                await keeper.until(lambda: keeper.levels(book) == _engine_levels(client, book))
                assert keeper.gaps == [] and keeper.bad_checksums == []
                assert feed.feed.subscribed.is_set()

    _in_own_loop(scenario())


def test_the_market_feed_command_serves_health_and_says_going_away_on_sigterm(
    redis_server: RedisServer,
) -> None:
    """`python -m sneakers_app market-feed` as a deployment runs it: /healthz and /readyz on
    its port, the stream, and on SIGTERM every connection closed with 1001."""
    _engine, (book,) = _new_books(redis_server, 1)
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "FEED_PORT": str(port),
        "FEED_HOST": "127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "sneakers_app", "market-feed"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == f"Market-data feed running at ws://127.0.0.1:{port}/api/v1/stream"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        deadline = time.monotonic() + 5
        while httpx.get(f"http://127.0.0.1:{port}/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/elsewhere").status_code == 404

        async def scenario() -> None:
            async with connect(f"ws://127.0.0.1:{port}/api/v1/stream") as ws:
                await _subscribe(ws, "book", variant_id=book)
                await _next(ws, "subscribed")
                assert (await _next(ws, "snapshot"))["variant_id"] == book
                process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

        _in_own_loop(scenario())
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _stalled_client(url: str) -> ClientConnection:
    """A client that stops reading: a small receive buffer, and websockets' own queue of one
    message, so what the feed sends piles up in the feed's socket."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return await connect(url, sock=sock, max_queue=1, compression=None)


def _buffered(feed: RunningFeed) -> int:
    sizes = [c.ws.transport.get_write_buffer_size() for c in feed.feed.clients if c.ws.transport]
    return max(sizes, default=0)


def test_a_client_that_fell_behind_rejoins_its_book_even_after_everyone_else_left(
    redis_server: RedisServer,
) -> None:
    engine, (book,) = _new_books(redis_server, 1)
    for i in range(400):  # a deep book: each snapshot is some 7 KB
        engine.place(_order(book, f"deep{i}", Side.BID, 5_000 + i * 10))
    limit = 65_536

    async def scenario(feed: RunningFeed) -> None:
        slow = await _stalled_client(feed.url)
        await _subscribe(slow, "book", variant_id=book)
        async with connect(feed.url) as other:
            await _subscribe(other, "book", variant_id=book)
            await _next(other, "subscribed")
            await _next(other, "snapshot")
            # The slow client asks for snapshot after snapshot and reads none of them.
            deadline = time.monotonic() + 20
            while not any(c.lagging for c in feed.feed.clients):
                assert time.monotonic() < deadline, ("never fell behind", _buffered(feed))
                for _ in range(20):
                    await slow.send(_j(op="resync", variant_id=book))
                await asyncio.sleep(0.05)
            await other.send(_j(op="unsubscribe", channel="book", variant_id=book))
            await _next(other, "unsubscribed")
        # The only subscriber left is the one that fell behind: its book must stay.
        assert str(book) in feed.feed.markets
        engine.place(_order(book, "while-behind", Side.ASK, 20_000))
        # It reads again: everything queued, then (once drained) a fresh snapshot with the ask.
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "no fresh snapshot after draining"
            message = json.loads(await asyncio.wait_for(slow.recv(), 10))
            if message["type"] == "snapshot" and message["asks"] == [[20_000, 1]]:
                break
        engine.place(_order(book, "after", Side.ASK, 19_000))
        update = await _next(slow, "update")
        assert update["changes"] == [["ask", 19_000, 1]]
        await slow.close()

    with running_feed(redis_server.url, heartbeat_s=0.1, max_client_buffer_bytes=limit) as feed:
        _in_own_loop(scenario(feed))


def test_a_client_that_reads_nothing_is_closed_before_it_holds_much(
    redis_server: RedisServer,
) -> None:
    engine, (book,) = _new_books(redis_server, 1)
    for i in range(400):
        engine.place(_order(book, f"deep{i}", Side.BID, 5_000 + i * 10))
    limit = 65_536

    async def scenario(feed: RunningFeed) -> None:
        slow = await _stalled_client(feed.url)
        await _subscribe(slow, "book", variant_id=book)
        deadline = time.monotonic() + 20
        while not feed.feed.clients:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        (held,) = feed.feed.clients
        # Snapshot after snapshot, faster than the once-a-heartbeat check could leave it out.
        while not held.closed:
            assert time.monotonic() < deadline, ("never closed", _buffered(feed))
            for _ in range(20):
                await slow.send(_j(op="resync", variant_id=book))
            await asyncio.sleep(0.02)
        assert not held.lagging  # closed by the check before each write
        assert held.ws.transport is None or held.ws.transport.get_write_buffer_size() <= (
            4 * limit + 16_384
        )
        # The client reads again: what was sent, then the end (the feed's close frame, or the
        # connection dropped if it took longer than the close timeout to get there).
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(slow.recv(), 30)
        # (the feed's connection lives in the feed's loop: read, never awaited, from here)
        sent = held.ws.protocol.close_sent
        assert sent is not None and sent.code == 1008, sent

    with running_feed(redis_server.url, heartbeat_s=30.0, max_client_buffer_bytes=limit) as feed:
        _in_own_loop(scenario(feed))
