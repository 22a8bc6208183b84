"""The marketplace's Prometheus metrics: every name in one place (docs/observability.md).

A leaf: it imports only `prometheus_client`, so a service, the engine adapter, the consumer and
the worker each count at their own boundary (one place per figure) and nothing here knows who
calls. Figures that are facts of the database or of a queue (verification backlog, payouts due,
queue depth, journal backlog) are not here: a collector computes them when /metrics is read
(`sneakers_app.health`).

Several web workers: with PROMETHEUS_MULTIPROC_DIR set before the process starts,
prometheus_client keeps each process's values in files there and a scrape of any worker sums
them (`health.scrape`). Gauges say how they add up across workers: a per-worker figure is
`liveall` (one series per process id), a count across the tier is `livesum`.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
"""Fixed when prometheus_client is imported: values live in files shared by the processes."""

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

ORDERS_PLACED = Counter(
    "sneakers_orders_placed",
    "Bids and asks the engine took (kind: listing rests in the book, immediate is Buy or Sell Now)",
    ["side", "kind"],
)
ORDERS_REFUSED = Counter(
    "sneakers_orders_refused",
    "Bids and asks refused, by reason (the field at fault, a rule, or the engine's code)",
    ["side", "reason"],
)
ENGINE_CALL_SECONDS = Histogram(
    "sneakers_engine_call_seconds",
    "One matching-engine script call (place, cancel, modify, expire, open_book, ...)",
    ["command", "outcome"],
    buckets=_FAST,
)
RATE_LIMITED = Counter(
    "sneakers_rate_limited",
    "Attempts refused by a rate limit (services/limits.py), by action and scope (user or ip)",
    ["action", "scope"],
)
SAGA_STEP_SECONDS = Histogram(
    "sneakers_saga_step_seconds",
    "One order-saga step (a Celery task), by its outcome: the step's status, retry or error",
    ["step", "outcome"],
    buckets=_SLOW,
)
SAGA_STEP_FAILURES = Counter(
    "sneakers_saga_step_failures",
    "Saga steps that raised (retried or given up), by exception class",
    ["step", "reason"],
)
JOURNAL_APPLIED = Counter(
    "sneakers_journal_entries_applied",
    "Journal entries this consumer applied to the database",
    ["consumer"],
)
JOURNAL_PARKED = Counter(
    "sneakers_journal_entries_parked",
    "Journal entries this consumer gave up on (dead letters, in the staff console)",
    ["consumer"],
)
JOURNAL_APPLY_AGE = Histogram(
    "sneakers_journal_apply_age_seconds",
    "How old an entry was (since the engine wrote it) when this consumer applied it",
    ["consumer"],
    buckets=_SLOW,
)
# The web worker's gauges carry a label so that their values are made only where they are set,
# in the workers: the supervisor that imports the app before forking them would otherwise show
# as one more (idle) worker.
WEBSOCKET_SESSIONS = Gauge(
    "sneakers_websocket_sessions",
    "Browser tabs connected to the web workers",
    ["tier"],
    multiprocess_mode="livesum",
)
EVENT_LOOP_LAG = Gauge(
    "sneakers_event_loop_lag_seconds",
    "How late this worker's event loop ran a timer, the worst in the last sampling window",
    ["tier"],
    multiprocess_mode="liveall",
)
WEB = "web"


def order_placed(side: str, *, immediate: bool) -> None:
    ORDERS_PLACED.labels(side=side, kind="immediate" if immediate else "listing").inc()


def order_refused(side: str, reason: str) -> None:
    ORDERS_REFUSED.labels(side=side, reason=reason or "invalid").inc()


def rate_limited(action: str, scope: str) -> None:
    RATE_LIMITED.labels(action=action, scope=scope).inc()
