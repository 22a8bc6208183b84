"""Benchmark of the public market-data feed: N subscribers of one book, 100 orders a second.

    python scripts/bench_feed.py [--sizes 100,1000,5000] [--search] [--seconds 10]
                                 [--rate 100] [--client-processes 2] [--profile FOLDER]

Everything runs on this machine, as a deployment's parts would: a throwaway valkey-server, ONE
feed process (`python -m sneakers_app market-feed`, its own subprocess), the subscribers in
`--client-processes` separate processes (asyncio, many websocket connections each), and the
orders placed through the matching engine (`RedisEngine.place`) from this process at `--rate`
a second. For each N it prints the time from an order's placement (just before the engine
call) to each subscriber's receipt of the update that carries it (the update whose
`prev_seq`..`seq` range holds the order's sequence: coalesced updates carry several): p50, p99,
max, the updates each subscriber got, how many (order, subscriber) pairs never arrived, the
feed's CPU use, and the machine's load average. `--search` then looks for the largest N whose
p99 stays within 100 ms (bisection between the sizes measured). `--profile` records the feed
with py-spy during each run and prints where its time went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P99_MS = 100.0
BUCKET_MS = 0.1


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the subscribers' process ------------------------------------------------------------------


def client_main(url: str, connections: int, redis_url: str, book: str) -> int:
    """Open `connections` subscriptions to `book`, say READY, record every update's receipt
    until a line arrives on stdin, then print the latency histogram (JSON) and exit."""
    _raise_nofile()
    import uvloop

    return int(uvloop.run(_clients(url, connections, redis_url, book)))


async def _clients(url: str, connections: int, redis_url: str, book: str) -> int:
    from websockets.asyncio.client import connect

    received: dict[tuple[int, int], array[float]] = {}
    updates = [0] * connections
    ready = asyncio.Semaphore(100)  # handshakes at once
    subscribed = 0
    all_in = asyncio.Event()
    request = json.dumps({"op": "subscribe", "channel": "book", "variant_id": int(book)})

    async def one(k: int) -> None:
        nonlocal subscribed
        async with ready:
            ws = await connect(url, compression=None, open_timeout=120, max_queue=None)
            await ws.send(request)
            while b'"snapshot"' not in await ws.recv(decode=False):
                pass
        subscribed += 1
        if subscribed == connections:
            all_in.set()
        now = time.time
        while True:
            data = await ws.recv(decode=False)
            t = now()
            if data[9:15] != b"update":
                continue
            at = data.index(b'"seq":') + 6
            seq = int(data[at : data.index(b",", at)])
            at = data.index(b'"prev_seq":', at) + 11
            prev = int(data[at : data.index(b",", at)])
            times = received.get((prev, seq))
            if times is None:
                times = received[(prev, seq)] = array("d")
            times.append(t)
            updates[k] += 1

    tasks = [asyncio.create_task(one(k)) for k in range(connections)]
    await all_in.wait()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    import redis

    stored: dict[bytes, bytes] = redis.Redis.from_url(redis_url).hgetall("bench:placed")  # type: ignore[assignment]
    placed = {int(s): float(t) for s, t in stored.items()}
    histogram: Counter[int] = Counter()
    receipts = 0
    for (prev, seq), times in received.items():
        for s in range(prev + 1, seq + 1):
            at = placed.get(s)
            if at is None:
                continue
            for t in times:
                histogram[int((t - at) * 1000 / BUCKET_MS)] += 1
                receipts += 1
    print(
        json.dumps(
            {
                "histogram": dict(histogram),
                "receipts": receipts,
                "updates": sum(updates),
                "connections": connections,
            }
        ),
        flush=True,
    )
    return 0


# --- one run ---------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(histogram: Counter[int], total: int, q: float) -> float:
    want = q * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= want:
            return (bucket + 0.5) * BUCKET_MS
    return float("nan")


def run_once(args: argparse.Namespace, redis_url: str, n: int) -> dict[str, Any]:
    import redis

    from sneakers_app.embedded import free_port
    from trading.engine import RedisEngine
    from trading.orders import PlaceOrder, Side, TimeInForce

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    engine = RedisEngine(client)
    book = str(1_000_000 + n)
    engine.open_book(book)
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "FEED_PORT": str(port),
        "FEED_MAX_CONNECTIONS_PER_IP": str(n + 100),
        "FEED_SUBSCRIBE_DEADLINE_SECONDS": "600",
        "ENVIRONMENT": "development",
    }
    feed = subprocess.Popen(
        [sys.executable, "-m", "sneakers_app", "market-feed"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_raise_nofile,
    )
    clients: list[subprocess.Popen[str]] = []
    try:
        assert feed.stdout is not None
        assert "running at" in feed.stdout.readline()
        url = f"ws://127.0.0.1:{port}/api/v1/stream"
        procs = max(1, min(args.client_processes, n))
        for k in range(procs):
            share = n // procs + (1 if k < n % procs else 0)
            clients.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--client", url, str(share), redis_url, book],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        joined = time.monotonic()
        for proc in clients:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "READY", line
        join_s = time.monotonic() - joined
        load_before = os.getloadavg()[0]
        profile = _start_profile(args, feed.pid, n)
        cpu_before = _cpu_seconds(feed.pid)
        clients_before = sum(_cpu_seconds(p.pid) for p in clients)
        placed: dict[int, float] = {}
        started = time.monotonic()
        count = int(args.seconds * args.rate)
        for i in range(count):
            due = started + i / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.time()
            engine.place(
                PlaceOrder(
                    variant_id=book,
                    order_id=f"b{i}",
                    user_id=f"u{i % 7}",
                    side=Side.ASK,
                    price_cents=20_000 + (i % 200) * 10,
                    quantity=1,
                    time_in_force=TimeInForce.GTC,
                    expires_at=int(t0 * 1000) + 3_600_000,
                )
            )
            seq: bytes = client.hget(f"{{book:{book}}}:meta", "seq")  # type: ignore[assignment]
            placed[int(seq)] = t0
        rate = count / (time.monotonic() - started)
        time.sleep(2.0)  # what is on its way arrives
        elapsed = time.monotonic() - started
        cpu = (_cpu_seconds(feed.pid) - cpu_before) / elapsed
        clients_cpu = (sum(_cpu_seconds(p.pid) for p in clients) - clients_before) / elapsed
        load_after = os.getloadavg()[0]
        client.hset("bench:placed", mapping={str(s): repr(t) for s, t in placed.items()})
        histogram: Counter[int] = Counter()
        receipts = updates = 0
        for proc in clients:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        for proc in clients:
            assert proc.stdout is not None
            result = json.loads(proc.stdout.readline())
            histogram.update({int(k): v for k, v in result["histogram"].items()})
            receipts += result["receipts"]
            updates += result["updates"]
            proc.wait(30)
        _stop_profile(profile)
        expected = n * len(placed)
        return {
            "n": n,
            "p50": _percentile(histogram, receipts, 0.50),
            "p99": _percentile(histogram, receipts, 0.99),
            "max": (max(histogram) + 0.5) * BUCKET_MS if histogram else float("nan"),
            "updates_per_subscriber": updates / n,
            "orders": len(placed),
            "missed": expected - receipts,
            "rate": rate,
            "feed_cpu": cpu,
            "clients_cpu": clients_cpu,
            "join_s": join_s,
            "load": (load_before, load_after),
        }
    finally:
        for proc in clients:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        feed.terminate()
        try:
            feed.wait(15)
        except subprocess.TimeoutExpired:
            feed.kill()
            feed.wait()


def _start_profile(args: argparse.Namespace, pid: int, n: int) -> tuple[Any, Path] | None:
    if not args.profile:
        return None
    folder = Path(args.profile)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"feed-{n}.txt"
    proc = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "-o",
            str(out),
            "--duration",
            str(int(args.seconds)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, out


def _stop_profile(profile: tuple[Any, Path] | None) -> None:
    if profile is None:
        return
    proc, out = profile
    proc.wait(60)
    if not out.exists():
        print(f"  (py-spy wrote nothing to {out})")
        return
    own: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        total += int(samples)
        leaf = frames[-1]
        for frame in frames:  # the deepest frame of the feed or its libraries: what it does
            if "sneakers_app" in frame or "websockets" in frame or "redis" in frame:
                leaf = frame
        own[leaf.split(" (")[0] + " " + leaf.rsplit("/", 1)[-1].rstrip(")")] += int(samples)
    print(f"  feed profile ({total} samples; {out}):")
    for frame, count in own.most_common(12):
        print(f"    {100 * count / total:5.1f}%  {frame}")


def _line(r: dict[str, Any]) -> str:
    ok = "yes" if r["p99"] <= TARGET_P99_MS and r["missed"] == 0 else "no"
    return (
        f"| {r['n']:>6,} | {r['p50']:8.1f} ms | {r['p99']:8.1f} ms | {r['max']:8.1f} ms "
        f"| {r['updates_per_subscriber']:7.0f} / {r['orders']} | {r['missed']:>6} "
        f"| {100 * r['feed_cpu']:4.0f} % | {100 * r['clients_cpu']:4.0f} % "
        f"| {r['load'][0]:.1f}-{r['load'][1]:.1f} | {ok} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--search", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    _raise_nofile()
    from sneakers_app.embedded import start_redis

    server = start_redis()
    print(
        f"{args.rate:g} orders/s for {args.seconds:g} s per run, "
        f"subscribers in {args.client_processes} processes, {os.cpu_count()} cores"
    )
    print(
        "|      N |      p50    |      p99    |      max    | updates / orders | missed "
        "| feed CPU | clients' CPU | load | p99 <= 100 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    results: dict[int, dict[str, Any]] = {}
    try:
        for n in [int(x) for x in args.sizes.split(",") if x]:
            results[n] = run_once(args, server.url, n)
            print(_line(results[n]), flush=True)
        if args.search:
            good = [n for n, r in results.items() if r["p99"] <= TARGET_P99_MS]
            bad = [n for n, r in results.items() if r["p99"] > TARGET_P99_MS]
            low = max(good, default=0)
            high = min((n for n in bad if n > low), default=None)
            while high is not None and high - low > max(100, low // 8):
                mid = (low + high) // 2
                results[mid] = run_once(args, server.url, mid)
                print(_line(results[mid]), flush=True)
                if results[mid]["p99"] <= TARGET_P99_MS:
                    low = mid
                else:
                    high = mid
            print(f"largest N measured with p99 <= {TARGET_P99_MS:g} ms: {low:,}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        sys.exit(client_main(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))
    sys.exit(main())
