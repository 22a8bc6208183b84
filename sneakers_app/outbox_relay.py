"""Delivers the outbox (`services/outbox.py`) to Celery.

Two ways, one mechanism:

- the fast path, right after a commit: `after_commit(session)` publishes the rows that session
  added (the webhook, a staff action, the journal consumer, a task that queues another);
- the sweep: every long-running process delivers whatever is left every
  `OUTBOX_SWEEP_SECONDS` (the journal consumer in a thread, the web backend as a lifespan task,
  Celery beat as the `sneakers.deliver_outbox` task), so rows a dead broker or a crash left
  behind leave as soon as the broker answers again.

Neither ever raises into its caller: the work is already committed, and a broker that is down
only delays it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kombu.exceptions import OperationalError
from sqlmodel import Session

from sneakers_app.db import get_engine
from sneakers_app.services import outbox
from sneakers_app.settings import get_settings

log = logging.getLogger(__name__)

TASK_PREFIX = "sneakers."


def publish(task: str, args: list[Any]) -> None:
    """Send one task to the broker (or run it at once when Celery is set to eager)."""
    from sneakers_app.worker import celery_app

    registered = celery_app.tasks.get(task)
    if registered is None or not task.startswith(TASK_PREFIX):
        raise LookupError(f"no task named {task!r}")
    try:
        registered.apply_async(args=args, retry=False)
    except (OperationalError, ConnectionError, OSError, TimeoutError) as exc:
        raise outbox.BrokerUnavailable(str(exc) or type(exc).__name__) from exc


def _session() -> Session:
    return Session(get_engine(), expire_on_commit=False)


def deliver_keys(keys: Sequence[str]) -> outbox.Delivery:
    """Publish the named rows now if they are due; whatever is not published waits for a sweep."""
    if not keys:
        return outbox.Delivery()
    try:
        with _session() as session:
            if len(keys) > outbox.BATCH:
                return outbox.deliver_all(session, publish)
            return outbox.deliver(session, publish, keys=list(keys))
    except Exception as exc:
        log.warning("outbox: could not deliver after the commit (a sweep will): %s", exc)
        return outbox.Delivery(error=str(exc))


def after_commit(session: Session) -> outbox.Delivery:
    """The fast path: call it after `session` committed (or after its `session_scope` ended)."""
    return deliver_keys(outbox.added_keys(session))


_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="outbox-fast-path")


def after_commit_soon(session: Session) -> None:
    """The fast path for the web backend's event handlers: in a worker thread, so a broker that
    is slow or down never holds the event loop every user's events run on."""
    keys = outbox.added_keys(session)
    if keys:
        _background.submit(deliver_keys, keys)


def deliver_keys_soon(keys: Sequence[str]) -> None:
    """`deliver_keys` in a worker thread (for the web backend's event handlers)."""
    if keys:
        _background.submit(deliver_keys, list(keys))


def sweep() -> outbox.Delivery:
    """Deliver every due row; never raises."""
    try:
        with _session() as session:
            done = outbox.deliver_all(session, publish)
    except Exception as exc:
        log.warning("outbox: sweep failed: %s", exc)
        return outbox.Delivery(error=str(exc))
    if done.broker_down:
        log.warning("outbox: broker unavailable, rows wait: %s", done.error)
    return done


def _interval() -> float:
    return max(0.5, float(get_settings().OUTBOX_SWEEP_SECONDS))


def start_sweeper(stop: threading.Event) -> threading.Thread:
    """A daemon thread that sweeps until `stop` is set (the journal consumer runs one)."""

    def loop() -> None:
        while not stop.wait(_interval()):
            sweep()

    thread = threading.Thread(target=loop, name="outbox-sweeper", daemon=True)
    thread.start()
    return thread


async def sweep_forever() -> None:
    """A lifespan task of the web backend: sweep in a worker thread, off the event loop."""
    while True:
        await asyncio.sleep(_interval())
        await asyncio.to_thread(sweep)
