"""The one Celery app. Tasks are thin: they take ids, open a session, call a service (the
sweeps' queries live in `services/sweeps.py`), commit.

Every saga step is idempotent (it re-reads and locks the order and does nothing if the order has
moved on), so tasks are `acks_late` and safe to deliver twice. Retries happen only on named
transient errors, with backoff and a limit. Work that follows a commit (the next step, emails,
payouts) is an outbox row written in that commit (`services/outbox.py`), published by the
commit itself (`outbox_relay`) and by the `deliver_outbox` sweep; `sweep_orders` re-finds, from
the database, work whose task the broker lost.

Run alone: `celery -A sneakers_app.worker worker --beat --loglevel=info`.
"""

from __future__ import annotations

import inspect
import time
from datetime import timedelta
from typing import Any

from celery import Celery, signals
from sqlmodel import Session

from sneakers_app import gc_tuning, health, logs, metrics, outbox_relay
from sneakers_app.db import get_db_engine
from sneakers_app.services import (
    accounts,
    api_requests,
    email,
    limits,
    market,
    notifications,
    outbox,
    payments,
    saga,
    sweeps,
)
from sneakers_app.settings import get_settings

settings = get_settings()

celery_app = Celery("sneakers", broker=settings.broker_url, backend=None)
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Saga steps mostly wait on Stripe and the database: threads overlap those waits (a
    # release-day drop's charges keep up with its fills, docs/drop.md).
    worker_pool="threads",
    worker_concurrency=max(1, settings.WORKER_CONCURRENCY),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # A broker that does not answer fails a publish at once, without retrying the connection
    # (every publish is an outbox row that the next sweep sends again): a commit's fast path
    # never holds the thread that committed for long.
    broker_transport_options={"socket_connect_timeout": 3, "max_retries": 0},
    beat_schedule={
        "deliver-outbox": {
            "task": "sneakers.deliver_outbox",
            "schedule": max(1.0, settings.OUTBOX_SWEEP_SECONDS),
        },
        "purge-outbox": {"task": "sneakers.purge_outbox", "schedule": 3600.0},
        "purge-expired-sessions": {"task": "sneakers.purge_expired_sessions", "schedule": 3600.0},
        "purge-api-requests": {"task": "sneakers.purge_api_requests", "schedule": 3600.0},
        "sweep-orders": {"task": "sneakers.sweep_orders", "schedule": 60.0},
        "expire-books": {"task": "sneakers.expire_books", "schedule": 60.0},
        "resubmit-unseen": {"task": "sneakers.resubmit_unseen", "schedule": 15.0},
        "repair-books": {"task": "sneakers.repair_books", "schedule": 10.0},
        "deadline-notices": {"task": "sneakers.deadline_notices", "schedule": 900.0},
        "send-account-links": {"task": "sneakers.send_unsent_links", "schedule": 60.0},
    },
)

TRANSIENT = (payments.PaymentTemporarilyUnavailable,)
EMAIL_PRIORITY = 9
"""The emails' priority on the broker. On Redis the worker takes priority 0 (every other task's)
first and 9 last, so a drop's charges never queue behind the notices' emails (docs/drop.md)."""
celery_app.conf.task_routes = {notifications.EMAIL_TASK: {"priority": EMAIL_PRIORITY}}
# How long re-found work waits before it is queued again (services/sweeps.py); read by
# `sweep_orders` at each run.
STUCK_AFTER = sweeps.STUCK_AFTER
EMAIL_LOST_AFTER = sweeps.EMAIL_LOST_AFTER
PAYOUT_LOST_AFTER = sweeps.PAYOUT_LOST_AFTER
SETTLE_LOST_AFTER = sweeps.SETTLE_LOST_AFTER
RELIST_LOST_AFTER = sweeps.RELIST_LOST_AFTER


def _session() -> Session:
    return Session(get_db_engine(), expire_on_commit=False)


def saga_step(name: str) -> Any:
    """A saga step task: idempotent, so acks_late; retried with backoff on transient errors."""
    return celery_app.task(
        name=name,
        autoretry_for=TRANSIENT,
        retry_backoff=5,
        retry_backoff_max=600,
        max_retries=8,
    )


@saga_step("sneakers.charge_order")  # type: ignore[untyped-decorator]
def charge_order(order_id: int) -> str:
    with _session() as session:
        result = saga.charge(session=session, order_id=order_id)
        saga.queue_after_failed_payment(session, result)
        session.commit()
    return result.status


@celery_app.task(name=saga.CANCEL_BIDS_TASK)  # type: ignore[untyped-decorator]
def cancel_bids_of_blocked_buyer(user_id: int) -> int:
    """After a failed charge: a buyer whose card is now blocked loses their resting bids."""
    from sneakers_app.redis_client import get_matching_engine

    with _session() as session:
        return market.cancel_bids_of_blocked_buyer(
            session=session, engine=get_matching_engine(), user_id=user_id
        )


