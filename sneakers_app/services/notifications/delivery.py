"""Delivery: `notify` records one event on the channels the user wants and queues its email in
the outbox, in the caller's transaction; `deliver_email` sends that email at most once; the
sweep re-finds emails that were due and never sent (`emails_pending`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, literal, update
from sqlalchemy import cast as sql_cast
from sqlmodel import Session, col, select

from sneakers_app.models import Notification, OutboxMessage, User, utcnow
from sneakers_app.services import limits, outbox, sizes
from sneakers_app.services.email import EmailRejected, Mailer
from sneakers_app.services.notifications.kinds import NotificationError, kind_of
from sneakers_app.services.notifications.preferences import channels
from sneakers_app.services.notifications.rendering import build_email, render
from sneakers_app.services.read_once import kept
from sneakers_app.services.sql import as_loaded, insert_for, table_of
from sneakers_app.settings import Settings

__all__ = [
    "EMAIL_TASK",
    "NotifyResult",
    "deliver_email",
    "email_ids",
    "email_key",
    "emails_pending",
    "notify",
]


@dataclass(frozen=True, kw_only=True)
class NotifyResult:
    """`created` is False when the dedupe key had already been used (nothing new was written).
    `email_notification_id` is set when an email is due: `notify` wrote its outbox row, which
    goes out after the commit; queuing it twice is harmless."""

    notification: Notification
    created: bool
    in_app: bool
    email_due: bool

    @property
    def email_notification_id(self) -> int | None:
        return self.notification.id if self.email_due else None


def _by_key(session: Session, dedupe_key: str) -> Notification | None:
    return session.exec(
        select(Notification)
        .where(Notification.dedupe_key == dedupe_key)
        .execution_options(populate_existing=True)
    ).first()


def notify(
    *,
    session: Session,
    user_id: int,
    kind: str,
    context: Mapping[str, object] | None = None,
    dedupe_key: str,
    now: datetime | None = None,
    caused_by: int | None = None,
) -> NotifyResult | None:
    """Record one event for one user, once per `dedupe_key`, on the channels they want.

    `caused_by`: the user whose action caused this event for someone else (outbid, price
    drop). Such emails are rate limited (limits.allow_email): over the limit the in-app notice
    is still recorded, the email is not sent.

    None when the user has turned both channels off for this kind (nothing is stored). Flushes;
    the caller commits. A concurrent call with the same key (another worker, on PostgreSQL or
    SQLite) is absorbed by INSERT ... ON CONFLICT DO NOTHING, which unlike a failed INSERT in a
    savepoint never aborts the caller's transaction.
    """
    known = kind_of(kind)
    if not dedupe_key or len(dedupe_key) > 200:
        raise NotificationError("A dedupe key of 1 to 200 characters is required.")
    in_app, email = channels(session, user_id, known.value)
    # An event someone else caused is looked for first: its email spends the sender's rate
    # limit only when it is new. Any other is simply written; a replay finds its key taken.
    existing = _by_key(session, dedupe_key) if caused_by is not None else None
    if existing is None:
        if email and caused_by is not None:
            email = limits.allow_email(kind=known.value, recipient_id=user_id, caused_by=caused_by)
        if not in_app and not email:
            return None
        now = now or utcnow()
        recipient = kept(session, User, user_id)
        system = recipient.size_system if recipient is not None else sizes.DEFAULT_SYSTEM
        text = render(session=session, kind=known, context=context or {}, size_system=system)
        values: dict[str, Any] = {
            "user_id": user_id,
            "kind": known.value,
            "title": text.title,
            "body": text.body,
            "link": text.link,
            "dedupe_key": dedupe_key,
            "emailed_at": None,
            "read_at": None,
            "email_only": not in_app,
            "created_at": now,
        }
        written = session.execute(
            insert_for(session, table_of(Notification))
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table_of(Notification).c.id)
        ).first()
        if written is not None:
            created, row = True, as_loaded(session, Notification(id=written[0], **values))
        else:  # a replay, or a concurrent call with the same key
            found = _by_key(session, dedupe_key)
            assert found is not None, "a row with this dedupe key exists: a concurrent one"
            created, row = False, found
    else:
        created, row = False, existing
    if row.user_id != user_id or row.kind != known.value:
        raise NotificationError(f"Dedupe key {dedupe_key!r} already names another event.")
    email_due = email and row.emailed_at is None
    if email_due:
        # In this transaction: the email cannot be lost between the commit and the broker.
        outbox.add(session, EMAIL_TASK, row.id, key=email_key(row.id or 0))
    session.flush()
    return NotifyResult(
        notification=row,
        created=created,
        in_app=not row.email_only,
        email_due=email_due,
    )


EMAIL_TASK = "sneakers.send_notification_email"


def email_key(notification_id: int) -> str:
    """The outbox key of a notification's email (`notify` writes the row)."""
    return f"email:{notification_id}"


