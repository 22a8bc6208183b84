"""Health and metrics of every process: `/healthz`, `/readyz`, `/metrics`.

- `/healthz`: the process is alive and serving (no dependency is asked).
- `/readyz`: the database, Redis and the Celery broker each answer within `CHECK_TIMEOUT_S`;
  503 with the ones that do not (`{"ready": false, "failing": ["redis"], ...}`).
- `/metrics`: Prometheus text. With several web workers (PROMETHEUS_MULTIPROC_DIR set) any
  worker's scrape sums every worker's counters (`scrape`); the facts of the database and of
  the broker's queue are computed at the scrape by `FactsCollector`, one cheap query each.

The Reflex backend serves the three paths itself (`api.py`); the journal consumer and the
Celery worker serve them on their own small HTTP server (`serve`, port from
CONSUMER_METRICS_PORT / WORKER_METRICS_PORT; 0 serves nothing).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kombu.transport.redis import PRIORITY_STEPS
from kombu.transport.redis import Channel as RedisChannel
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sneakers_app import metrics
from sneakers_app.settings import get_settings

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
Check = Callable[[], None]
"""A readiness check: returns when its part answers, raises otherwise."""


# -- readiness ------------------------------------------------------------------------------


def _database() -> None:
    from sqlalchemy import text

    from sneakers_app.db import get_db_engine

    with get_db_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


@lru_cache(maxsize=4)
def _probe_client(url: str) -> Any:
    """A Redis client of its own for the probes: short timeouts, so a Redis that hangs fails
    the check instead of holding it."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)


def _redis() -> None:
    _probe_client(get_settings().redis_url).ping()


def _broker() -> None:
    url = get_settings().broker_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        _probe_client(url).ping()
        return
    from kombu.connection import Connection

    with Connection(url, connect_timeout=CHECK_TIMEOUT_S) as connection:  # type: ignore[no-untyped-call]
        connection.ensure_connection(max_retries=1)


CHECKS: dict[str, Check] = {"database": _database, "redis": _redis, "broker": _broker}


def _run(check: Check) -> concurrent.futures.Future[None]:
    """`check` in a daemon thread of its own: a part that hangs holds only its own thread (a
    shared pool would fill up with them and leave the other parts' checks unstarted)."""
    future: concurrent.futures.Future[None] = concurrent.futures.Future()

    def target() -> None:
        try:
            check()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=target, name="readyz", daemon=True).start()
    return future


def readiness(checks: dict[str, Check] | None = None) -> dict[str, str]:
    """Each part's answer: "ok", or why not (the error, or that it did not answer in time).
    The checks run side by side, so the whole answer takes at most CHECK_TIMEOUT_S."""
    checks = checks or CHECKS
    futures = {name: _run(check) for name, check in checks.items()}
    done, _ = concurrent.futures.wait(futures.values(), timeout=CHECK_TIMEOUT_S)
    answers: dict[str, str] = {}
    for name, future in futures.items():
        if future not in done:
            answers[name] = f"no answer in {CHECK_TIMEOUT_S:g}s"
        elif (error := future.exception()) is not None:
            answers[name] = f"{type(error).__name__}: {error}"[:300]
        else:
            answers[name] = "ok"
    return answers


def ready_body(answers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """The /readyz status code and JSON body."""
    failing = [name for name, answer in answers.items() if answer != "ok"]
    body = {"ready": not failing, "failing": failing, "checks": answers}
    return (503 if failing else 200), body


# -- scrape ---------------------------------------------------------------------------------


class _Global(Collector):
    """This process's own metrics (single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def _forget_dead_workers(directory: Path) -> None:
    """A worker that died without a clean exit left its live gauges (sessions, loop lag) in
    the directory: drop those of processes that are gone (counters stay, so totals never go
    backwards)."""
    from prometheus_client import multiprocess

    pids = {
        int(part)
        for f in directory.glob("gauge_live*.db")
        if (part := f.stem.rsplit("_", 1)[-1]).isdigit()
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:
            continue


def scrape(*facts: Collector) -> bytes:
    """The Prometheus text of this process (or, in multiprocess mode, of every process writing
    to PROMETHEUS_MULTIPROC_DIR) plus `facts` computed now."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics.MULTIPROCESS and directory:
        from prometheus_client import multiprocess

        _forget_dead_workers(Path(directory))
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Global())
    for collector in facts:
        registry.register(collector)
    return generate_latest(registry)


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


