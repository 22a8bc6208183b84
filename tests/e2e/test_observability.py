"""Health, metrics and logs of the running marketplace (docs/observability.md), against the
whole stack (tests/support/stack.py): real Redis, SQLite, localstripe, SMTP, the journal
consumer and a Celery worker serving their own /healthz, /readyz and /metrics, and the Reflex
backend with two workers in Prometheus multiprocess mode. Orders go through the backend's own
websocket protocol (tests/support/reflex_client.py), as a browser tab sends them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from sneakers_app import embedded
from sneakers_app.db import make_engine
from sneakers_app.models import Ask, Order, Product, ProductVariant, User
from state.auth import AuthFormState
from state.base import SessionState
from state.product import ProductState
from state.product_trade import TradeState
from tests.e2e.test_backend_faults_limits import run
from tests.support import polling, trade_dialog
from tests.support.reflex_client import Tab, state_name
from tests.support.stack import Stack, stack_parts

AUTH = state_name(AuthFormState)
SESSION = state_name(SessionState)
PRODUCT = state_name(ProductState)
TRADE = state_name(TradeState)
ANSWER = 60.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass(frozen=True)
class App:
    stack: Stack
    db: Engine
    consumer: str
    worker: str
    slug: str
    size: str
    variant_id: int


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    work = tmp_path_factory.mktemp("observe")
    (work / "prometheus").mkdir()
    consumer_port, worker_port = embedded.free_port(), embedded.free_port()
    settings = {
        "CONSUMER_METRICS_PORT": str(consumer_port),
        "WORKER_METRICS_PORT": str(worker_port),
        "LOG_FORMAT": "json",
        "RATE_LIMIT_ORDERS_USER": "4/minute",
    }
    with stack_parts(work, settings=settings) as stack:
        embedded.prepare(stack.env, ("seed", "open-books"))
        # two web workers sharing one metrics directory (the consumer and the worker count
        # alone: the directory is the web tier's)
        stack.start_app(
            reflex="backend",
            reflex_env={
                "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus"),
                "GRANIAN_WORKERS": "2",
            },
        )
        embedded.wait_for_port(consumer_port, what="the consumer's metrics")
        embedded.wait_for_port(worker_port, what="the worker's metrics")
        db = make_engine(stack.database_url)
        with Session(db) as session:
            # a size with the demo market maker's ask: a bid at that price trades at once
            product, variant = session.exec(
                select(Product, ProductVariant)
                .join(ProductVariant, col(ProductVariant.product_id) == col(Product.id))
                .join(Ask, col(Ask.variant_id) == col(ProductVariant.id))
                .where(col(Ask.status) == "open")
                .order_by(col(ProductVariant.id))
            ).first() or (None, None)
            assert product is not None and variant is not None and variant.id is not None
        yield App(
            stack=stack,
            db=db,
            consumer=f"http://127.0.0.1:{consumer_port}",
            worker=f"http://127.0.0.1:{worker_port}",
            slug=product.slug,
            size=variant.size,
            variant_id=variant.id,
        )
        db.dispose()


def get(url: str, timeout: float = 10.0) -> httpx.Response:
    # a new connection each time: the two web workers take turns at the port
    with httpx.Client(timeout=timeout) as client:
        return client.get(url, headers={"Connection": "close"})


def scrape(url: str) -> Samples:
    response = get(url + "/metrics")
    assert response.status_code == 200, response.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def eventually(probe: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    return polling.wait_for(what, probe, timeout, every=0.3)


# -- health -------------------------------------------------------------------------------------


def test_every_process_says_it_is_alive_and_ready(app: App) -> None:
    for base in (app.stack.url, app.consumer, app.worker):
        alive = get(base + "/healthz")
        assert alive.status_code == 200 and alive.json()["alive"] is True
        ready = get(base + "/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "ready": True,
            "failing": [],
            "checks": {"database": "ok", "redis": "ok", "broker": "ok"},
        }


def test_readyz_names_redis_and_the_broker_while_redis_does_not_answer(app: App) -> None:
    redis_process = app.stack.redis.process
    assert redis_process is not None
    os.kill(redis_process.pid, signal.SIGSTOP)
    try:
        for base in (app.stack.url, app.consumer, app.worker):
            ready = get(base + "/readyz")
            assert ready.status_code == 503, ready.text
            body = ready.json()
            # the broker is the same Redis here; the database still answers
            assert body["ready"] is False and body["failing"] == ["redis", "broker"], body
            assert body["checks"]["database"] == "ok"
            # alive all the same: a stopped Redis is no reason to restart the process
            assert get(base + "/healthz").status_code == 200
    finally:
        os.kill(redis_process.pid, signal.SIGCONT)
    eventually(lambda: get(app.stack.url + "/readyz").status_code == 200, "ready again")


# -- metrics ------------------------------------------------------------------------------------


def test_one_scrape_shows_both_web_workers(app: App) -> None:
    pids = eventually(
        lambda: (
            p
            if len(p := {get(app.stack.url + "/healthz").json()["pid"] for _ in range(20)}) == 2
            else None
        ),
        "two web workers answering",
    )

    def both_seen() -> bool:
        lag = {
            dict(ls).get("pid")
            for (n, ls), _ in scrape(app.stack.url).items()
            if n == "sneakers_event_loop_lag_seconds"
        }
        return lag == {str(p) for p in pids}

    # each worker writes its loop lag after its first window; any worker's scrape shows both,
    # and no other process (Granian's supervisor imports the app before forking the workers)
    eventually(both_seen, "both workers' event-loop lag in one scrape")
    samples = scrape(app.stack.url)
    assert ("sneakers_websocket_sessions", frozenset({("tier", "web")})) in samples
    assert value(samples, "sneakers_scrape_failed") == 0
    assert ("sneakers_verification_backlog", frozenset({("status", "received")})) in samples
    assert ("sneakers_payouts_due", frozenset()) in samples
    assert ("sneakers_celery_queue_depth", frozenset({("queue", "celery")})) in samples


def _orders(app: App) -> int:
    with Session(app.db) as session:
        return int(session.exec(select(func.count()).select_from(Order)).one())


def _lowest_ask(app: App) -> int:
    with Session(app.db) as session:
        price = session.exec(
            select(func.min(Ask.price_cents)).where(
                col(Ask.variant_id) == app.variant_id, col(Ask.status) == "open"
            )
        ).one()
    assert price is not None
    return int(price)


def test_a_bid_that_trades_is_counted_logged_and_charged(app: App) -> None:
    before = scrape(app.stack.url)
    consumer_before = scrape(app.consumer)
    orders_before = _orders(app)
    price = _lowest_ask(app)
    path = f"/product/{app.slug}"

    async def bid(tab: Tab, dollars: str) -> str:
        return await trade_dialog.submit(tab, kind="bid", size=app.size, price=dollars)

    async def scenario() -> None:
        tab = Tab(app.stack.url, path=path, query={"slug": app.slug, "size": app.size})
        await tab.open()
        await tab.send(
            AUTH, "log_in", form={"email": "buyer@demo.sneakers", "password": "demo-buyer-pass"}
        )
        await tab.wait_for(lambda u: (u.value(SESSION, "user_id") or 0) > 0, ANSWER)
        await tab.send(PRODUCT, "on_load")
        assert await bid(tab, "0.50") != ""  # under the lowest price: refused
        assert await bid(tab, f"{price / 100:.2f}") == ""
        await tab.close()

    run(scenario())
    eventually(lambda: _orders(app) > orders_before, "the trade's order")
    after = scrape(app.stack.url)
    moved = value(after, "sneakers_orders_placed_total", side="bid", kind="listing") - value(
        before, "sneakers_orders_placed_total", side="bid", kind="listing"
    )
    assert moved == 1
    refused = value(after, "sneakers_orders_refused_total", side="bid", reason="price") - value(
        before, "sneakers_orders_refused_total", side="bid", reason="price"
    )
    assert refused == 1
    calls = "sneakers_engine_call_seconds_count"
    assert value(after, calls, command="place", outcome="ok") > value(
        before, calls, command="place", outcome="ok"
    )

    # the consumer applied the entry and says how far behind it is
    def applied() -> Samples | None:
        now = scrape(app.consumer)
        name = "sneakers_journal_entries_applied_total"
        gone_up = value(now, name, consumer="stack") > value(
            consumer_before, name, consumer="stack"
        )
        return now if gone_up else None

    consumer_after = eventually(applied, "the consumer's applied count")
    assert value(consumer_after, "sneakers_journal_lag_entries", consumer="(not yet read)") == 0
    assert (
        "sneakers_journal_lag_seconds",
        frozenset({("consumer", "(not yet read)")}),
    ) in consumer_after

    # the consumer's log line of the new order is JSON carrying its id and the trade's
    with Session(app.db) as session:
        order_id = session.exec(select(func.max(Order.id))).one()
    line = eventually(
        lambda: _log_line(
            app.stack.work / "consumer.log", lambda x: order_id in (x.get("order_ids") or [])
        ),
        "the consumer's log line of the order",
    )
    assert line["level"] == "info" and line["trade_ids"] and line["book"] == str(app.variant_id)

    # the web worker's line of the placed bid carries the event's request, handler and user
    placed = eventually(
        lambda: _log_line(app.stack.work / "reflex.log", lambda x: x["event"] == "listing placed"),
        "the placed bid's log line",
    )
    assert placed["request_id"] and placed["event_handler"] == "trade_state.submit_trade"
    assert placed["user_id"] == _user_id(app, "buyer@demo.sneakers")
    assert (placed["side"], placed["status"]) == ("bid", "filled")

    # the worker charged it: one charge_order step measured
    def charged() -> bool:
        now = scrape(app.worker)
        return value(now, "sneakers_saga_step_seconds_count", step="charge_order") >= 1

    eventually(charged, "the charge step in the worker's metrics")
    step = eventually(
        lambda: _log_line(
            app.stack.work / "worker.log",
            lambda x: x["event"] == "saga step" and x.get("order_id") == order_id,
        ),
        "the worker's log line of the charge",
    )
    assert step["task"] == "sneakers.charge_order" and step["step"] == "charge_order"


def _log_line(log: Path, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The first JSON line of `log` that is `wanted` (every line that looks like JSON must be)."""
    for text in log.read_text().splitlines():
        if text.startswith("{") and wanted(line := json.loads(text)):
            return dict(line)
    return None


