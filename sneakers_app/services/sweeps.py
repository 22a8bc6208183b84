"""The beat's sweeps: which rows need action, found from the database.

The Celery tasks (`sneakers_app/worker.py`) only open a session, call one of these and commit.

- `requeue_lost_work` (every minute): work whose task should have run and may have been lost
  with the broker (docs/outbox.md, "Tasks the broker lost"). Each is an outbox row keyed like
  the original follow-up, queued again only when the last publish of that key is older than
  the task's own retries could still be running (`LostAfter`);
- `requeue_unsent_links`: sign-up and password-reset links whose email was never sent;
- `deadline_notices`: bid-expiring notices 24 h ahead and ship-by reminders (each sent once);
- `expire_books`: every book swept of its expired bids and asks.

Every other active order waits on a person (the seller ships; staff receive, inspect, ship,
deliver), shown in their queues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from sneakers_app.models import Ask, Bid, Order, Payment, Payout, utcnow
from sneakers_app.services import (
    accounts,
    books,
    journal,
    notifications,
    outbox,
    payments,
    saga,
    verification,
)
from sneakers_app.vocabulary import (
    LISTING_OPEN,
    ListingStatus,
    OrderStatus,
    PaymentStatus,
    PayoutStatus,
    TimeInForce,
)
from trading.engine import RedisEngine
from trading.orders import ExpireOrders

ENFORCE_SHIP_BY_TASK = "sneakers.enforce_ship_by"
FINALIZE_FAILURE_TASK = "sneakers.finalize_failure"

STUCK_AFTER = timedelta(minutes=1)
"""An order not charged, or a Stripe Connect payout not sent, this long after it was made is
work a lost task left undone (and the default for re-found work queued again)."""
EMAIL_LOST_AFTER = timedelta(minutes=15)
"""An email still unsent this long after its task was published is queued again (its task
retries for up to about 20 minutes on SMTP errors; `deliver_email` sends at most once)."""
EMAIL_SWEEP_WINDOW = timedelta(days=3)
PAYOUT_LOST_AFTER = timedelta(hours=1)
SETTLE_LOST_AFTER = timedelta(minutes=5)
RELIST_LOST_AFTER = timedelta(minutes=5)
NOTICE_AHEAD = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True)
class LostAfter:
    """How long after its last publish a piece of work counts as lost (queued again)."""

    stuck: timedelta = STUCK_AFTER
    email: timedelta = EMAIL_LOST_AFTER
    payout: timedelta = PAYOUT_LOST_AFTER
    settle: timedelta = SETTLE_LOST_AFTER
    relist: timedelta = RELIST_LOST_AFTER


def _ids(rows: Iterable[int | None]) -> list[int]:
    return [row for row in rows if row is not None]


def uncharged_orders(session: Session, *, now: datetime, stuck_after: timedelta) -> list[int]:
    """Orders still `created` (never charged) `stuck_after` after they were made."""
    return _ids(
        session.exec(
            select(Order.id).where(
                Order.status == OrderStatus.CREATED, col(Order.created_at) <= now - stuck_after
            )
        ).all()
    )


def overdue_shipments(session: Session, *, now: datetime) -> list[int]:
    """Orders waiting for the seller past their ship-by date."""
    return _ids(
        session.exec(
            select(Order.id).where(
                Order.status == OrderStatus.AWAITING_SHIPMENT, col(Order.ship_by) <= now
            )
        ).all()
    )


def final_failures(session: Session, *, now: datetime) -> list[int]:
    """Failed authentications whose appeal was used or whose window closed."""
    return _ids(
        session.exec(
            select(Order.id).where(
                Order.status == OrderStatus.AUTH_FAILED,
                (col(Order.appeal_deadline) <= now) | col(Order.appeal_used).is_(True),
            )
        ).all()
    )


def delivered_not_completed(session: Session) -> list[int]:
    return _ids(session.exec(select(Order.id).where(Order.status == OrderStatus.DELIVERED)).all())


def late_payments_to_refund(session: Session) -> list[int]:
    """Orders whose payment failed, with a charge that succeeded later and no refund."""
    refunds = aliased(Payment)
    refund = select(refunds.id).where(refunds.order_id == Order.id, refunds.kind == "refund")
    return _ids(
        session.exec(
            select(Order.id)
            .join(Payment, col(Payment.order_id) == col(Order.id))
            .where(
                Order.status == OrderStatus.PAYMENT_FAILED,
                Payment.kind == "charge",
                Payment.status == PaymentStatus.SUCCEEDED,
                ~refund.exists(),
            )
        ).all()
    )


def asks_not_relisted(session: Session, *, now: datetime) -> list[tuple[int, int]]:
    """(order, ask) of orders whose payment failed while the seller's ask could still be listed
    again, and it was not (`market.relist_ask` names the new row `relist-order-<order id>`)."""
    candidates = session.exec(
        select(Order.id, Order.ask_id)
        .join(Ask, col(Ask.id) == col(Order.ask_id))
        .where(
            Order.status == OrderStatus.PAYMENT_FAILED,
            Ask.time_in_force == TimeInForce.GTC,
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


def connect_payouts_not_sent(
    session: Session, *, now: datetime, stuck_after: timedelta
) -> list[int]:
    """Stripe Connect payouts still pending `stuck_after` after they were made."""
    return _ids(
        session.exec(
            select(Payout.id).where(
                Payout.method == "stripe_connect",
                Payout.status == PayoutStatus.PENDING,
                col(Payout.created_at) <= now - stuck_after,
            )
        ).all()
    )


def requeue_lost_work(
    session: Session, *, lost: LostAfter | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Queue again (outbox rows in the caller's transaction) every piece of work the database
    says should have happened; returns how many of each were found. The caller commits."""
    lost = lost or LostAfter()
    now = now or utcnow()
    stuck = uncharged_orders(session, now=now, stuck_after=lost.stuck)
    overdue = overdue_shipments(session, now=now)
    final = final_failures(session, now=now)
    delivered = delivered_not_completed(session)
    unsettled = late_payments_to_refund(session)
    relists = asks_not_relisted(session, now=now)
    payouts = connect_payouts_not_sent(session, now=now, stuck_after=lost.stuck)
    emails = notifications.emails_pending(
        session=session,
        created_after=now - EMAIL_SWEEP_WINDOW,
        created_before=now - lost.stuck,
    )
    again: list[tuple[str, list[Any], str, timedelta]] = [
        *((journal.CHARGE_TASK, [i], journal.charge_key(i), lost.stuck) for i in stuck),
        *((ENFORCE_SHIP_BY_TASK, [i], f"enforce_ship_by:{i}", lost.stuck) for i in overdue),
        *((FINALIZE_FAILURE_TASK, [i], f"finalize_failure:{i}", lost.stuck) for i in final),
        *(
            (verification.COMPLETE_TASK, [i], verification.complete_key(i), lost.stuck)
            for i in delivered
        ),
        *((payments.SETTLE_TASK, [i], payments.settle_key(i), lost.settle) for i in unsettled),
        *(
            (saga.RELIST_TASK, [ask_id, order_id], saga.relist_key(order_id), lost.relist)
            for order_id, ask_id in relists
        ),
        *((saga.PAYOUT_TASK, [i], saga.payout_key(i), lost.payout) for i in payouts),
        *((notifications.EMAIL_TASK, [i], notifications.email_key(i), lost.email) for i in emails),
    ]
    for task, args, key, after in again:
        outbox.add(session, task, *args, key=key, again_after=after)
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


