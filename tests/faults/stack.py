"""The whole marketplace on throwaway parts, with switches to break it.

`FaultStack` starts what the run command starts (PostgreSQL, redis-server with an append-only
file, localstripe, an SMTP server, the journal consumer, a Celery worker) as real processes, makes
a small market (one product in three sizes, sellers with payout details, buyers with a saved
card), and drives a stream of orders through `tests/faults/driver.py`, which calls the service
layer as the web backend does. Each fault is a method (kill -9 a process, lose Redis's data, stop
localstripe or PostgreSQL for a while); `recover_and_check` then does what beat and a supervisor
would do (restart what died, run the sweeps) until every invariant holds, and reports the figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from celery import Celery
from sqlalchemy import Engine, text

from sneakers_app.db import make_engine
from tests.support import polling, servers
from tests.support.stack import stack_parts
from trading.journal import read_journal

LATE_IOC_SECONDS = 15.0
SELLERS = 3
BUYERS = 4


@dataclass
class Report:
    scenario: str
    orders_sent: int = 0
    refused: int = 0
    errors: int = 0
    fills_reported: int = 0
    trades: int = 0
    orders: int = 0
    charges: int = 0
    recover_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.scenario}: {self.orders_sent} orders sent ({self.refused} refused, "
            f"{self.errors} errors), {self.fills_reported} fills reported, {self.trades} trades, "
            f"{self.orders} orders, {self.charges} charges; recovered in "
            f"{self.recover_seconds:.1f} s" + ("; " + "; ".join(self.notes) if self.notes else "")
        )


class FaultStack:
    def __init__(
        self, scenario: str, work: Path, *, separate_broker: bool = False, web: bool = False
    ) -> None:
        self.scenario = scenario
        self.work = work
        self.report = Report(scenario)
        self._stack = contextlib.ExitStack()
        self.drivers: list[subprocess.Popen[bytes]] = []
        self.engine_trade_ids: set[str] = set()
        self.flushed_at = 0.0
        try:
            self._start(separate_broker, web)
        except BaseException:
            self.close()
            raise

    # --- starting ----------------------------------------------------------------------------

    def _start(self, separate_broker: bool, web: bool) -> None:
        self.pg = servers.start_postgres()
        self._stack.callback(self.pg.stop)
        stack = self._stack.enter_context(
            stack_parts(
                self.work,
                database_url=self.pg.create_database("faults"),
                redis_appendonly="always",
                separate_broker=separate_broker,
                settings={"JOURNAL_CONSUMER_NAME": "faults"},
            )
        )
        self.stack = stack
        self.database_url = stack.database_url
        self.db: Engine = make_engine(self.database_url)
        self._stack.callback(self.db.dispose)
        self.redis, self.broker, self.stripe, self.smtp = (
            stack.redis,
            stack.broker,
            stack.stripe,
            stack.smtp,
        )
        self.env = stack.env
        done = self.run_app("tests.faults.setup_market", str(SELLERS), str(BUYERS))
        ids = json.loads(done.stdout.strip().splitlines()[-1])
        self.sellers: list[int] = ids["sellers"]
        self.buyers: list[int] = ids["buyers"]
        self.sca_buyer: int = ids["sca_buyer"]
        self.variants: list[int] = ids["variants"]
        self._stack.callback(self._stop_drivers)
        stack.start_app(reflex=None, worker_loglevel="info")
        if web:
            # The backend's HTTP routes (the Reflex backend mounts this same ASGI app): the
            # Stripe webhook, registered with localstripe as Stripe's dashboard would.
            web_port = servers.free_port()
            stack.processes.start(
                "web",
                [
                    *(sys.executable, "-m", "granian", "--interface", "asgi"),
                    *("--host", "127.0.0.1", "--port", str(web_port)),
                    "sneakers_app.api:api_app",
                ],
            )
            servers.wait_for_port(web_port)
            httpx.post(
                f"{self.stripe.url}/_config/webhooks/faults",
                json={
                    "url": f"http://127.0.0.1:{web_port}/api/stripe/webhook",
                    "secret": "whsec_localstripe",
                    "events": [
                        "payment_intent.succeeded",
                        "payment_intent.payment_failed",
                        "charge.refunded",
                    ],
                },
                timeout=10,
            ).raise_for_status()

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """The app's processes by name: the journal consumer, the worker (and the web routes)."""
        return self.stack.processes.processes

    def run_app(
        self, module: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.stack.run_app(module, *args, check=check, timeout=120)

    def start_process(self, name: str) -> None:
        self.stack.processes.start(name)

    def _stop_drivers(self) -> None:
        for driver in self.drivers:
            servers.stop(driver)

    def close(self) -> None:
        self._stack.close()

    # --- the order stream ----------------------------------------------------------------------

    @property
    def outcomes_path(self) -> Path:
        return self.work / "outcomes.jsonl"

    def start_stream(self, seconds: float, *, seed: int = 1, rate: float = 30.0) -> None:
        args = [sys.executable, "-m", "tests.faults.driver", "--seconds", str(seconds)]
        args += ["--rate", str(rate), "--seed", str(seed), "--out", str(self.outcomes_path)]
        args += ["--sellers", ",".join(map(str, self.sellers))]
        args += ["--buyers", ",".join(map(str, self.buyers))]
        args += ["--variants", ",".join(map(str, self.variants))]
        self.drivers.append(servers.spawn(args, self.env, self.work / f"driver-{seed}.log"))

    def buy_now(self, user_id: int) -> dict[str, Any]:
        """One Buy Now by `user_id` on the first size, through the service layer."""
        args = ["--buy-now", str(user_id), "--out", str(self.work / "one.jsonl")]
        args += ["--sellers", ",".join(map(str, self.sellers)), "--buyers", str(user_id)]
        args += ["--variants", str(self.variants[0])]
        self.run_app("tests.faults.driver", *args)
        lines = (self.work / "one.jsonl").read_text().splitlines()
        outcome: dict[str, Any] = json.loads(lines[-1])
        return outcome

    def wait_for(self, what: str, probe: Any, timeout: float = 60.0) -> Any:
        return polling.wait_for(what, probe, timeout)

    def authenticate_payment(self, intent_id: str) -> None:
        """The buyer passes 3-D Secure in the browser (localstripe's stripe.confirmCardPayment):
        Stripe then reports the success by webhook."""
        auth = ("sk_test_localstripe", "")
        intent = httpx.get(f"{self.stripe.url}/v1/payment_intents/{intent_id}", auth=auth)
        intent.raise_for_status()
        response = httpx.post(
            f"{self.stripe.url}/v1/payment_intents/{intent_id}/_authenticate",
            params={"success": "true"},
            json={"key": "pk_test_localstripe", "client_secret": intent.json()["client_secret"]},
            timeout=10,
        )
        response.raise_for_status()

    def wait_stream(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for driver in self.drivers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                driver.wait(timeout=max(1.0, deadline - time.monotonic()))
            assert driver.poll() is not None, "the order stream did not finish"

    def outcomes(self) -> list[dict[str, Any]]:
        if not self.outcomes_path.exists():
            return []
        return [json.loads(line) for line in self.outcomes_path.read_text().splitlines() if line]

    # --- faults ---------------------------------------------------------------------------------

    def kill9(self, name: str) -> None:
        self.stack.processes.kill9(name)

    def kill9_driver(self) -> None:
        """The web backend dies mid-request: its in-flight order was never answered."""
        driver = self.drivers[-1]
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()

    def snapshot_engine_trades(self) -> None:
        """Remember every trade the engine's journals hold now (before their data is lost)."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            for variant_id in self.variants:
                for entry in read_journal(client, str(variant_id)):
                    self.engine_trade_ids.update(t.trade_id for t in entry.trades)
        finally:
            client.close()

    def flush_redis(self) -> None:
        self.snapshot_engine_trades()
        self.flushed_at = time.time()
        client = redis.Redis.from_url(self.redis.url)
        try:
            client.flushall()
        finally:
            client.close()

    def pause(self, process: subprocess.Popen[bytes]) -> None:
        os.kill(process.pid, signal.SIGSTOP)

    def resume(self, process: subprocess.Popen[bytes]) -> None:
        os.kill(process.pid, signal.SIGCONT)

    def stop_postgres(self) -> None:
        self.pg.halt()

    def start_postgres(self) -> None:
        self.pg.start()

    # --- recovery and invariants -------------------------------------------------------------

    def send_task(self, name: str) -> None:
        """What beat does: put a periodic task on the broker for the worker."""
        app = Celery("faults", broker=self.broker.url)
        try:
            with app.connection_for_write() as conn:
                app.send_task(name, connection=conn)
        finally:
            app.close()

    def restart_dead(self) -> list[str]:
        """What a supervisor does: start again every process that exited."""
        restarted = [name for name, _code in self.stack.processes.exited()]
        for name in restarted:
            self.start_process(name)
        return restarted

    def recover_and_check(
        self, *, timeout: float = 120.0, allow_restarts: tuple[str, ...] = ()
    ) -> Report:
        """Run the sweeps (as beat would) until every invariant holds; fail with the problems
        left after `timeout`. A process that died by itself (not killed by the scenario) is a
        failure unless the scenario allows it."""
        started = time.monotonic()
        problems: list[str] = []
        sweeps_at = 0.0
        while time.monotonic() - started < timeout:
            died = [n for n, p in self.processes.items() if p.poll() is not None]
            unexpected = [n for n in died if n not in allow_restarts]
            assert not unexpected, f"{unexpected} exited by itself: see {self.work}"
            self.restart_dead()
            if time.monotonic() - sweeps_at > 5.0:
                for task in ("sneakers.resubmit_unseen", "sneakers.sweep_orders"):
                    with contextlib.suppress(Exception):
                        self.send_task(task)
                sweeps_at = time.monotonic()
            problems = self.problems()
            if not problems:
                break
            time.sleep(1.0)
        self.report.recover_seconds = time.monotonic() - started
        assert not problems, "invariants broken after recovery:\n" + "\n".join(problems[:40])
        ledger = self.run_app("sneakers_app", "ledger-check", check=False)
        assert ledger.returncode == 0, ledger.stdout + ledger.stderr
        return self.report

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params))

    def problems(self) -> list[str]:
        """Every broken invariant now (empty: all hold)."""
        outcomes = self.outcomes()
        trades = self._rows("SELECT id, bid_id, ask_id, quantity FROM trades")
        orders = self._rows("SELECT id, trade_id, status, ship_by FROM orders")
        charges = self._rows(
            "SELECT order_id, status FROM payments WHERE kind = 'charge' AND status = 'succeeded'"
        )
        self._count(outcomes, trades, orders, charges)
        filled_by_bid: Counter[int] = Counter()
        filled_by_ask: Counter[int] = Counter()
        for _trade_id, bid_id, ask_id, quantity in trades:
            filled_by_bid[bid_id] += quantity
            filled_by_ask[ask_id] += quantity
        return [
            *_reported_fill_problems(outcomes, filled_by_bid, filled_by_ask),
            *self._engine_problems(trades),
            *self._book_row_problems(filled_by_bid, filled_by_ask),
            *self._late_ioc_problems(),
            *_order_problems(trades, orders),
            *self._money_problems(charges),
            *self._stripe_problems(),
        ]

    def _count(
        self,
        outcomes: list[dict[str, Any]],
        trades: list[Any],
        orders: list[Any],
        charges: list[Any],
    ) -> None:
        report = self.report
        report.orders_sent = len(outcomes)
        report.refused = sum(1 for o in outcomes if o.get("refused"))
        report.errors = sum(1 for o in outcomes if not o["ok"] and not o.get("refused"))
        report.fills_reported = sum(o.get("filled", 0) for o in outcomes if o["ok"])
        report.trades = len(trades)
        report.orders = len(orders)
        report.charges = len(charges)

    def _engine_problems(self, trades: list[Any]) -> list[str]:
        """Every engine fill is a trade."""
        self.snapshot_engine_trades_quietly()
        trade_ids = {t[0] for t in trades}
        return [
            f"engine trade {missing} is not in the database"
            for missing in sorted(self.engine_trade_ids - trade_ids)
        ]

    def _book_row_problems(
        self, filled_by_bid: Counter[int], filled_by_ask: Counter[int]
    ) -> list[str]:
        """The rows agree with the trades; nothing oversold; every open row reached the engine."""
        out: list[str] = []
        for table, by in (("bids", filled_by_bid), ("asks", filled_by_ask)):
            for row_id, quantity, filled in self._rows(
                f"SELECT id, quantity, filled_quantity FROM {table}"
            ):
                if filled != by[row_id]:
                    out.append(f"{table} {row_id}: filled {filled}, trades say {by[row_id]}")
                if by[row_id] > quantity:
                    out.append(f"{table} {row_id}: {by[row_id]} sold of {quantity}")
        unseen = self._rows(
            "SELECT 'bid', id FROM bids WHERE NOT engine_accepted AND status IN "
            "('open', 'partially_filled') UNION ALL SELECT 'ask', id FROM asks WHERE NOT "
            "engine_accepted AND status IN ('open', 'partially_filled')"
        )
        out.extend(f"{side} {row_id} was never sent to the engine" for side, row_id in unseen)
        return out

    def _late_ioc_problems(self) -> list[str]:
        """A Buy Now or Sell Now the engine did not see at once is never sent late: the user was
        told it failed, and may already have tried again."""
        out: list[str] = []
        for row_id, late in self._rows(
            "SELECT b.id, MAX(t.executed_at) - MIN(b.created_at) FROM bids b JOIN trades t "
            "ON t.bid_id = b.id WHERE b.time_in_force = 'ioc' GROUP BY b.id"
        ):
            if late is not None and _seconds(late) > LATE_IOC_SECONDS:
                out.append(f"Buy Now bid {row_id} filled {_seconds(late):.0f} s after it was made")
        return out

    def _money_problems(self, charges: list[Any]) -> list[str]:
        """Money that arrived for a voided order went back; nothing charged twice."""
        out: list[str] = []
        for order_id, charged, refunded in self._rows(
            "SELECT o.id, SUM(CASE WHEN p.kind = 'charge' AND p.status = 'succeeded' "
            "THEN p.amount_cents ELSE 0 END), SUM(CASE WHEN p.kind = 'refund' AND p.status = "
            "'succeeded' THEN p.amount_cents ELSE 0 END) FROM orders o JOIN payments p ON "
            "p.order_id = o.id WHERE o.status IN ('payment_failed', 'cancelled') GROUP BY o.id"
        ):
            if charged != refunded:
                out.append(f"voided order {order_id}: {charged} charged, {refunded} refunded")
        per_order: Counter[int] = Counter(c[0] for c in charges)
        out.extend(f"order {o} charged {n} times" for o, n in per_order.items() if n > 1)
        return out

    def snapshot_engine_trades_quietly(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.snapshot_engine_trades()

    def _stripe_problems(self) -> list[str]:
        """localstripe's own records: one idempotency key per order. (localstripe does not
        replay same-key requests as Stripe does, so two intents under one key are counted
        as the retries they are, not as two charges.)"""
        try:
            intents = _list_all(self.stripe.url, "payment_intents")
        except httpx.HTTPError as exc:
            return [f"localstripe unreadable: {exc}"]
        keys: dict[str, set[str]] = defaultdict(set)
        same_key = 0
        seen: Counter[str] = Counter()
        for intent in intents:
            if intent.get("status") != "succeeded":
                continue
            meta = intent.get("metadata") or {}
            keys[meta.get("order_id", "?")].add(meta.get("idempotency_key", "?"))
            seen[meta.get("idempotency_key", "?")] += 1
        same_key = sum(n - 1 for n in seen.values() if n > 1)
        self.report.notes = [n for n in self.report.notes if "same-key" not in n]
        if same_key:
            self.report.notes.append(f"{same_key} same-key retries reached localstripe")
        return [
            f"order {order} charged in Stripe under {len(k)} keys"
            for order, k in keys.items()
            if len(k) > 1
        ]


def _reported_fill_problems(
    outcomes: list[dict[str, Any]], filled_by_bid: Counter[int], filled_by_ask: Counter[int]
) -> list[str]:
    """Every fill a user was told of is a trade of that order."""
    out: list[str] = []
    for o in outcomes:
        if o["ok"] and o.get("filled"):
            by = filled_by_bid if o["side"] == "bid" else filled_by_ask
            if by[o["row_id"]] < o["filled"]:
                out.append(f"{o['side']} {o['row_id']} was reported filled; no trade has it")
    return out


def _order_problems(trades: list[Any], orders: list[Any]) -> list[str]:
    """One order per unit of each trade; every order has its next step: charged and waiting
    for the seller with a ship-by date, or ended."""
    out: list[str] = []
    units: Counter[str] = Counter(o[1] for o in orders)
    for trade_id, _b, _a, quantity in trades:
        if units[trade_id] != quantity:
            out.append(f"trade {trade_id}: {units[trade_id]} orders for {quantity} units")
    for order_id, _trade_id, status, ship_by in orders:
        if status == "awaiting_shipment" and ship_by is not None:
            continue
        if status in ("payment_failed", "cancelled"):
            continue
        out.append(f"order {order_id} is {status} (ship_by {ship_by})")
    return out


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def _list_all(base: str, resource: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if after:
            params["starting_after"] = after
        response = httpx.get(
            f"{base}/v1/{resource}", params=params, auth=("sk_test_localstripe", ""), timeout=10
        )
        response.raise_for_status()
        body = response.json()
        out.extend(body["data"])
        if not body.get("has_more") or not body["data"]:
            return out
        after = body["data"][-1]["id"]