@celery_app.task(name=saga.RELIST_TASK)  # type: ignore[untyped-decorator]
def relist_ask(ask_id: int, order_id: int) -> bool:
    """Re-list the seller's ask of an order whose payment failed (once per order)."""
    from sneakers_app.redis_client import get_matching_engine

    with _session() as session:
        placed = market.relist_ask(
            session=session,
            engine=get_matching_engine(),
            ask_id=ask_id,
            reason_key=f"order-{order_id}",
        )
    return placed is not None


@saga_step(sweeps.ENFORCE_SHIP_BY_TASK)  # type: ignore[untyped-decorator]
def enforce_ship_by(order_id: int) -> str:
    with _session() as session:
        result = saga.enforce_ship_by(session=session, order_id=order_id)
        session.commit()
    return result.status


@saga_step(sweeps.FINALIZE_FAILURE_TASK)  # type: ignore[untyped-decorator]
def finalize_failure(order_id: int) -> str:
    with _session() as session:
        result = saga.finalize_failure(session=session, order_id=order_id)
        session.commit()
    return result.status


@saga_step(payments.SETTLE_TASK)  # type: ignore[untyped-decorator]
def settle_payment(order_id: int) -> str:
    """A payment outcome arrived by webhook: move the order on, or refund a voided one."""
    with _session() as session:
        result = saga.settle_late_payment(session=session, order_id=order_id)
        saga.queue_after_failed_payment(session, result)
        session.commit()
    return result.status


@celery_app.task(name="sneakers.complete_order")  # type: ignore[untyped-decorator]
def complete_order(order_id: int) -> str:
    with _session() as session:
        result = saga.complete(session=session, order_id=order_id)
        saga.queue_connect_payout(session, order_id)
        session.commit()
    return result.status


@celery_app.task(  # type: ignore[untyped-decorator]
    name=saga.PAYOUT_TASK,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
)
def send_payout(payout_id: int) -> str:
    """Production payouts: a Stripe Connect transfer (manual payouts are paid by staff)."""
    with _session() as session:
        payout = saga.pay_out_connect(session=session, payout_id=payout_id)
        session.commit()
        return payout.status


@celery_app.task(  # type: ignore[untyped-decorator]
    name=notifications.EMAIL_TASK,
    autoretry_for=(email.EmailTransientError,),
    retry_backoff=10,
    retry_backoff_max=900,
    max_retries=6,
)
def send_notification_email(notification_id: int) -> bool:
    with _session() as session:
        sent = notifications.deliver_email(
            session=session,
            notification_id=notification_id,
            mailer=email.mailer_from_settings(),
        )
        session.commit()
    return bool(sent)


@celery_app.task(  # type: ignore[untyped-decorator]
    name=accounts.LINK_EMAIL_TASK,
    autoretry_for=(email.EmailTransientError,),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=6,
)
def send_link_email(link_id: int) -> bool:
    """A sign-up confirmation or password-reset link (the task carries only the row's id)."""
    with _session() as session:
        sent = accounts.deliver_link_email(
            session=session, link_id=link_id, mailer=email.mailer_from_settings()
        )
        session.commit()
    return bool(sent)


@celery_app.task(name="sneakers.send_unsent_links")  # type: ignore[untyped-decorator]
def send_unsent_links() -> int:
    """Links whose email was never sent (its task lost with the broker) are queued again."""
    with _session() as session:
        found = sweeps.requeue_unsent_links(session, lost_after=EMAIL_LOST_AFTER)
        session.commit()
    return found


@celery_app.task(name="sneakers.sweep_orders")  # type: ignore[untyped-decorator]
def sweep_orders() -> dict[str, int]:
    """Deadlines and repairs, re-found from the database, so a task the broker lost (or never
    got) is queued again (`sweeps.requeue_lost_work`)."""
    lost = sweeps.LostAfter(
        stuck=STUCK_AFTER,
        email=EMAIL_LOST_AFTER,
        payout=PAYOUT_LOST_AFTER,
        settle=SETTLE_LOST_AFTER,
        relist=RELIST_LOST_AFTER,
    )
    with _session() as session:
        counts = sweeps.requeue_lost_work(session, lost=lost)
        session.commit()
    return counts


@celery_app.task(name="sneakers.expire_books")  # type: ignore[untyped-decorator]
def expire_books() -> int:
    """Sweep expired bids and asks out of every book; the journal consumer records them."""
    from sneakers_app.redis_client import get_matching_engine

    with _session() as session:
        return sweeps.expire_books(session, engine=get_matching_engine())


@celery_app.task(name="sneakers.repair_books")  # type: ignore[untyped-decorator]
def repair_books() -> list[int]:
    """Rebuild every book Redis lost or is behind on (services/books.py)."""
    from sneakers_app.redis_client import get_redis
    from sneakers_app.services import books

    with _session() as session:
        return books.ensure_all(session=session, client=get_redis())


