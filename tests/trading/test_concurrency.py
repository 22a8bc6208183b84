"""Several processes placing into one book at once, against a real Redis: each command is
atomic, so no resting order is filled twice and every unit of quantity is accounted for."""

from __future__ import annotations

import itertools
import multiprocessing
import random
from collections import Counter, defaultdict
from typing import cast

import pytest
import redis

from tests.support.servers import RedisServer
from trading.engine import RedisEngine
from trading.events import Accepted, Cancelled, Expired, Modified, Rested, Trade
from trading.journal import read_journal
from trading.orders import (
    DAY_MS,
    CancelOrder,
    PlaceOrder,
    PlaceResult,
    Side,
    TimeInForce,
)

PROCESSES = 4
ORDERS_EACH = 300


def _worker(url: str, worker: int, start: multiprocessing.synchronize.Barrier) -> None:
    client = redis.Redis.from_url(url)
    engine = RedisEngine(client)
    rng = random.Random(worker)
    start.wait()
    mine: list[str] = []
    for i in range(ORDERS_EACH):
        if mine and rng.random() < 0.1:
            engine.cancel(CancelOrder(variant_id="hot", order_id=mine.pop(), user_id=f"w{worker}"))
            continue
        side = Side.BID if rng.random() < 0.5 else Side.ASK
        ioc = rng.random() < 0.2
        order_id = f"w{worker}-{i}"
        result = engine.place(
            PlaceOrder(
                variant_id="hot",
                order_id=order_id,
                # two users per process, so processes also trade with each other's users
                user_id=f"w{worker}" if i % 2 else f"w{worker}b",
                side=side,
                price_cents=rng.randrange(9_500, 10_500, 50),
                quantity=rng.randint(1, 5),
                time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
                expires_at=None if ioc else engine.clock() + DAY_MS,
            )
        )
        assert isinstance(result, PlaceResult)
        if result.resting_quantity and i % 2:
            mine.append(order_id)
    client.close()


@pytest.mark.slow
def test_processes_placing_into_one_book_conserve_quantity(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    engine = RedisEngine(redis_client)
    engine.open_book("hot")
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    procs = [
        ctx.Process(target=_worker, args=(redis_server.url, w, barrier)) for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0

    entries = read_journal(redis_client, "hot")
    events = [e for entry in entries for e in entry.events]
    # the journal interleaves all processes' commands, one entry per command, in book order
    assert [entry.sequence for entry in entries] == sorted(entry.sequence for entry in entries)
    assert len({entry.command for entry in entries}) >= 2
    submitted: dict[str, int] = {}
    filled: dict[str, int] = defaultdict(int)
    gone: dict[str, int] = defaultdict(int)
    for e in events:
        if isinstance(e, Accepted):
            assert e.order_id not in submitted
            submitted[e.order_id] = e.quantity
        elif isinstance(e, Trade):
            filled[e.maker_order_id] += e.quantity
            filled[e.taker_order_id] += e.quantity
            assert e.maker_user_id != e.taker_user_id
        elif isinstance(e, Cancelled | Expired):
            gone[e.order_id] += e.quantity
        elif isinstance(e, Modified):
            gone[e.order_id] += e.old_quantity - e.new_quantity
        else:
            assert isinstance(e, Rested)
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) > 100, "the processes should have traded with each other"
    trade_ids = Counter(t.trade_id for t in trades)
    assert max(trade_ids.values()) == 1
    assert len(submitted) == sum(1 for e in events if isinstance(e, Accepted))
    # the processes really ran at the same time: their orders interleave in the book
    owners = [oid.split("-")[0] for oid in submitted]
    assert sum(a != b for a, b in itertools.pairwise(owners)) > 10 * PROCESSES

    snap = engine.snapshot("hot")
    resting = {o.order_id: o.quantity for o in snap.bids + snap.asks}
    for order_id, qty in submitted.items():
        # never filled beyond what was submitted (no resting order filled twice), and
        # filled + resting + cancelled = submitted for every order
        assert filled[order_id] <= qty
        assert filled[order_id] + resting.get(order_id, 0) + gone[order_id] == qty, order_id
        state = engine.order("hot", order_id)
        assert state is not None and state.filled == filled[order_id]
    if snap.bids and snap.asks:
        assert snap.bids[0].price_cents < snap.asks[0].price_cents
    # the level totals agree with the resting orders
    total_bids = sum(o.quantity for o in snap.bids)
    raw = cast(dict[bytes, bytes], redis_client.hgetall("{book:hot}:depth:bids"))
    depth = {k.decode(): int(v) for k, v in raw.items()}
    assert sum(v for k, v in depth.items() if ":" not in k) == total_bids