class FactsCollector(Collector):
    """What the database and the broker hold right now, read at each scrape of a web worker:
    the verification backlog and its oldest order, payouts due and the oldest's age, and the
    Celery queue's depth. A part that does not answer is reported by
    `sneakers_scrape_failed{part}` and the rest is still served."""

    def collect(self) -> Iterator[Metric]:
        yield from self._guarded("database", self._database)
        yield from self._guarded("broker", self._queue)

    def _guarded(self, part: str, read: Callable[[], list[Metric]]) -> Iterator[Metric]:
        try:
            found = read()
        except Exception as exc:
            log.warning("metrics: %s not read: %r", part, exc)
            found = []
        yield from found
        failed = _gauge(
            "sneakers_scrape_failed",
            "1 when this scrape could not read the part",
            0.0 if found else 1.0,
            {"part": part},
        )
        yield failed

    @staticmethod
    def _database() -> list[Metric]:
        from sneakers_app.db import session_scope
        from sneakers_app.services import operations

        with session_scope() as session:
            backlog = operations.verification_backlog(session)
            due = operations.payouts_due(session)
        count = GaugeMetricFamily(
            "sneakers_verification_backlog",
            "Orders waiting on the authentication centre, by status",
            labels=["status"],
        )
        oldest = GaugeMetricFamily(
            "sneakers_verification_oldest_seconds",
            "How long the order waiting longest in each status has waited",
            labels=["status"],
        )
        for status, waiting in backlog.items():
            count.add_metric([status], waiting.count)
            oldest.add_metric([status], waiting.oldest_seconds)
        return [
            count,
            oldest,
            _gauge("sneakers_payouts_due", "Payouts owed to sellers, not yet paid", due.count),
            _gauge("sneakers_payouts_due_cents", "Their total, in cents", due.cents),
            _gauge(
                "sneakers_payouts_due_oldest_seconds",
                "How long the oldest payout due has waited",
                due.oldest_seconds,
            ),
        ]

    @staticmethod
    def _queue() -> list[Metric]:
        url = get_settings().broker_url
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return []
        with _probe_client(url).pipeline(transaction=False) as pipe:
            for key in CELERY_QUEUE_KEYS:
                pipe.llen(key)
            depth = sum(int(n) for n in pipe.execute())
        return [
            _gauge(
                "sneakers_celery_queue_depth",
                "Tasks waiting in the broker for a Celery worker",
                depth,
                {"queue": CELERY_QUEUE},
            )
        ]


CELERY_QUEUE = "celery"
"""Celery's default queue: every task goes there (routes only set the emails' priority)."""
CELERY_QUEUE_KEYS = tuple(
    CELERY_QUEUE + (f"{RedisChannel.sep}{step}" if step else "") for step in PRIORITY_STEPS
)
"""The Redis lists that hold it, one per priority step (kombu's): the emails wait in the last."""


# -- the web worker -------------------------------------------------------------------------

LOOP_TICK_S = 0.25
LOOP_WINDOW_S = 5.0


async def watch_worker(app: Any) -> None:
    """A lifespan task of each web worker: how late its event loop runs a timer (the worst in
    each window of LOOP_WINDOW_S) and how many tabs it holds. On the way out it forgets its
    live gauges, so a scrape of the workers left does not count them."""
    try:
        while True:
            worst = 0.0
            window_end = time.monotonic() + LOOP_WINDOW_S
            while time.monotonic() < window_end:
                before = time.monotonic()
                await asyncio.sleep(LOOP_TICK_S)
                worst = max(worst, time.monotonic() - before - LOOP_TICK_S)
                metrics.WEBSOCKET_SESSIONS.labels(tier=metrics.WEB).set(_sessions(app))
            metrics.EVENT_LOOP_LAG.labels(tier=metrics.WEB).set(worst)
    finally:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics.MULTIPROCESS and directory:
            from prometheus_client import multiprocess

            with contextlib.suppress(OSError):
                multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _sessions(app: Any) -> int:
    namespace = getattr(app, "event_namespace", None)
    return len(getattr(namespace, "sid_to_token", None) or {})


# -- the consumer's and the worker's own server ---------------------------------------------


def serve(port: int, *facts: Collector, host: str = "0.0.0.0") -> ThreadingHTTPServer | None:  # noqa: S104
    """/healthz, /readyz and /metrics on `port` in a daemon thread (0: nothing is served)."""
    if not port:
        return None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, b'{"alive": true}', "application/json")
            elif path == "/readyz":
                import json

                status, body = ready_body(readiness())
                self._send(status, json.dumps(body).encode(), "application/json")
            elif path == "/metrics":
                self._send(200, scrape(*facts), CONTENT_TYPE_LATEST)
            else:
                self._send(404, b"Not found", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:  # the process's work matters more than its metrics: say so, go on
        log.error("health and metrics not served: port %d: %s", port, exc)
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("health and metrics on port %d", port)
    return server
