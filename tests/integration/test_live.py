"""The process's book-update hub on a real Redis: fan-out to the right waiters, conflation,
and a resync after the subscriber reconnects."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from sneakers_app import live
from sneakers_app.live import BookHub, trade_topic
from tests.support.servers import RedisServer
from trading import market_data
from trading.engine import RedisEngine
from trading.orders import PlaceOrder, Side, TimeInForce


def _place(
    engine: RedisEngine,
    book: str,
    order_id: str,
    price: int,
    *,
    user: str = "u1",
    side: Side = Side.ASK,
    ioc: bool = False,
) -> None:
    """One order of quantity 1: a GTC ask for an hour unless told otherwise."""
    engine.place(
        PlaceOrder(
            variant_id=book,
            order_id=order_id,
            user_id=user,
            side=side,
            price_cents=price,
            quantity=1,
            time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
            expires_at=None if ioc else int(time.time() * 1000) + 3_600_000,
        )
    )


def test_waiters_wake_for_their_books_only_and_conflate(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    engine = RedisEngine(client)
    mine, other = f"live-{uuid.uuid4().hex[:8]}", f"live-{uuid.uuid4().hex[:8]}"
    for book in (mine, other):
        engine.open_book(book)

    async def scenario() -> None:
        hub = BookHub(redis_server.url)
        assert await hub.wait_subscribed()
        seen = hub.versions([mine])

        # Another book's update does not wake us.
        await asyncio.to_thread(_place, engine, other, "o1", 20_000)
        seen2, changed = await hub.wait(seen, timeout=0.5)
        assert not changed and seen2 == seen

        # Ours does, well within a second.
        waiter = asyncio.create_task(hub.wait(seen, timeout=5))
        await asyncio.sleep(0.05)
        assert hub.waiting_sessions() == 1
        started = time.monotonic()
        await asyncio.to_thread(_place, engine, mine, "m1", 30_000)
        seen3, changed = await waiter
        assert changed and time.monotonic() - started < 1.0
        assert seen3[mine] == seen[mine] + 1
        latest = hub.latest(mine)
        assert latest is not None and latest.ask is not None
        assert latest.ask.price_cents == 30_000
        assert hub.waiting_sessions() == 0

        # Five updates while busy: one wake-up, and the newest state is what we read.
        for i in range(5):
            await asyncio.to_thread(_place, engine, mine, f"m{i + 2}", 29_000 - i * 100)
        await asyncio.sleep(0.3)
        seen4, changed = await hub.wait(seen3, timeout=1)
        assert changed and seen4[mine] == seen3[mine] + 5
        latest = hub.latest(mine)
        assert latest is not None and latest.ask is not None
        assert latest.ask.price_cents == 28_600

        # A reconnect of the subscriber wakes everyone to resync.
        client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # type: ignore[no-untyped-call]
        seen5, changed = await hub.wait(seen4, timeout=5)
        assert changed and seen5[mine] == seen4[mine]
        await hub.stop()

    _in_own_loop(scenario())


def _bid(engine: RedisEngine, book: str, order_id: str, price: int, user: str) -> None:
    """A Buy Now: an IOC bid of `user`."""
    _place(engine, book, order_id, price, user=user, side=Side.BID, ioc=True)


def _in_own_loop(scenario: Coroutine[Any, Any, None]) -> None:
    # Its own thread and loop: a browser test earlier in the run may leave a loop running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario).result()


def _new_book(redis_server: RedisServer) -> tuple[RedisEngine, str]:
    engine = RedisEngine(redis.Redis.from_url(redis_server.url))
    book = f"live-{uuid.uuid4().hex[:8]}"
    engine.open_book(book)
    return engine, book


def test_trade_topic_moves_only_on_trades_and_a_kick_wakes_a_waiter(
    redis_server: RedisServer,
) -> None:
    engine, book = _new_book(redis_server)

    async def scenario() -> None:
        hub = BookHub(redis_server.url)
        assert await hub.wait_subscribed()
        trades = hub.versions([trade_topic(book)])

        # A new ask changes the book, not its trades.
        await asyncio.to_thread(_place, engine, book, "a1", 20_000)
        seen, changed = await hub.wait(hub.versions([book]), timeout=0)
        _, changed = await hub.wait(trades, timeout=0.5)
        assert not changed

        # A kick wakes a waiter at once, with nothing changed.
        waiter = asyncio.create_task(hub.wait(trades, timeout=30, kick_key="tab-1"))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        hub.kick("tab-1")
        _, changed = await waiter
        assert not changed and time.monotonic() - started < 1.0
        # A kick while nobody waits under that key (the loop is busy) is not lost: the next
        # wait under it returns at once.
        hub.kick("tab-1")
        started = time.monotonic()
        _, changed = await hub.wait(trades, timeout=30, kick_key="tab-1")
        assert not changed and time.monotonic() - started < 1.0

        # A trade moves both the book and its trades.
        await asyncio.to_thread(_bid, engine, book, "b1", 20_000, "u2")
        trades2, changed = await hub.wait(trades, timeout=5)
        assert changed and trades2[trade_topic(book)] == trades[trade_topic(book)] + 1
        _, changed = await hub.wait(seen, timeout=0)
        assert changed
        await hub.stop()

    _in_own_loop(scenario())


def test_a_wake_tells_time_running_out_from_a_kick_and_a_change(
    redis_server: RedisServer,
) -> None:
    """A tab's live loop skips loading its state when its wait merely ran out: so a kick or a
    change must never be taken for that."""
    engine, book = _new_book(redis_server)

    async def scenario() -> None:
        hub = BookHub(redis_server.url)
        assert await hub.wait_subscribed()
        seen = hub.versions([book])

        woke = await hub.wake(seen, 0.2, kick_key="tab-1")
        assert woke.timed_out and not woke.changed and woke.versions == seen

        waiter = asyncio.create_task(hub.wake(seen, 30, kick_key="tab-1"))
        await asyncio.sleep(0.05)
        hub.kick("tab-1")
        woke = await waiter
        assert not woke.timed_out and not woke.changed

        hub.kick("tab-1")  # kept for the next wait: it returns at once, not timed out
        woke = await hub.wake(seen, 0.01, kick_key="tab-1")
        assert not woke.timed_out and not woke.changed

        waiter = asyncio.create_task(hub.wake(seen, 30, kick_key="tab-1"))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_place, engine, book, "a1", 20_000)
        woke = await waiter
        assert woke.changed and not woke.timed_out
        assert woke.versions[book] == seen[book] + 1

        # A change that lands as the time runs out counts as a change.
        woke = await hub.wake(seen, 5)
        assert woke.changed and not woke.timed_out
        await hub.stop()

    _in_own_loop(scenario())


def test_wake_all_wakes_every_wait_at_once(redis_server: RedisServer) -> None:
    """A stopping web worker wakes every page loop (they then find their tabs gone and end)
    rather than waiting for them to sleep out their timeouts: waits on books, on trades and
    under a kick key all return at once, unchanged and not timed out."""
    _engine, book = _new_book(redis_server)

    async def scenario() -> None:
        hub = BookHub(redis_server.url)
        assert await hub.wait_subscribed()
        waits = [
            asyncio.create_task(hub.wake(hub.versions([book]), 30)),
            asyncio.create_task(hub.wake(hub.versions([trade_topic(book)]), 30, kick_key="t")),
            asyncio.create_task(hub.wake(hub.versions([]), 30, kick_key="feed")),
        ]
        await asyncio.sleep(0.05)
        assert not any(w.done() for w in waits)
        started = time.monotonic()
        hub.wake_all()
        woke = await asyncio.wait_for(asyncio.gather(*waits), 5)
        assert time.monotonic() - started < 1
        assert [(w.changed, w.timed_out) for w in woke] == [(False, False)] * 3
        await hub.stop()

    _in_own_loop(scenario())


def test_tabs_arriving_while_the_books_change_share_one_recent_read(
    redis_server: RedisServer,
) -> None:
    """A hundred tabs' hydrates arriving at a worker while the book changes (state/hydrate.py):
    each read as new as the books would start a read of its own on every change; a read that
    started within the last moment (`any_version` with `not_before`) is shared, and once it is
    older than that a new one starts."""
    engine, book = _new_book(redis_server)
    reads: list[float] = []

    def load() -> int:
        reads.append(time.monotonic())
        time.sleep(0.05)
        return len(reads)

    async def scenario() -> None:
        hub = BookHub(redis_server.url)
        assert await hub.wait_subscribed()

        async def hydrate(window: float) -> int:
            return await hub.shared(
                "view",
                hub.versions([book]),
                load,
                not_before=time.monotonic() - window if window else None,
                any_version=window > 0,
            )

        async def burst(window: float) -> list[int]:
            results = []
            for i in range(10):
                seen = hub.versions([book])[book]
                await asyncio.to_thread(_place, engine, book, uuid.uuid4().hex[:8], 30_000 - i)
                while hub.versions([book])[book] == seen:  # the hub has the change
                    await asyncio.sleep(0.005)
                results.append(await hydrate(window))
            return results

        assert len(set(await burst(5.0))) == 1, "tabs within the window started reads of their own"
        reads.clear()
        assert len(set(await burst(0.0))) == 10  # as new as the books: a read per change
        await asyncio.sleep(0.1)
        reads.clear()
        await hydrate(0.05)
        assert len(reads) == 1, "a read older than the window was reused"
        await hub.stop()

    _in_own_loop(scenario())


@dataclass
class RecordingTransport:
    """Our `Transport` for these tests: it records what a feed hands it (the socket.io room
    transport is tested with real sockets in tests/e2e/test_live_viewers.py)."""

    pushes: list[tuple[Any, Any, list[str]]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    async def push(self, key: Hashable, view: Any, previous: Any, joining: list[str]) -> None:
        self.pushes.append((view, previous, list(joining)))

    def drop(self, key: Hashable, member: str) -> None:
        self.dropped.append(member)

    def alive(self, member: str) -> bool:
        return member not in self.gone


def test_a_feed_reads_once_per_change_and_pushes_the_whole_view_to_newcomers_only(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    engine = RedisEngine(client)
    book = f"live-{uuid.uuid4().hex[:8]}"
    engine.open_book(book)
    reads: list[int] = []

    def load() -> int | None:
        ask = market_data.top_of_book(client, book).ask_cents
        reads.append(ask or 0)
        return ask

    monkeypatch.setattr(live, "FEED_IDLE_SECONDS", 0.6)

    async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def scenario() -> None:
        hub = BookHub(redis_server.url)
        assert await hub.wait_subscribed()
        transport = RecordingTransport()
        feed = hub.feed(("view", book), [book], load, transport)
        assert hub.feed(("view", book), [book], load, transport) is feed  # one per view
        feed.join("sid-a", 1)

        # A change: one read, the whole view to the newcomer, who is a member from then on.
        await asyncio.to_thread(_place, engine, book, "a1", 30_000)
        await until(lambda: len(transport.pushes) == 1)
        assert transport.pushes[0] == (30_000, None, ["sid-a"])
        assert feed.members == {"sid-a": 1} and not feed.joining

        # Another newcomer: the members get the change, it gets the whole view.
        feed.join("sid-b", 7)
        await asyncio.to_thread(_place, engine, book, "a2", 29_000)
        await until(lambda: len(transport.pushes) == 2)
        assert transport.pushes[1] == (29_000, 30_000, ["sid-b"])

        # Ten changes in a burst: conflated into a few pushes, the last showing the newest.
        before = len(reads)
        for i in range(10):
            await asyncio.to_thread(_place, engine, book, f"c{i}", 28_000 - i)
        await until(lambda: transport.pushes[-1][0] == 27_991)
        await asyncio.sleep(0.3)
        assert len(reads) - before <= 4
        assert transport.pushes[-1][0] == 27_991

        # A stale owner's leave changes nothing; the owner's takes effect at once.
        assert not feed.leave("sid-b", 6)
        assert feed.leave("sid-b", 7)
        assert transport.dropped == ["sid-b"] and "sid-b" not in feed.members

        # A closed socket is let go at the next change.
        transport.gone.add("sid-a")
        await asyncio.to_thread(_place, engine, book, "a3", 27_000)
        await until(lambda: "sid-a" in transport.dropped)
        assert len(feed) == 0

        # With no members the feed stops, and the hub forgets it.
        await until(lambda: feed.stopped, seconds=5)
        assert hub.find_feed(("view", book)) is None
        await hub.stop()

    _in_own_loop(scenario())