def requeue_unsent_links(session: Session, *, lost_after: timedelta = EMAIL_LOST_AFTER) -> int:
    """Links whose email was never sent (its task lost with the broker) are queued again;
    returns how many were found. The caller commits."""
    ids = accounts.unsent_links(session=session)
    for link_id in ids:
        outbox.add(
            session,
            accounts.LINK_EMAIL_TASK,
            link_id,
            key=accounts.link_email_key(link_id),
            again_after=lost_after,  # longer than the task's own retries
        )
    return len(ids)


def deadline_notices(session: Session, *, now: datetime | None = None) -> int:
    """Bid-expiring notices `NOTICE_AHEAD` of the expiry and ship-by reminders as far ahead of
    the date, each sent once (the dedupe key); returns how many emails were written. The
    caller commits."""
    now = now or utcnow()
    soon = now + NOTICE_AHEAD
    bids = session.exec(
        select(Bid).where(
            col(Bid.status).in_(LISTING_OPEN),
            Bid.time_in_force == TimeInForce.GTC,
            col(Bid.expires_at) > now,
            col(Bid.expires_at) <= soon,
        )
    ).all()
    notices: list[tuple[int, str, dict[str, Any], str]] = [
        (
            bid.user_id,
            notifications.Kind.BID_EXPIRING,
            {"bid_id": bid.id, "price_cents": bid.price_cents},
            f"bid_expiring:{bid.id}",
        )
        for bid in bids
    ]
    pending = session.exec(
        select(Order).where(
            Order.status == OrderStatus.AWAITING_SHIPMENT,
            col(Order.ship_by) > now,
            col(Order.ship_by) <= soon,
        )
    ).all()
    notices += [
        (
            order.seller_id,
            notifications.Kind.SHIP_BY_REMINDER,
            {"order_id": order.id},
            f"ship_by_reminder:{order.id}:{order.ship_by_extended}",
        )
        for order in pending
    ]
    emails = 0
    for user_id, kind, context, key in notices:
        result = notifications.notify(
            session=session, user_id=user_id, kind=kind, context=context, dedupe_key=key
        )
        if result is not None and result.email_notification_id is not None:
            emails += 1
    return emails


def expire_books(session: Session, *, engine: RedisEngine) -> int:
    """Sweep expired bids and asks out of every book (the journal consumer records them), and
    expire the paused ones, which no book holds; returns the quantity expired."""
    expired_paused = expire_paused(session)
    variant_ids = books.variant_ids(session)
    session.rollback()  # no transaction stays open while Redis is asked
    expired = expired_paused
    for variant_id in variant_ids:
        outcome: Any = engine.expire(ExpireOrders(variant_id=str(variant_id)))
        expired += int(getattr(outcome, "expired_quantity", 0))
    return expired


def expire_paused(session: Session, *, now: datetime | None = None) -> int:
    """Paused listings past their expiry end expired, as they would have in the book; the
    count expired. Commits."""
    now = now or utcnow()
    expired = 0
    for table in (Bid, Ask):
        rows = session.exec(
            select(table).where(
                table.status == ListingStatus.PAUSED,
                col(table.expires_at).is_not(None),
                col(table.expires_at) <= now,
            )
        ).all()
        for row in rows:
            row.status = ListingStatus.EXPIRED
            row.updated_at = now
            session.add(row)
            expired += row.quantity - row.filled_quantity
    session.commit()
    return expired
