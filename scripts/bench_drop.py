"""Release-day drop benchmark: many buyers at once on one product, through the service layer.

    python scripts/bench_drop.py [--db sqlite,postgres] [--runs 1] [--seconds 5]
                                 [--processes 2] [--threads 8] [--celery-workers 1]
                                 [--sizes 4] [--asks 400]

For each database (SQLite in a temporary folder, PostgreSQL in a throwaway cluster) and run it
starts the parts of the marketplace as the tests do (tests/support/stack.py: redis-server,
localstripe, an SMTP sink, the migrated database), makes a market (one product in `--sizes`
sizes, sellers with payout details, one buyer per client thread with a card saved through
localstripe as the browser saves one and an address), starts the app's own journal consumer and
Celery worker (as the README runs it in production) processes, then:

1. sellers list `--asks` asks spread over the sizes (services.ticket.place, as the trade
   dialog does), and the journal consumer records them;
2. the anchor: the same clients (`--processes` processes of `--threads` threads) insert and
   commit one row each, as fast as they can, for `--seconds`, into a table of the same
   database: what one row per order costs on this machine, at this moment;
3. the drop: the same clients, for `--seconds`, each as its own buyer, do what the product page's
   trade dialog does on Confirm (ticket.top_of_book, ticket.refusal and ticket.place inside
   db.session_scope): Buy Now at the lowest ask of a random size (four in five), or a bid a few
   dollars around it (one in five; a bid when the size is sold out);
4. waits until every fill is a trade and an order whose charge was attempted (a `payments`
   row, by the worker through localstripe), and checks: nothing oversold (no ask sold twice,
   no size sold beyond its asks), every fill recorded exactly once (one trade, one order and
   one sale per engine trade; the trades the clients were told of are the trades recorded).

It prints, per run: placements per second and their p50/p99 latency, refusals by reason, the
anchor's inserts per second, the ratio, fills per second, the recording figures (time after the
drop until all was recorded, journal lag p50/p99: the order's creation after the engine's
match; charge attempted p50/p99 after the match) with /proc/loadavg before and after; where the
machine's CPU went from the clients' start until all was charged (each app process, PostgreSQL,
Redis, localstripe, the clients with the bench); on PostgreSQL what its sessions were doing
(pg_stat_activity every 10 ms, by process kind); then one JSON line per run holding every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

ASK_BASE_CENTS = 25_000
"""The first ask's price; asks step up a dollar per ask of a size."""
RECORD_TIMEOUT_S = 300.0
TARGET_RATIO, TARGET_P99_MS = 0.5, 50.0
"""Placement >= half the anchor's rate, with p99 <= 50 ms."""
TARGET_LAG_P99_S, TARGET_CHARGE_P99_S = 1.0, 2.0
"""Journal lag p99 <= 1 s; charges attempted within 2 s p99 of the match."""

Record = tuple[float, float, str, str, int, int]
"""(start wall-clock s, latency ms, kind, outcome, fills, SQL statements) of one attempt."""
_statements = threading.local()


def _count_statements(engine: Any) -> None:
    """Count the SQL statements each thread sends (commits included)."""
    from sqlalchemy import event

    def bump(*_args: Any) -> None:
        _statements.n = getattr(_statements, "n", 0) + 1

    event.listen(engine, "before_cursor_execute", bump)
    event.listen(engine, "commit", bump)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the clients: processes of threads, as web workers would be --------------------------------


