"""The one Celery app. Tasks are thin: they take ids, re-read the world, call a service.

Every saga step is idempotent (it re-reads and locks the order and does nothing if the order has
moved on), so tasks are `acks_late` and safe to deliver twice. Retries happen only on named
transient errors, with backoff and a limit. Work that follows a commit (the next step, emails,
payouts) is an outbox row written in that commit (`services/outbox.py`), published by the
commit itself (`outbox_relay`) and by the `deliver_outbox` sweep; `sweep_orders` re-finds, from
the database, work whose task the broker lost.

Run alone: `celery -A sneakers_app.worker worker --beat --loglevel=info`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from sneakers_app import outbox_relay
from sneakers_app.db import get_engine as get_db_engine
from sneakers_app.models import Ask, Bid, Order, Payment, Payout, ProductVariant, utcnow
from sneakers_app.services import (
    accounts,
    email,
    journal,
    market,
    notifications,
    outbox,
    payments,
    saga,
    verification,
)
from sneakers_app.settings import get_settings
from sneakers_app.vocabulary import LISTING_OPEN
from trading.orders import ExpireOrders

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
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # A broker that does not answer fails a publish in seconds (the outbox keeps the work).
    broker_transport_options={"socket_connect_timeout": 3},
    beat_schedule={
        "deliver-outbox": {
            "task": "sneakers.deliver_outbox",
            "schedule": max(1.0, settings.OUTBOX_SWEEP_SECONDS),
        },
        "purge-outbox": {"task": "sneakers.purge_outbox", "schedule": 3600.0},
        "purge-expired-sessions": {"task": "sneakers.purge_expired_sessions", "schedule": 3600.0},
        "sweep-orders": {"task": "sneakers.sweep_orders", "schedule": 60.0},
        "expire-books": {"task": "sneakers.expire_books", "schedule": 60.0},
        "resubmit-unseen": {"task": "sneakers.resubmit_unseen", "schedule": 15.0},
        "repair-books": {"task": "sneakers.repair_books", "schedule": 10.0},
        "deadline-notices": {"task": "sneakers.deadline_notices", "schedule": 900.0},
        "send-account-links": {"task": "sneakers.send_unsent_links", "schedule": 60.0},
    },
)

TRANSIENT = (payments.PaymentTemporarilyUnavailable,)
STUCK_AFTER = timedelta(minutes=1)
EMAIL_LOST_AFTER = timedelta(minutes=15)
"""An email still unsent this long after its task was published is queued again (its task
retries for up to about 20 minutes on SMTP errors; `deliver_email` sends at most once)."""
EMAIL_SWEEP_WINDOW = timedelta(days=3)
PAYOUT_LOST_AFTER = timedelta(hours=1)
SETTLE_LOST_AFTER = timedelta(minutes=5)
PAYOUT_TASK = saga.PAYOUT_TASK
RELIST_TASK = "sneakers.relist_ask"
RELIST_LOST_AFTER = timedelta(minutes=5)


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
        _relist_later(session, result)
        session.commit()
    return result.status


def _relist_later(session: Session, result: saga.StepResult) -> None:
    """The buyer's payment failed: the seller's ask goes back on the book after this commit,
    and a buyer whose card is now blocked loses their resting bids."""
    if result.relist_ask_id is not None:
        key = relist_key(result.order_id)
        outbox.add(session, RELIST_TASK, result.relist_ask_id, result.order_id, key=key)
    if result.status == "payment_failed" and result.changed:
        order = session.get(Order, result.order_id)
        if order is not None:
            outbox.add(
                session,
                CANCEL_BIDS_TASK,
                order.buyer_id,
                key=f"cancel_bids:{result.order_id}",
            )


CANCEL_BIDS_TASK = "sneakers.cancel_bids_of_blocked_buyer"


@celery_app.task(name=CANCEL_BIDS_TASK)  # type: ignore[untyped-decorator]
def cancel_bids_of_blocked_buyer(user_id: int) -> int:
    """After a failed charge: a buyer whose card is now blocked loses their resting bids."""
    from sneakers_app.redis_client import get_engine

    with _session() as session:
        cancelled = market.cancel_bids_of_blocked_buyer(
            session=session, engine=get_engine(), user_id=user_id
        )
    return cancelled


def relist_key(order_id: int) -> str:
    return f"relist_ask:{order_id}"


@celery_app.task(name="sneakers.relist_ask")  # type: ignore[untyped-decorator]
def relist_ask(ask_id: int, order_id: int) -> bool:
    """Re-list the seller's ask of an order whose payment failed (once per order)."""
    from sneakers_app.redis_client import get_engine

    with _session() as session:
        placed = market.relist_ask(
            session=session, engine=get_engine(), ask_id=ask_id, reason_key=f"order-{order_id}"
        )
    return placed is not None


