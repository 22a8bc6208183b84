"""Instructions per order the book scripts cost inside Redis, counted with callgrind.

    python scripts/bench_instructions.py [--orders N] [--stream KIND] [--scripts DIR ...]

Wall time on a shared VM drifts by 10-30% within minutes; instruction counts repeat to about
0.2%, so this is how changes to the Lua scripts are compared (docs/trading.md, "Where the time
goes"). It runs redis-server under `valgrind --tool=callgrind`, counting only inside EVALSHA,
sends the bench's stream of orders (trading/bench.py) and prints the instructions per order.

Streams: `batched` (the bench's stream through place_many, 500 orders per script call), `rest`
(the same orders, every one a GTC bid: all rest), `distinct-expiry` (`batched` with a different
expires_at for every order), `sequential` (one place per script call), `cancel` (a refused
cancel per call: the fixed cost of a command). `--scripts DIR` compares against another copy
of trading/lua (a directory holding any of its files; `current` for this checkout's): one line
per copy. Needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from tests.support import servers  # noqa: E402
from trading import bench  # noqa: E402
from trading import scripts as book_scripts  # noqa: E402
from trading.orders import CancelOrder, PlaceOrder, Side, TimeInForce  # noqa: E402

STREAMS = ("batched", "rest", "distinct-expiry", "sequential", "cancel")


def use_scripts(directory: str) -> None:
    """Build the book script from `directory`'s Lua files (this checkout's for the others)."""

    def read(name: str) -> str:
        path = Path(directory) / f"{name}.lua"
        if directory == "current" or not path.exists():
            return book_scripts._read(name)
        return book_scripts.order_slots(path.read_text())

    built = book_scripts.build(read)
    book_scripts.SCRIPTS.clear()
    book_scripts.SCRIPTS.update(built)


def stream(kind: str, n: int) -> list[PlaceOrder]:
    orders = bench.orders(n, book="b", prefix="p")
    if kind == "rest":
        horizon = bench.NOW + 30 * 86_400_000
        orders = [
            dataclasses.replace(o, side=Side.BID, time_in_force=TimeInForce.GTC, expires_at=horizon)
            for o in orders
        ]
    if kind == "distinct-expiry":
        orders = [
            dataclasses.replace(o, expires_at=o.expires_at + i) if o.expires_at else o
            for i, o in enumerate(orders)
        ]
    return orders


def count(kind: str, n: int) -> float:
    """Run `n` orders of stream `kind` against a redis-server under callgrind."""
    port = servers.free_port()
    work = Path(tempfile.mkdtemp(prefix="sneakers-callgrind-"))
    out = work / "callgrind.out"
    proc = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--toggle-collect=evalShaCommand",
            str(servers.REDIS_SERVER),
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        servers.wait_for_port(port, 120)
        client: Any = redis.Redis(port=port)
        engine = bench.engine(client)
        engine.open_book("b")
        orders = stream(kind, n)
        if kind == "sequential":
            for o in orders:
                engine.place(o)
        elif kind == "cancel":
            for i in range(n):
                engine.cancel(CancelOrder(variant_id="b", order_id=f"x{i}", user_id="u1"))
        else:
            for at in range(0, n, 5000):
                engine.place_many(orders[at : at + 5000], batch_size=500)
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # SHUTDOWN closes the connection
    finally:
        proc.wait(timeout=300)
    text = subprocess.run(
        ["callgrind_annotate", str(out)], capture_output=True, text=True, check=True
    ).stdout
    shutil.rmtree(work, ignore_errors=True)
    found = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text)
    if not found:
        raise RuntimeError("callgrind_annotate printed no total")
    return int(found.group(1).replace(",", "")) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--orders", type=int, default=20_000, help="orders per run (sequential, cancel: 2,000 max)"
    )
    parser.add_argument("--stream", choices=STREAMS, default="batched")
    parser.add_argument("--scripts", nargs="+", default=["current"], help="copies of trading/lua")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    n = args.orders if args.stream not in ("sequential", "cancel") else min(args.orders, 2_000)
    print(f"stream {args.stream}, {n} orders, redis-server {servers.REDIS_SERVER}")
    for directory in args.scripts:
        use_scripts(directory)
        print(f"{directory:40s} {count(args.stream, n):10,.0f} instructions per order", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
