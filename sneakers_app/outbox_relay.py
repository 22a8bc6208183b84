"""Delivers the outbox (`services/outbox.py`) to Celery.

Two ways, one mechanism:

- the fast path, on every commit: a session's `after_commit` event (registered once, for every
  session of the process, when this module is imported: the web app, the Celery worker and the
  journal consumer import it at start) calls `committed(session)`, which publishes exactly the
  rows that transaction added (`outbox.add` records their keys in `session.info`). Callers just
  commit and cannot forget. On a thread that runs an event loop (the web backend's event
  handlers) and wherever it was asked for (the whole web backend, the journal consumer's loop:
  `publish_in_background`) the publish goes to a worker thread, so a broker that is slow or down
  never holds them; anywhere else (a Celery task, the webhook's thread) it happens before
  `commit()` returns;
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
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from sneakers_app import db
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


def _session(engine: Engine | None = None) -> Session:
    return Session(engine or db.get_db_engine(), expire_on_commit=False)


def deliver_keys(keys: Sequence[str], engine: Engine | None = None) -> outbox.Delivery:
    """Publish the named rows (of `engine`'s database, the app's by default) now if they are
    due; whatever is not published waits for a sweep."""
    if not keys:
        return outbox.Delivery()
    try:
        with _session(engine) as session:
            if len(keys) > outbox.BATCH:
                return outbox.deliver_all(session, publish)
            return outbox.deliver(session, publish, keys=list(keys))
    except Exception as exc:
        log.warning("outbox: could not deliver after the commit (a sweep will): %s", exc)
        return outbox.Delivery(error=str(exc))


_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="outbox-fast-path")
_DELIVERED = "outbox_fast_path"
_whole_process = threading.Event()
_this_thread = threading.local()


def publish_in_background(*, whole_process: bool = False) -> None:
    """From now on the fast path of this thread (or of every thread of this process) runs in a
    worker thread, so the committing thread never waits on the broker: the web backend (its
    event loop, and the pools its handlers wait on for password hashing and Stripe calls) and
    the journal consumer's loop (a broker that is down must not slow the journal)."""
    if whole_process:
        _whole_process.set()
    else:
        _this_thread.background = True


def _in_background() -> bool:
    if _whole_process.is_set() or getattr(_this_thread, "background", False):
        return True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True  # an event loop runs on this thread: never block it


def committed(session: OrmSession) -> None:
    """The fast path, run by the session's `after_commit` event: publish the rows this
    transaction added; in a worker thread on an event loop or where `publish_in_background`
    asked for it. Never raises."""
    keys = outbox.added_keys(session)
    session.info.pop(_DELIVERED, None)
    if not keys:
        return
    try:
        engine = session.get_bind().engine  # the database the rows were written to
        if _in_background():
            _background.submit(deliver_keys, keys, engine)
        else:
            session.info[_DELIVERED] = deliver_keys(keys, engine)
    except Exception as exc:  # e.g. the process is shutting down: the sweep sends them
        log.warning("outbox: could not hand on the rows of a commit (a sweep will): %s", exc)


@event.listens_for(OrmSession, "after_commit")
def _publish_follow_ups(session: OrmSession) -> None:
    committed(session)


@event.listens_for(OrmSession, "after_rollback")
def _drop_follow_ups(session: OrmSession) -> None:
    rolled_back(session)


def rolled_back(session: OrmSession) -> None:
    """Run by the session's `after_rollback` event: the rows it added are gone."""
    outbox.added_keys(session)


def delivered(session: OrmSession) -> outbox.Delivery:
    """What the fast path published after `session`'s last commit (nothing when it added no
    rows, or handed them to a worker thread)."""
    done: outbox.Delivery = session.info.pop(_DELIVERED, outbox.Delivery())
    return done


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
    """A lifespan task of the web backend: sweep in a worker thread, off the event loop. The
    web backend's fast path runs in a worker thread too."""
    publish_in_background(whole_process=True)
    while True:
        await asyncio.sleep(_interval())
        await asyncio.to_thread(sweep)