@saga_step("sneakers.enforce_ship_by")  # type: ignore[untyped-decorator]
def enforce_ship_by(order_id: int) -> str:
    with _session() as session:
        result = saga.enforce_ship_by(session=session, order_id=order_id)
        session.commit()
    return result.status


@saga_step("sneakers.finalize_failure")  # type: ignore[untyped-decorator]
def finalize_failure(order_id: int) -> str:
    with _session() as session:
        result = saga.finalize_failure(session=session, order_id=order_id)
        session.commit()
    return result.status


@saga_step("sneakers.settle_payment")  # type: ignore[untyped-decorator]
def settle_payment(order_id: int) -> str:
    """A payment outcome arrived by webhook: move the order on, or refund a voided one."""
    with _session() as session:
        result = saga.settle_late_payment(session=session, order_id=order_id)
        _relist_later(session, result)
        session.commit()
    return result.status


@celery_app.task(name="sneakers.complete_order")  # type: ignore[untyped-decorator]
def complete_order(order_id: int) -> str:
    with _session() as session:
        result = saga.complete(session=session, order_id=order_id)
        connect = session.exec(
            select(Payout.id).where(
                Payout.order_id == order_id,
                Payout.method == "stripe_connect",
                Payout.status == "pending",
            )
        ).first()
        if connect is not None:
            outbox.add(session, PAYOUT_TASK, connect, key=f"send_payout:{connect}")
        session.commit()
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