def _drop_thread(
    buyer_id: int, variants: list[int], start: float, end: float, seed: int, out: list[Record]
) -> None:
    """One buyer at the trade dialog: Confirm, again and again, until `end`."""
    from sneakers_app import db
    from sneakers_app.services import market, ticket

    rng = random.Random(seed)
    time.sleep(max(0.0, start - time.time()))
    while (began := time.time()) < end:
        _statements.n = 0
        variant = rng.choice(variants)
        lowest_ask = ticket.now_price("buy", ticket.top_of_book(variant))
        kind = "buy" if lowest_ask and rng.random() < 0.8 else "bid"
        if kind == "buy":
            price = lowest_ask or 0
        else:
            near = lowest_ask or ASK_BASE_CENTS
            price = near + rng.randint(-10, 2) * 100
        fills = 0
        try:
            with db.session_scope() as session:
                order: dict[str, Any] = {"session": session, "user_id": buyer_id, "kind": kind}
                order |= {"variant_id": variant, "price_cents": price}
                refusal = ticket.refusal(**order)
                if refusal is not None:
                    outcome = f"refused: {refusal.message}"
                else:
                    placed = ticket.place(**order, client_key=uuid.uuid4().hex, expiry_days=30)
                    fills = placed.filled_quantity
                    outcome = placed.status
                    if placed.status == "cancelled":
                        outcome = f"refused: {placed.message}"
        except market.MarketError as exc:
            outcome = f"refused: {exc.message}"
        except Exception as exc:  # counted and shown: an error is a finding, not a crash
            outcome = f"error: {type(exc).__name__}: {str(exc)[:120]}"
        out.append((began, (time.time() - began) * 1000, kind, outcome, fills, _statements.n))


def _anchor_thread(engine: Any, start: float, end: float, tag: int, out: list[Record]) -> None:
    """One client inserting and committing one row at a time until `end`."""
    from sqlalchemy import text

    insert = text("INSERT INTO bench_anchor (client, at_ms) VALUES (:c, :t)")
    time.sleep(max(0.0, start - time.time()))
    while (began := time.time()) < end:
        with engine.connect() as conn:
            conn.execute(insert, {"c": tag, "t": int(began * 1000)})
            conn.commit()
        out.append((began, (time.time() - began) * 1000, "insert", "ok", 0, 2))


def _client_process(conn: Connection, job: dict[str, Any]) -> None:
    """A client process: imports the app and opens its connections, says it is ready, then
    runs `len(job['buyers'])` threads doing `job['what']` from the start time it is sent for
    `job['seconds']`; sends back every record."""
    os.environ.update(job["env"])
    from sneakers_app.db import get_db_engine
    from sneakers_app.redis_client import get_matching_engine
    from sneakers_app.services import market, ticket  # noqa: F401  (imported before the clock)

    engine = get_db_engine()
    _count_statements(engine)
    get_matching_engine().client.ping()
    with contextlib.ExitStack() as warm:  # one open connection per thread, as a warm server has
        for _ in job["buyers"]:
            warm.enter_context(engine.connect())
    conn.send("ready")
    start = conn.recv()
    job = {**job, "start": start, "end": start + job["seconds"]}
    records: list[Record] = []
    threads = []
    for i, buyer_id in enumerate(job["buyers"]):
        if job["what"] == "anchor":
            args: tuple[Any, ...] = (engine, job["start"], job["end"], buyer_id, records)
            threads.append(threading.Thread(target=_anchor_thread, args=args))
        else:
            seed = job["seed"] * 1000 + i
            args = (buyer_id, job["variants"], job["start"], job["end"], seed, records)
            threads.append(threading.Thread(target=_drop_thread, args=args))
    cpu = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send((records, time.process_time() - cpu))
    conn.close()


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Sample process `pid` with py-spy for `seconds` into `out` (collapsed stacks), if py-spy
    is installed (`pip install py-spy`; PY_SPY names the binary)."""
    binary = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not binary:
        print("  (py-spy not found: no profile)", flush=True)
        return None
    command = [binary, "record", "-p", str(pid), "-d", str(int(seconds) + 1), "-r", "200", "-s"]
    command += ["--format", "raw", "-o", str(out), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


CPU_SECONDS: dict[str, float] = {}
"""CPU seconds of the last run's client processes (all of them), by `run_clients`."""


