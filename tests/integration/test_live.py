"""The process's book-update hub on a real Redis: fan-out to the right waiters, conflation,
and a resync after the subscriber reconnects."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import redis

from sneakers_app.live import BookHub
from tests.support.servers import RedisServer
from trading.engine import RedisEngine
from trading.orders import PlaceOrder, Side, TimeInForce


def _place(engine: RedisEngine, book: str, order_id: str, price: int) -> None:
    engine.place(
        PlaceOrder(
            variant_id=book,
            order_id=order_id,
            user_id="u1",
            side=Side.ASK,
            price_cents=price,
            quantity=1,
            time_in_force=TimeInForce.GTC,
            expires_at=int(time.time() * 1000) + 3_600_000,
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
        client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        seen5, changed = await hub.wait(seen4, timeout=5)
        assert changed and seen5[mine] == seen4[mine]
        await hub.stop()

    # Its own thread and loop: a browser test earlier in the run may leave a loop running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario()).result()