@celery_app.task(  # type: ignore[untyped-decorator]
    name="sneakers.send_link_email",
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
        ids = accounts.unsent_links(session=session)
        for link_id in ids:
            again(
                session,
                accounts.LINK_EMAIL_TASK,
                link_id,
                accounts.link_email_key(link_id),
                EMAIL_LOST_AFTER,  # longer than the task's own retries
            )
        session.commit()
    return len(ids)


@celery_app.task(name="sneakers.sweep_orders")  # type: ignore[untyped-decorator]
def sweep_orders() -> dict[str, int]:
    """Deadlines and repairs, re-found from the database, so a task the broker lost (or never
    got) is queued again: uncharged orders, missed ship-by dates, closed appeal windows,
    delivered orders not yet completed, payments that settled after their trade was voided,
    Stripe Connect payouts not sent, emails not sent. Every other active order waits on a
    person (the seller ships; staff receive, inspect, ship, deliver), shown in their queues.

    Each is an outbox row keyed like the original follow-up, queued again only when the last
    publish of that key is older than the task's own retries could still be running."""
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
        refunds = aliased(Payment)
        refund = select(refunds.id).where(refunds.order_id == Order.id, refunds.kind == "refund")
        unsettled = session.exec(
            select(Order.id)
            .join(Payment, col(Payment.order_id) == col(Order.id))
            .where(
                Order.status == "payment_failed",
                Payment.kind == "charge",
                Payment.status == "succeeded",
                ~refund.exists(),
            )
        ).all()
        relists = _not_relisted(session, now)
        payouts = session.exec(
            select(Payout.id).where(
                Payout.method == "stripe_connect",
                Payout.status == "pending",
                col(Payout.created_at) <= now - STUCK_AFTER,
            )
        ).all()
        emails = notifications.emails_pending(
            session=session,
            created_after=now - EMAIL_SWEEP_WINDOW,
            created_before=now - STUCK_AFTER,
        )
        for order_id in _ids(stuck):
            again(session, journal.CHARGE_TASK, order_id, journal.charge_key(order_id))
        for order_id in _ids(overdue):
            again(session, "sneakers.enforce_ship_by", order_id, f"enforce_ship_by:{order_id}")
        for order_id in _ids(final):
            again(session, "sneakers.finalize_failure", order_id, f"finalize_failure:{order_id}")
        for order_id in _ids(delivered):
            key = verification.complete_key(order_id)
            again(session, verification.COMPLETE_TASK, order_id, key)
        for order_id in _ids(unsettled):
            key = payments.settle_key(order_id)
            again(session, payments.SETTLE_TASK, order_id, key, SETTLE_LOST_AFTER)
        for order_id, ask_id in relists:
            outbox.add(
                session,
                RELIST_TASK,
                ask_id,
                order_id,
                key=relist_key(order_id),
                again_after=RELIST_LOST_AFTER,
            )
        for payout_id in _ids(payouts):
            again(session, PAYOUT_TASK, payout_id, f"send_payout:{payout_id}", PAYOUT_LOST_AFTER)
        for notification_id in emails:
            again(
                session,
                notifications.EMAIL_TASK,
                notification_id,
                notifications.email_key(notification_id),
                EMAIL_LOST_AFTER,
            )
        session.commit()
    return {
        "charge": len(stuck),
        "ship_by": len(overdue),
        "final": len(final),
        "complete": len(delivered),
        "settle": len(unsettled),
        "relist": len(relists),
        "payout": len(payouts),
        "email": len(emails),
    }


def _not_relisted(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(order, ask) of orders whose payment failed while the seller's ask could still be listed
    again, and it was not (`market.relist_ask` names the new row `relist-order-<order id>`)."""
    candidates = session.exec(
        select(Order.id, Order.ask_id)
        .join(Ask, col(Ask.id) == col(Order.ask_id))
        .where(
            Order.status == "payment_failed",
            Ask.time_in_force == "gtc",
            col(Ask.expires_at) > now,
        )
    ).all()
    keys = {
        f"relist-order-{order_id}": (order_id, ask_id)
        for order_id, ask_id in candidates
        if order_id is not None and ask_id is not None
    }
    if not keys:
        return []
    done = set(session.exec(select(Ask.client_key).where(col(Ask.client_key).in_(list(keys)))))
    return [pair for key, pair in keys.items() if key not in done]


def _ids(rows: Iterable[int | None]) -> list[int]:
    return [row for row in rows if row is not None]


def again(
    session: Session,
    task: str,
    arg: int,
    key: str,
    after: timedelta | None = None,
) -> None:
    """Queue re-found work, unless its task was published less than `after` (by default
    `STUCK_AFTER`) ago."""
    again_after = STUCK_AFTER if after is None else after
    outbox.add(session, task, arg, key=key, again_after=again_after)


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

    with _session() as session:
        return market.resubmit_unseen(session=session, engine=get_engine())


@celery_app.task(name="sneakers.deadline_notices")  # type: ignore[untyped-decorator]
def deadline_notices() -> int:
    """Bid-expiring notices 24 h ahead and ship-by reminders (each sent once)."""
    now = utcnow()
    soon = now + timedelta(hours=24)
    emails: list[int] = []
    with _session() as session:
        bids = session.exec(
            select(Bid).where(
                col(Bid.status).in_(LISTING_OPEN),
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
    return len(emails)


@celery_app.task(name="sneakers.purge_expired_sessions")  # type: ignore[untyped-decorator]
def purge_expired_sessions() -> int:
    """Housekeeping: ended sessions and old login attempts (idempotent)."""
    with _session() as session:
        removed = accounts.purge_expired_sessions(session=session)
        session.commit()
        return removed


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
