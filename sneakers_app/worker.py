"""The one Celery app. Tasks are thin: they take ids, re-read the world, call a service.

Every saga step is idempotent (it re-reads and locks the order and does nothing if the order has
moved on), so tasks are `acks_late` and safe to deliver twice. Retries happen only on named
transient errors, with backoff and a limit. Emails are enqueued after the commit that created
their notification.

Run alone: `celery -A sneakers_app.worker worker --beat --loglevel=info`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from celery import Celery
from sqlmodel import Session, col, select

from sneakers_app.db import get_engine as get_db_engine
from sneakers_app.models import Bid, Order, Payout, ProductVariant, utcnow
from sneakers_app.services import accounts, email, market, notifications, payments, saga
from sneakers_app.settings import get_settings
from trading.orders import ExpireOrders

settings = get_settings()

celery_app = Celery("sneakers", broker=settings.redis_url, backend=None)
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "purge-expired-sessions": {"task": "sneakers.purge_expired_sessions", "schedule": 3600.0},
        "sweep-orders": {"task": "sneakers.sweep_orders", "schedule": 60.0},
        "expire-books": {"task": "sneakers.expire_books", "schedule": 60.0},
        "resubmit-unseen": {"task": "sneakers.resubmit_unseen", "schedule": 15.0},
        "repair-books": {"task": "sneakers.repair_books", "schedule": 10.0},
        "deadline-notices": {"task": "sneakers.deadline_notices", "schedule": 900.0},
    },
)

TRANSIENT = (payments.PaymentTemporarilyUnavailable,)
STUCK_AFTER = timedelta(minutes=1)


def _session() -> Session:
    return Session(get_db_engine(), expire_on_commit=False)


def enqueue_emails(ids: Iterable[int]) -> None:
    for notification_id in ids:
        send_notification_email.delay(notification_id)


def saga_step(name: str) -> Any:
    """A saga step task: idempotent, so acks_late; retried with backoff on transient errors."""
    return celery_app.task(
        name=name,
        autoretry_for=TRANSIENT,
        retry_backoff=5,
        retry_backoff_max=600,
        max_retries=8,
    )


def _after(result: saga.StepResult) -> None:
    enqueue_emails(result.emails)
    if result.status == "delivered":
        complete_order.delay(result.order_id)


@saga_step("sneakers.charge_order")  # type: ignore[untyped-decorator]
def charge_order(order_id: int) -> str:
    with _session() as session:
        result = saga.charge(session=session, order_id=order_id)
        session.commit()
        if result.relist_ask_id is not None:
            from sneakers_app.redis_client import get_engine

            market.relist_ask(
                session=session,
                engine=get_engine(),
                ask_id=result.relist_ask_id,
                reason_key=f"order-{order_id}",
            )
    _after(result)
    return result.status


@saga_step("sneakers.enforce_ship_by")  # type: ignore[untyped-decorator]
def enforce_ship_by(order_id: int) -> str:
    with _session() as session:
        result = saga.enforce_ship_by(session=session, order_id=order_id)
        session.commit()
    _after(result)
    return result.status


@saga_step("sneakers.finalize_failure")  # type: ignore[untyped-decorator]
def finalize_failure(order_id: int) -> str:
    with _session() as session:
        result = saga.finalize_failure(session=session, order_id=order_id)
        session.commit()
    _after(result)
    return result.status


@saga_step("sneakers.settle_payment")  # type: ignore[untyped-decorator]
def settle_payment(order_id: int) -> str:
    """A payment outcome arrived by webhook: move the order on, or refund a voided one."""
    with _session() as session:
        result = saga.settle_late_payment(session=session, order_id=order_id)
        session.commit()
    _after(result)
    return result.status


@celery_app.task(name="sneakers.complete_order")  # type: ignore[untyped-decorator]
def complete_order(order_id: int) -> str:
    with _session() as session:
        result = saga.complete(session=session, order_id=order_id)
        session.commit()
        connect = session.exec(
            select(Payout.id).where(
                Payout.order_id == order_id,
                Payout.method == "stripe_connect",
                Payout.status == "pending",
            )
        ).first()
    _after(result)
    if connect is not None:
        send_payout.delay(connect)
    return result.status


@celery_app.task(  # type: ignore[untyped-decorator]
    name="sneakers.send_payout",
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
    name="sneakers.send_notification_email",
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


@celery_app.task(name="sneakers.sweep_orders")  # type: ignore[untyped-decorator]
def sweep_orders() -> dict[str, int]:
    """Deadlines and repairs: uncharged orders, missed ship-by dates, closed appeal windows,
    delivered orders not yet completed."""
    now = utcnow()
    with _session() as session:
        stuck = session.exec(
            select(Order.id).where(
                Order.status == "created", col(Order.created_at) <= now - STUCK_AFTER
            )
        ).all()
        overdue = session.exec(
            select(Order.id).where(Order.status == "awaiting_shipment", col(Order.ship_by) <= now)
        ).all()
        final = session.exec(
            select(Order.id).where(
                Order.status == "auth_failed",
                (col(Order.appeal_deadline) <= now) | col(Order.appeal_used).is_(True),
            )
        ).all()
        delivered = session.exec(select(Order.id).where(Order.status == "delivered")).all()
    for order_id in stuck:
        charge_order.delay(order_id)
    for order_id in overdue:
        enforce_ship_by.delay(order_id)
    for order_id in final:
        finalize_failure.delay(order_id)
    for order_id in delivered:
        complete_order.delay(order_id)
    return {
        "charge": len(stuck),
        "ship_by": len(overdue),
        "final": len(final),
        "complete": len(delivered),
    }


@celery_app.task(name="sneakers.expire_books")  # type: ignore[untyped-decorator]
def expire_books() -> int:
    """Sweep expired bids and asks out of every book; the journal consumer records them."""
    from sneakers_app.redis_client import get_engine

    engine = get_engine()
    with _session() as session:
        variant_ids = session.exec(select(ProductVariant.id)).all()
    expired = 0
    for variant_id in variant_ids:
        outcome: Any = engine.expire(ExpireOrders(variant_id=str(variant_id)))
        expired += int(getattr(outcome, "expired_quantity", 0))
    return expired


@celery_app.task(name="sneakers.repair_books")  # type: ignore[untyped-decorator]
def repair_books() -> list[int]:
    """Rebuild every book Redis lost or is behind on (services/books.py)."""
    from sneakers_app.redis_client import get_redis
    from sneakers_app.services import books

    with _session() as session:
        return books.ensure_all(session=session, client=get_redis())


@celery_app.task(name="sneakers.resubmit_unseen")  # type: ignore[untyped-decorator]
def resubmit_unseen() -> int:
    from sneakers_app.redis_client import get_engine

    emails: list[int] = []
    with _session() as session:
        sent = market.resubmit_unseen(session=session, engine=get_engine(), emails=emails)
    enqueue_emails(emails)
    return sent


@celery_app.task(name="sneakers.deadline_notices")  # type: ignore[untyped-decorator]
def deadline_notices() -> int:
    """Bid-expiring notices 24 h ahead and ship-by reminders (each sent once)."""
    now = utcnow()
    soon = now + timedelta(hours=24)
    emails: list[int] = []
    with _session() as session:
        bids = session.exec(
            select(Bid).where(
                col(Bid.status).in_(("open", "partially_filled")),
                Bid.time_in_force == "gtc",
                col(Bid.expires_at) > now,
                col(Bid.expires_at) <= soon,
            )
        ).all()
        for bid in bids:
            result = notifications.notify(
                session=session,
                user_id=bid.user_id,
                kind=notifications.Kind.BID_EXPIRING,
                context={"bid_id": bid.id, "price_cents": bid.price_cents},
                dedupe_key=f"bid_expiring:{bid.id}",
            )
            if result is not None and result.email_notification_id is not None:
                emails.append(result.email_notification_id)
        pending = session.exec(
            select(Order).where(
                Order.status == "awaiting_shipment",
                col(Order.ship_by) > now,
                col(Order.ship_by) <= soon,
            )
        ).all()
        for order in pending:
            result = notifications.notify(
                session=session,
                user_id=order.seller_id,
                kind=notifications.Kind.SHIP_BY_REMINDER,
                context={"order_id": order.id},
                dedupe_key=f"ship_by_reminder:{order.id}:{order.ship_by_extended}",
            )
            if result is not None and result.email_notification_id is not None:
                emails.append(result.email_notification_id)
        session.commit()
    enqueue_emails(emails)
    return len(emails)


@celery_app.task(name="sneakers.purge_expired_sessions")  # type: ignore[untyped-decorator]
def purge_expired_sessions() -> int:
    """Housekeeping: ended sessions and old login attempts (idempotent)."""
    with _session() as session:
        removed = accounts.purge_expired_sessions(session=session)
        session.commit()
        return removed
