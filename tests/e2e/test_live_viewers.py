"""The live benchmark's socket viewer speaks Reflex's protocol: two viewers (each its own Reflex
session on a product page) receive every one of five engine orders through the page's own live
loop. No timing assertions: scripts/bench_live.py measures; this proves what it measures."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import aiohttp
import redis

from sneakers_app.money import format_usd
from sneakers_app.settings import PROJECT_ROOT
from state.product import ProductState
from tests.e2e.conftest import LiveApp
from tests.support.reflex_client import STATE, Tab, state_name
from trading.engine import RedisEngine

VIEWERS = 2
ORDERS = 5


def _bench() -> ModuleType:
    name = "bench_live"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / "bench_live.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def missing_orders(bench: ModuleType, orders: object, sink: object, viewers: int) -> int:
    """How many (viewer, order) pairs no viewer frame has shown yet."""
    seen = [(None, sink.viewer, sink.side, sink.price, sink.at)]  # type: ignore[attr-defined]
    missing: int = bench.latencies(orders, seen, viewers, 0)[1]
    return missing


async def place_and_watch(
    bench: ModuleType, flow: Any, viewers: list[Any], sink: object, count: int
) -> object:
    """Place `count` orders (10 a second) while the viewers record, until every viewer has
    shown every order (at most 15 s): the orders placed."""
    await asyncio.sleep(1.0)  # the pages' live loops are waiting on the hub
    for v in viewers:
        v.recording = True
    orders = await asyncio.to_thread(bench.place_orders, flow, count, 10.0)
    deadline = time.monotonic() + 15
    while missing_orders(bench, orders, sink, len(viewers)) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return orders


async def close_viewers(viewers: list[Any], tasks: list[asyncio.Task[None]]) -> None:
    for v in viewers:
        v.recording = False
        await v.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_socket_viewers_receive_every_order(live_app: LiveApp) -> None:
    bench = _bench()
    market = bench.find_market(live_app.redis_url, live_app.database_url)
    page = bench.Page(base_url=live_app.url, slug=market.slug, size=market.size)
    flow = bench.OrderFlow(
        RedisEngine(redis.Redis.from_url(live_app.redis_url)), market, uuid.uuid4().hex[:6]
    )

    async def scenario() -> tuple[object, object]:
        sink = bench.Observations()
        viewers = [bench.Viewer(i, page, sink) for i in range(VIEWERS)]
        async with aiohttp.ClientSession() as session:
            gate = asyncio.Semaphore(VIEWERS)
            tasks = [asyncio.create_task(v.run(session, gate)) for v in viewers]
            await asyncio.wait_for(asyncio.gather(*(v.loaded.wait() for v in viewers)), 60)
            assert [v.error for v in viewers] == [None] * VIEWERS
            orders = await place_and_watch(bench, flow, viewers, sink, ORDERS)
            await close_viewers(viewers, tasks)
        return orders, sink

    try:
        # Its own thread and event loop: the browser tests leave Playwright's loop running here.
        with ThreadPoolExecutor(max_workers=1) as pool:
            orders, sink = pool.submit(asyncio.run, scenario()).result()
    finally:
        flow.clean_up()
    ks = orders[0]  # type: ignore[index]
    assert len(ks) == ORDERS, "the engine refused an order"
    values, missing = bench.latencies(
        orders,
        [(None, sink.viewer, sink.side, sink.price, sink.at)],  # type: ignore[attr-defined]
        VIEWERS,
        time.time_ns(),
    )
    assert missing == 0, "a viewer never showed one of the orders"
    assert len(values) == VIEWERS * ORDERS
    # Each viewer saw both sides move (asks and bids alternate).
    for viewer in range(VIEWERS):
        seen = {
            side
            for v, side in zip(sink.viewer, sink.side, strict=True)  # type: ignore[attr-defined]
            if v == viewer
        }
        assert seen == {bench.ASK, bench.BID}


def test_a_tab_that_comes_back_shows_the_market_as_of_now_in_its_hydrate(
    live_app: LiveApp,
) -> None:
    """A tab's saved session holds the market of its last save (the feed's pushes bypass it), and
    its page's load, which reads the market again, runs after its hydrate: a tab coming back
    (a reconnect, a web worker restarted, a reload) must not be shown prices older than what it
    showed before it went, for the time every other tab's hydrate takes (state/hydrate.py)."""
    bench = _bench()
    market = bench.find_market(live_app.redis_url, live_app.database_url)
    flow = bench.OrderFlow(
        RedisEngine(redis.Redis.from_url(live_app.redis_url)), market, uuid.uuid4().hex[:6]
    )
    product = state_name(ProductState)

    def tab(token: str | None = None) -> Tab:
        made = Tab(
            live_app.url,
            path=f"/product/{market.slug}",
            query={"size": market.size},
            params={"slug": market.slug},
        )
        if token is not None:
            made.token = token
        return made

    async def scenario() -> tuple[Any, Any, Any]:
        first = tab()
        await first.open()
        shown_before = first.latest(product, "lowest_ask")
        await first.close()  # gone for now; its session stays
        placed = await asyncio.to_thread(flow.place, 0)  # a new lowest ask
        await asyncio.sleep(0.5)  # the book's update has reached the web process
        again = tab(first.token)
        await again.connect()
        try:
            hydrate = await again.wait_for(
                lambda u: u.has(STATE, "is_hydrated") and u.value(STATE, "is_hydrated") is False,
                30,
            )
        finally:
            await again.close()
        return shown_before, placed, hydrate

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            shown_before, placed, hydrate = pool.submit(asyncio.run, scenario()).result()
    finally:
        flow.clean_up()
    assert placed is not None, "the engine refused the ask"
    assert shown_before == format_usd(market.ask_cents)
    assert hydrate.value(product, "lowest_ask") == format_usd(placed[2])