def _user_id(app: App, email: str) -> int:
    with Session(app.db) as session:
        user = session.exec(select(User).where(User.email == email)).one()
    assert user.id is not None
    return user.id


def test_rate_limit_refusals_are_counted(app: App) -> None:
    before = scrape(app.stack.url)

    async def scenario() -> None:
        tab = Tab(
            app.stack.url, path=f"/product/{app.slug}", query={"slug": app.slug, "size": app.size}
        )
        await tab.open()
        await tab.send(
            AUTH, "log_in", form={"email": "buyer@demo.sneakers", "password": "demo-buyer-pass"}
        )
        await tab.wait_for(lambda u: (u.value(SESSION, "user_id") or 0) > 0, ANSWER)
        for _ in range(5):  # RATE_LIMIT_ORDERS_USER=4/minute, some used by the test above
            assert await trade_dialog.submit(tab, kind="bid", size=app.size, price="0.50")
        # the open tab is counted by the worker holding it, within a sampling window
        await asyncio.to_thread(
            eventually,
            lambda: value(scrape(app.stack.url), "sneakers_websocket_sessions") >= 1,
            "the tab in the websocket sessions",
        )
        await tab.close()

    run(scenario())
    after = scrape(app.stack.url)
    name = "sneakers_rate_limited_total"
    assert value(after, name, action="orders", scope="user") > value(
        before, name, action="orders", scope="user"
    )