def _stat_cpu(pid: int | str) -> tuple[str, float] | None:
    """(command name, CPU seconds: user + system, its own and its reaped children's) of a live
    process, from /proc; None when it is gone."""
    try:
        head, tail = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    except OSError:
        return None
    ticks = sum(int(f) for f in tail.split()[11:15])  # utime, stime, cutime, cstime
    return head.split("(", 1)[1], ticks / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` and its children so far used."""
    found = _stat_cpu(pid)
    return found[1] if found else 0.0


def _all_cpu() -> dict[int, tuple[str, float]]:
    """`_stat_cpu` of every live process."""
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat_cpu(entry.name)) is not None:
            out[int(entry.name)] = found
    return out


def _busy_cpu() -> float:
    """CPU seconds the machine's cores have been busy (all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """Where the machine's CPU went between `start` and `stop`: the named processes (and their
    children), PostgreSQL's processes together, and the rest of the machine (the bench itself,
    the client processes, anything else running), as CPU seconds."""

    def __init__(self, named: dict[str, int]) -> None:
        self.named = named
        self._before: dict[int, tuple[str, float]] = {}
        self._busy = 0.0
        self._began = 0.0
        self.spent: dict[str, float] = {}
        self.seconds = 0.0
        """The wall-clock seconds between `start` and `stop`."""

    def start(self) -> None:
        self._before, self._busy, self._began = _all_cpu(), _busy_cpu(), time.monotonic()

    def stop(self) -> dict[str, float]:
        after, busy = _all_cpu(), _busy_cpu()
        self.seconds = time.monotonic() - self._began
        by_pid = {pid: name for name, pid in self.named.items()}
        spent: dict[str, float] = {}
        for pid, (comm, cpu) in after.items():
            part = by_pid.get(pid) or ("postgres" if comm == "postgres" else None)
            if part is not None:
                spent[part] = spent.get(part, 0.0) + cpu - self._before.get(pid, (comm, 0.0))[1]
        spent["everything else"] = busy - self._busy - sum(spent.values())
        spent["machine busy"] = busy - self._busy
        self.spent = {k: round(v, 2) for k, v in spent.items()}
        return self.spent


def run_clients(
    job: dict[str, Any], processes: int, profile: dict[str, int] | None = None
) -> list[Record]:
    """`processes` client processes sharing `job['buyers']` (one thread each), started together
    a moment after all have imported the app. With `profile` (a folder under "dir" and the
    pids of the app's processes by name), py-spy samples the first client and those processes
    during the run."""
    ctx = mp.get_context("spawn")
    buyers: list[int] = job["buyers"]
    pipes, procs = [], []
    for p in range(processes):
        parent, child = ctx.Pipe()
        mine = {**job, "buyers": buyers[p::processes], "seed": job.get("seed", 0) * 100 + p}
        proc = ctx.Process(target=_client_process, args=(child, mine), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for parent in pipes:
        if parent.recv() != "ready":
            raise RuntimeError("a client process did not start")
    start = time.time() + 0.5
    for parent in pipes:
        parent.send(start)
    spies = []
    if profile is not None:
        folder = Path(str(profile.pop("dir")))
        time.sleep(max(0.0, start - time.time()))
        pids = {"client": procs[0].pid or 0, **profile}
        for name, pid in pids.items():
            spies.append(py_spy(pid, job["seconds"], folder / f"{job['what']}-{name}.txt"))
    records: list[Record] = []
    for parent in pipes:
        mine, cpu = parent.recv()
        records.extend(mine)
        CPU_SECONDS["clients"] = CPU_SECONDS.get("clients", 0.0) + cpu
    for proc in procs:
        proc.join(30)
    for spy in spies:
        if spy is not None:
            spy.wait(60)
    return records


# --- what PostgreSQL's sessions were doing ------------------------------------------------------

WAIT_SAMPLE_S = 0.01
_WAITS_SQL = (
    "SELECT application_name, state, coalesce(wait_event_type || ':' || wait_event, 'cpu'),"
    " left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' AND application_name LIKE 'drop-%'"
    " AND pid <> pg_backend_pid()"
)


class WaitSampler:
    """Samples pg_stat_activity every WAIT_SAMPLE_S from its own connection while it runs: per
    process kind (the `application_name` each process was started with, PGAPPNAME), how many of
    its sessions' samples were idle, idle in a transaction (the app's Python running between
    statements) or active, and the active ones by wait event ("cpu": running, or waiting for a
    core) and statement."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples = 0
        self.seen: Counter[tuple[str, str, str, str]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        import psycopg

        url = self.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True, application_name="bench-waits") as conn:
            while not self._stop.wait(WAIT_SAMPLE_S):
                for app, state, wait, query in conn.execute(_WAITS_SQL).fetchall():
                    kind = app.removeprefix("drop-")
                    if state == "active":
                        self.seen[(kind, "active", wait, query)] += 1
                    else:
                        self.seen[(kind, state or "?", "", "")] += 1
                self.samples += 1

    def summary(self) -> dict[str, Any]:
        """Per kind: average sessions in each state, and the active samples' top waits and
        statements (shares of that kind's active samples)."""
        out: dict[str, Any] = {}
        for kind in sorted({k[0] for k in self.seen}):
            mine = {k: n for k, n in self.seen.items() if k[0] == kind}
            states: Counter[str] = Counter()
            waits: Counter[str] = Counter()
            queries: Counter[str] = Counter()
            for (_, state, wait, query), n in mine.items():
                states[state] += n
                if state == "active":
                    waits[wait] += n
                    queries[query] += n
            active = max(1, states["active"])
            out[kind] = {
                "sessions": {s: round(n / max(1, self.samples), 2) for s, n in states.items()},
                "waits": {w: round(n / active, 2) for w, n in waits.most_common(5)},
                "statements": {q: round(n / active, 2) for q, n in queries.most_common(5)},
            }
        return out


# --- one run on one database ---------------------------------------------------------------------


def _make_market(sizes: int, sellers: int, buyers: int) -> dict[str, Any]:
    from sneakers_app.db import session_scope
    from sneakers_app.models import ProductVariant
    from sneakers_app.redis_client import get_matching_engine
    from sneakers_app.services import books
    from tests.faults.setup_market import _save_card, sellers_and_buyers
    from tests.support import factories

    with session_scope() as session:
        first = factories.variant(session, "8")
        product_id = session.get(ProductVariant, first).product_id  # type: ignore[union-attr]
        variants = [first]
        for k in range(1, sizes):
            v = ProductVariant(product_id=product_id, size=str(8 + k * 0.5), sort_order=k)
            session.add(v)
            session.flush()
            variants.append(v.id or 0)
        seller_ids, buyer_ids = sellers_and_buyers(session, sellers, buyers)
    for buyer_id in buyer_ids:
        _save_card(buyer_id)
    with session_scope() as session:
        books.open_all(session=session, engine=get_matching_engine())
    return {"variants": variants, "sellers": seller_ids, "buyers": buyer_ids}


def _list_asks(market: dict[str, Any], asks: int) -> None:
    """Sellers list `asks` asks round-robin over the sizes, from 8 threads."""
    from sneakers_app import db
    from sneakers_app.services import ticket

    variants, sellers = market["variants"], market["sellers"]

    def list_some(indices: range) -> None:
        for k in indices:
            with db.session_scope() as session:
                ticket.place(
                    session=session,
                    user_id=sellers[k % len(sellers)],
                    kind="ask",
                    variant_id=variants[k % len(variants)],
                    price_cents=ASK_BASE_CENTS + (k // len(variants)) * 100,
                    client_key=uuid.uuid4().hex,
                    expiry_days=30,
                )

    threads = [threading.Thread(target=list_some, args=(range(i, asks, 8),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _journal_drained(variants: list[int]) -> bool:
    """Every journal entry of these books delivered to the consumer group and acknowledged."""
    from sneakers_app.redis_client import get_redis
    from trading.keys import book_keys

    client = get_redis()
    for v in variants:
        stream = book_keys(str(v)).journal
        last = client.xinfo_stream(stream)["last-generated-id"]
        groups = {g["name"]: g for g in client.xinfo_groups(stream)}
        group = groups.get(b"db") or groups.get("db")
        if group is None or group["last-delivered-id"] != last or group["pending"]:
            return False
    return True


def _redis_calls() -> Counter[str]:
    """Calls so far per Redis command (INFO commandstats)."""
    from sneakers_app.redis_client import get_redis

    stats = get_redis().info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


def _wait(condition: Any, timeout: float, what: str) -> float:
    began = time.time()
    while not condition():
        if time.time() - began > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)
    return time.time() - began


def _recorded(engine: Any, variants: list[int]) -> tuple[int, int, int]:
    """(trades, orders, orders whose charge was attempted) of the drop."""
    from sqlalchemy import bindparam, text

    query = text(
        "SELECT (SELECT count(*) FROM trades WHERE variant_id IN :v),"
        " (SELECT count(*) FROM orders WHERE variant_id IN :v),"
        " (SELECT count(DISTINCT p.order_id) FROM payments p JOIN orders o ON o.id = p.order_id"
        "  WHERE o.variant_id IN :v AND p.kind = 'charge')"
    ).bindparams(bindparam("v", expanding=True))
    with engine.connect() as conn:
        row = conn.execute(query, {"v": variants}).one()
    return int(row[0]), int(row[1]), int(row[2])


def _seconds(value: Any) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def _audit(engine: Any, variants: list[int], fills_told: int) -> dict[str, Any]:
    """Oversold and recorded-once checks, and the lags of every trade of the drop."""
    from sqlalchemy import bindparam, text

    def rows(sql: str, **params: Any) -> list[Any]:
        query = text(sql).bindparams(bindparam("v", expanding=True))
        with engine.connect() as conn:
            return list(conn.execute(query, {"v": variants, **params}).all())

    problems: list[str] = []
    twice = rows(
        "SELECT ask_id, count(*) FROM trades WHERE variant_id IN :v GROUP BY ask_id"
        " HAVING count(*) > 1"
    )
    if twice:
        problems.append(f"{len(twice)} asks sold more than once")
    over = rows(
        "SELECT t.variant_id, count(*), (SELECT count(*) FROM asks a WHERE a.variant_id ="
        " t.variant_id) FROM trades t WHERE t.variant_id IN :v GROUP BY t.variant_id"
    )
    problems += [f"size {v} sold {n} of {a} asks" for v, n, a in over if n > a]
    per_trade = rows(
        "SELECT t.id, t.executed_at, (SELECT count(*) FROM orders o WHERE o.trade_id = t.id),"
        " (SELECT count(*) FROM sales s WHERE s.trade_id = t.id),"
        " (SELECT min(o.created_at) FROM orders o WHERE o.trade_id = t.id),"
        " (SELECT min(p.created_at) FROM payments p JOIN orders o ON o.id = p.order_id"
        "  WHERE o.trade_id = t.id AND p.kind = 'charge')"
        " FROM trades t WHERE t.variant_id IN :v"
    )
    not_once = [r[0] for r in per_trade if r[2] != 1 or r[3] != 1]
    if not_once:
        problems.append(f"{len(not_once)} trades without exactly one order and one sale")
    if len(per_trade) != fills_told:
        problems.append(f"{fills_told} fills told to buyers, {len(per_trade)} trades recorded")
    from sneakers_app.redis_client import get_redis
    from trading.journal import read_journal

    journal_trades = {
        t.trade_id for v in variants for e in read_journal(get_redis(), str(v)) for t in e.trades
    }
    recorded = {r[0] for r in rows("SELECT id FROM trades WHERE variant_id IN :v")}
    if journal_trades != recorded:
        problems.append(
            f"journal has {len(journal_trades)} trades, the database {len(recorded)}"
            f" ({len(journal_trades - recorded)} missing, {len(recorded - journal_trades)} extra)"
        )
    lags = [_seconds(r[4]) - _seconds(r[1]) for r in per_trade if r[4] is not None]
    charges = [_seconds(r[5]) - _seconds(r[1]) for r in per_trade if r[5] is not None]
    return {
        "problems": problems,
        "lags": lags,
        "charges": charges,
        "trade_times": [_seconds(r[1]) for r in per_trade],
        "order_times": [_seconds(r[4]) for r in per_trade if r[4] is not None],
    }


def _rate_stats(records: list[Record], seconds: float) -> dict[str, Any]:
    latencies = [r[1] for r in records]
    return {
        "count": len(records),
        "per_s": len(records) / seconds,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


def _peak_rate(times: list[float], window: float = 1.0) -> float:
    """The most events in any `window` seconds, per second."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / window


def run_one(args: argparse.Namespace, database: str, run: int) -> dict[str, Any]:
    from tests.support import servers
    from tests.support.stack import stack_parts

    clients = args.processes * args.threads
    with contextlib.ExitStack() as cleanup:
        work = Path(tempfile.mkdtemp(prefix="bench-drop-"))
        database_url = None
        if database == "postgres":
            pg = servers.start_postgres()
            cleanup.callback(pg.stop)
            database_url = pg.create_database("drop")
        stack = cleanup.enter_context(stack_parts(work, database_url=database_url))
        os.environ.update(stack.env)
        os.environ["PGAPPNAME"] = "drop-bench"  # how WaitSampler tells the processes apart
        from sneakers_app.db import get_db_engine
        from sneakers_app.redis_client import get_matching_engine, get_redis
        from sneakers_app.settings import get_settings

        for cached in (get_settings, get_db_engine, get_redis, get_matching_engine):
            cached.cache_clear()
        engine = get_db_engine()
        market = _make_market(args.sizes, args.sellers, clients)
        # the journal consumer, and the Celery worker as production runs it (README; its pool
        # and concurrency are the app's configuration, WORKER_CONCURRENCY)
        consume = [sys.executable, "-m", "sneakers_app", "consume-journal"]
        stack.processes.start("consumer", consume, env={"PGAPPNAME": "drop-consumer"})
        for n in range(args.celery_workers):  # as production scales them: more processes
            worker = [sys.executable, "-m", "celery", "-A", "sneakers_app.worker", "worker"]
            worker += ["--loglevel=warning", f"--hostname=drop{n + 1}@%h"]
            name = "worker" if n == 0 else f"worker{n + 1}"
            stack.processes.start(name, worker, env={"PGAPPNAME": "drop-worker"})
        variants = market["variants"]
        began = time.time()
        _list_asks(market, args.asks)
        asks_s = time.time() - began
        _wait(lambda: _journal_drained(variants), RECORD_TIMEOUT_S, "recording the asks")
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_anchor (id INTEGER PRIMARY KEY, client INTEGER,"
                    " at_ms BIGINT)"
                )
                if database == "sqlite"
                else text(
                    "CREATE TABLE bench_anchor (id BIGSERIAL PRIMARY KEY, client INTEGER,"
                    " at_ms BIGINT)"
                )
            )
        client_env = {**stack.env, "PGAPPNAME": "drop-client"}
        job = {"env": client_env, "buyers": market["buyers"], "seconds": args.seconds}
        load_before = loadavg()
        CPU_SECONDS.clear()
        anchor = run_clients({**job, "what": "anchor"}, args.processes)
        anchor_cpu = CPU_SECONDS.get("clients", 0.0)
        drop_job = {**job, "what": "drop", "variants": variants, "seed": run}
        profile: dict[str, Any] | None = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            profile = {"dir": f"{args.profile}/{database}"}
            Path(profile["dir"]).mkdir(exist_ok=True)
            profile |= {n: p.pid for n, p in stack.processes.processes.items()}
        commands_before = _redis_calls()
        app_pids = {n: p.pid for n, p in stack.processes.processes.items()}
        app_cpu = {n: process_cpu(pid) for n, pid in app_pids.items()}
        CPU_SECONDS.clear()
        named = {n: p.pid for n, p in stack.processes.processes.items()}
        named["localstripe"] = stack.stripe.process.pid
        if stack.redis.process is not None:
            named["redis"] = stack.redis.process.pid
        named["clients, SMTP sink and the bench"] = os.getpid()  # the clients exit and are reaped
        account = CpuAccount(named)  # the drop and its catch-up, machine-wide
        account.start()
        waits = WaitSampler(database_url) if database_url else None
        if waits is not None:  # through the drop and until all is recorded and charged
            waits.start()
            cleanup.callback(waits.stop)
        drop = run_clients(drop_job, args.processes, profile)
        redis_calls = _redis_calls() - commands_before
        cpu_per_attempt = {"clients": CPU_SECONDS.get("clients", 0.0)}
        cpu_per_attempt |= {n: process_cpu(pid) - app_cpu[n] for n, pid in app_pids.items()}
        if not drop:
            raise RuntimeError("the drop's clients placed nothing")
        drop_end = max(r[0] + r[1] / 1000 for r in drop)
        fills = sum(r[4] for r in drop)
        try:
            _wait(
                lambda: _recorded(engine, variants) == (fills, fills, fills),
                RECORD_TIMEOUT_S,
                "recording every fill",
            )
        except TimeoutError as exc:
            print(f"  {exc}: {_recorded(engine, variants)} of {fills}", flush=True)
        all_recorded_s = time.time() - drop_end
        cpu_spent = account.stop()
        if waits is not None:
            waits.stop()
        _wait(lambda: _journal_drained(variants), RECORD_TIMEOUT_S, "draining the journal")
        load_after = loadavg()
        audit = _audit(engine, variants, fills)
    errors = Counter(r[3] for r in drop if r[3].startswith("error"))
    refusals = Counter(r[3][len("refused: ") :] for r in drop if r[3].startswith("refused"))
    placed = [r for r in drop if not r[3].startswith("refused: ") or "Nothing was" in r[3]]
    drop_stats = _rate_stats(drop, args.seconds)
    anchor_stats = _rate_stats(anchor, args.seconds)
    trade_times = audit["trade_times"]
    return {
        "database": database,
        "run": run,
        "clients": f"{args.processes} processes x {args.threads} threads",
        "celery_workers": args.celery_workers,
        "load_before": load_before,
        "load_after": load_after,
        "asks_listed": args.asks,
        "asks_per_s": args.asks / asks_s,
        "drop": drop_stats,
        "placed": len(placed),
        "by_kind": dict(Counter(r[2] for r in drop)),
        "anchor": anchor_stats,
        "ratio": drop_stats["per_s"] / anchor_stats["per_s"] if anchor_stats["per_s"] else 0.0,
        "refusals": dict(refusals.most_common()),
        "errors": dict(errors.most_common(5)),
        "fills": fills,
        "fills_peak_per_s": _peak_rate(trade_times),
        "orders_peak_per_s": _peak_rate(audit["order_times"]),
        "all_recorded_after_drop_s": all_recorded_s,
        "lag_p50_s": percentile(audit["lags"], 0.5),
        "lag_p99_s": percentile(audit["lags"], 0.99),
        "charge_p50_s": percentile(audit["charges"], 0.5),
        "charge_p99_s": percentile(audit["charges"], 0.99),
        "problems": audit["problems"],
        "sql_per_attempt": sum(r[5] for r in drop) / max(1, len(drop)),
        "cpu_ms_per_attempt": {
            k: round(v * 1000 / max(1, len(drop)), 2) for k, v in cpu_per_attempt.items()
        },
        "anchor_client_cpu_ms_per_insert": anchor_cpu * 1000 / max(1, len(anchor)),
        "redis_calls_per_attempt": {
            k: round(n / max(1, len(drop)), 2) for k, n in redis_calls.most_common(8)
        },
        "cpu_seconds_drop_to_charged": cpu_spent,
        "seconds_drop_to_charged": account.seconds,
        "database_sessions": waits.summary() if waits is not None else {},
    }


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def show(r: dict[str, Any]) -> None:
    d, a = r["drop"], r["anchor"]
    print(
        f"\n{r['database']} run {r['run']}: {r['clients']}; load {r['load_before']} before,"
        f" {r['load_after']} after"
    )
    print(f"  asks listed: {r['asks_listed']} at {r['asks_per_s']:.0f}/s")
    print(
        f"  drop: {d['count']} attempts ({r['by_kind']}) = {d['per_s']:.0f}/s,"
        f" p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms"
    )
    print(
        f"  anchor (insert + commit of one row): {a['per_s']:.0f}/s, p50 {a['p50_ms']:.1f} ms,"
        f" p99 {a['p99_ms']:.1f} ms"
    )
    print(
        f"  ratio {r['ratio'] * 100:.1f}% ({_met(r['ratio'] >= TARGET_RATIO)});"
        f" p99 {_met(d['p99_ms'] <= TARGET_P99_MS)}"
    )
    for reason, n in r["refusals"].items():
        print(f"  refused {n}: {reason}")
    for reason, n in r["errors"].items():
        print(f"  ERROR {n}: {reason}")
    print(
        f"  fills: {r['fills']} (peak {r['fills_peak_per_s']:.0f}/s), orders written at up to"
        f" {r['orders_peak_per_s']:.0f}/s; all recorded and charged"
        f" {r['all_recorded_after_drop_s']:.2f} s after the drop"
    )
    print(
        f"  journal lag p50 {r['lag_p50_s']:.3f} s, p99 {r['lag_p99_s']:.3f} s"
        f" ({_met(r['lag_p99_s'] <= TARGET_LAG_P99_S)}); charge attempted p50"
        f" {r['charge_p50_s']:.3f} s, p99 {r['charge_p99_s']:.3f} s"
        f" ({_met(r['charge_p99_s'] <= TARGET_CHARGE_P99_S)})"
    )
    print(
        f"  per attempt: {r['sql_per_attempt']:.1f} SQL statements (commits included),"
        f" Redis commands {r['redis_calls_per_attempt']}"
    )
    print(
        f"  CPU ms per attempt (during the drop): {r['cpu_ms_per_attempt']};"
        f" the anchor's clients: {r['anchor_client_cpu_ms_per_insert']:.2f} ms per insert"
    )
    if "cpu_seconds_drop_to_charged" in r:
        wall = r["seconds_drop_to_charged"]
        print(
            f"  CPU seconds from the clients' start until all was charged ({wall:.1f} s, at most"
            f" {wall * (os.cpu_count() or 1):.1f} on {os.cpu_count()} cores):"
            f" {r['cpu_seconds_drop_to_charged']}"
        )
    for kind, seen in r.get("database_sessions", {}).items():
        print(f"  PostgreSQL sessions of the {kind} (mean per sample): {seen['sessions']}")
        print(f"    active by wait: {seen['waits']}")
        print(f"    active by statement: {seen['statements']}")
    print(
        "  checks: "
        + (
            "; ".join(r["problems"])
            if r["problems"]
            else "nothing oversold, every fill recorded once"
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--celery-workers", type=int, default=1, help="Celery worker processes (each its threads)"
    )
    parser.add_argument("--sizes", type=int, default=4)
    parser.add_argument("--sellers", type=int, default=8)
    parser.add_argument("--asks", type=int, default=400)
    parser.add_argument("--profile", help="a folder for py-spy's samples of the drop")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one run in a process of its own (a fresh app configuration)
        database, run = args.one.split(":")
        print(json.dumps(run_one(args, database, int(run))), flush=True)
        return 0
    results = []
    for run in range(1, args.runs + 1):
        for database in args.db.split(","):
            forward = [a for a in sys.argv[1:]]
            done = subprocess.run(
                [sys.executable, __file__, *forward, "--one", f"{database}:{run}"],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
            if done.returncode != 0 or not lines:
                print(f"{database} run {run} failed:\n{done.stdout[-3000:]}{done.stderr[-5000:]}")
                continue
            result = json.loads(lines[-1])
            show(result)
            results.append(result)
    print()
    for result in results:
        print(json.dumps(result))
    return 0 if all(not r["problems"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