def deliver_email(
    *,
    session: Session,
    notification_id: int,
    mailer: Mailer,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> bool:
    """Send a notification's email at most once; True if this call sent it.

    Unlike the other functions here it commits: the claim (emailed_at set where it was NULL,
    one row changed or none) must be visible to every other worker before the message leaves,
    and no lock may be held while a slow SMTP server answers. On a transient failure the claim is
    released and `EmailTransientError` propagates for the task to retry; `EmailRejected` keeps the
    claim (a 5xx would only repeat). A worker that dies between claim and send loses that one
    email: at most once, by design.
    """
    row = session.get(Notification, notification_id, populate_existing=True)
    if row is None or row.emailed_at is not None:
        return False
    user = session.get(User, row.user_id)
    if user is None or not channels(session, row.user_id, row.kind)[1]:
        return False
    outgoing = build_email(notification=row, user=user, settings=settings)
    claimed_at = now or utcnow()
    table = table_of(Notification)
    claim = session.execute(
        update(table)
        .where(table.c.id == notification_id, table.c.emailed_at.is_(None))
        .values(emailed_at=claimed_at)
        .returning(table.c.id)
    )
    claimed = claim.first() is not None
    session.commit()
    if not claimed:
        session.expire(row)
        return False
    try:
        mailer.send(outgoing)
    except EmailRejected:
        raise
    except BaseException:
        session.execute(
            update(table)
            .where(table.c.id == notification_id, table.c.emailed_at == claimed_at)
            .values(emailed_at=None)
        )
        session.commit()
        raise
    finally:
        session.expire(row)
    return True


def emails_pending(
    *, session: Session, created_after: datetime, created_before: datetime, limit: int = 500
) -> list[int]:
    """Notifications created in the window whose email was due and was never sent (its task
    lost with the broker, or still retrying): the sweep queues them again; `deliver_email`
    sends each at most once. Only notices that got an email row in the outbox when they were
    made count: one whose email a rate limit refused stays in the inbox only."""
    rows = session.exec(
        select(Notification.id, Notification.user_id, Notification.kind)
        .join(
            OutboxMessage,
            col(OutboxMessage.dedupe_key)
            == literal("email:", String) + sql_cast(col(Notification.id), String),
        )
        .where(
            col(Notification.emailed_at).is_(None),
            col(Notification.created_at) > created_after,
            col(Notification.created_at) <= created_before,
        )
        .order_by(col(Notification.id))
        .limit(limit)
    ).all()
    return [
        notification_id
        for notification_id, user_id, kind in rows
        if notification_id is not None and channels(session, user_id, kind)[1]
    ]


def email_ids(results: Sequence[NotifyResult | None]) -> tuple[int, ...]:
    """The notification ids whose email is due (their outbox rows are written)."""
    return tuple(
        r.email_notification_id
        for r in results
        if r is not None and r.email_notification_id is not None
    )