@celery_app.task(name="sneakers.resubmit_unseen")  # type: ignore[untyped-decorator]
def resubmit_unseen() -> int:
    from sneakers_app.redis_client import get_matching_engine

    with _session() as session:
        return market.resubmit_unseen(session=session, engine=get_matching_engine())


@celery_app.task(name="sneakers.deadline_notices")  # type: ignore[untyped-decorator]
def deadline_notices() -> int:
    """Bid-expiring notices 24 h ahead and ship-by reminders (each sent once)."""
    with _session() as session:
        emails = sweeps.deadline_notices(session)
        session.commit()
    return emails


@celery_app.task(name="sneakers.purge_expired_sessions")  # type: ignore[untyped-decorator]
def purge_expired_sessions() -> int:
    """Housekeeping: ended sessions and old login attempts (idempotent)."""
    with _session() as session:
        removed = accounts.purge_expired_sessions(session=session)
        session.commit()
        return removed


@celery_app.task(name="sneakers.purge_api_requests")  # type: ignore[untyped-decorator]
def purge_api_requests() -> int:
    """Housekeeping: the public API's kept answers to writes, after their 24 hours."""
    with _session() as session:
        return api_requests.purge(session=session)


@celery_app.task(name="sneakers.deliver_outbox")  # type: ignore[untyped-decorator]
def deliver_outbox() -> int:
    """The beat's outbox sweep (the web and consumer processes run one too)."""
    return int(outbox_relay.sweep().published)


@celery_app.task(name="sneakers.purge_outbox")  # type: ignore[untyped-decorator]
def purge_outbox() -> int:
    """Housekeeping: outbox rows delivered more than OUTBOX_KEEP_HOURS ago."""
    with _session() as session:
        removed = outbox.purge(session, keep=timedelta(hours=get_settings().OUTBOX_KEEP_HOURS))
        session.commit()
        return removed


# -- what the worker shows: logs with the task's ids, saga step metrics, /metrics -----------------

SAGA_STEPS = frozenset(
    {
        "sneakers.charge_order",
        payments.SETTLE_TASK,
        sweeps.ENFORCE_SHIP_BY_TASK,
        sweeps.FINALIZE_FAILURE_TASK,
        "sneakers.complete_order",
        saga.PAYOUT_TASK,
        saga.RELIST_TASK,
        saga.CANCEL_BIDS_TASK,
    }
)
"""The order saga's steps: each run's duration and outcome, and each failure, are counted."""
_started: dict[str, float] = {}
_log = logs.get_logger(__name__)


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _worker_started(**_kwargs: Any) -> None:
    logs.configure()
    health.serve(get_settings().WORKER_METRICS_PORT)


@signals.worker_ready.connect  # type: ignore[untyped-decorator]
def _worker_ready(**_kwargs: Any) -> None:
    limits.prepare()
    gc_tuning.freeze_startup()  # its pool's threads run the tasks in this process


@signals.worker_process_init.connect  # type: ignore[untyped-decorator]
def _child_started(**_kwargs: Any) -> None:
    logs.configure()
    limits.prepare()
    gc_tuning.freeze_startup()  # a prefork child runs the tasks


def _ids(task: Any, args: Any, kwargs: Any) -> dict[str, Any]:
    """The task's `*_id` arguments by name (order_id, payout_id, user_id...)."""
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in bound.arguments.items() if k.endswith("_id")}


@signals.task_prerun.connect  # type: ignore[untyped-decorator]
def _task_started(task_id: str, task: Any, args: Any = None, kwargs: Any = None, **_: Any) -> None:
    logs.clear()
    logs.bind(task=task.name, task_id=task_id, **_ids(task, args, kwargs))
    _started[task_id] = time.perf_counter()


@signals.task_postrun.connect  # type: ignore[untyped-decorator]
def _task_ended(
    task_id: str, task: Any, retval: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id, None)
    if started is None or task.name not in SAGA_STEPS:
        logs.clear()
        return
    if state == "SUCCESS":
        outcome = retval if isinstance(retval, str) and len(retval) <= 40 else "ok"
    else:
        outcome = "retry" if state == "RETRY" else "error"
    step = task.name.removeprefix("sneakers.")
    took = time.perf_counter() - started
    metrics.SAGA_STEP_SECONDS.labels(step=step, outcome=outcome).observe(took)
    _log.info("saga step", step=step, outcome=outcome, seconds=round(took, 4))
    logs.clear()


@signals.task_failure.connect  # type: ignore[untyped-decorator]
def _task_failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    _count_failure(sender, exception)


@signals.task_retry.connect  # type: ignore[untyped-decorator]
def _task_retried(sender: Any = None, reason: Any = None, **_: Any) -> None:
    _count_failure(sender, reason if isinstance(reason, BaseException) else None)


def _count_failure(task: Any, exception: BaseException | None) -> None:
    name = getattr(task, "name", "")
    if name in SAGA_STEPS:
        reason = type(exception).__name__ if exception is not None else "unknown"
        metrics.SAGA_STEP_FAILURES.labels(step=name.removeprefix("sneakers."), reason=reason).inc()
