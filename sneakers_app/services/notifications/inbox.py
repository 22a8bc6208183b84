"""The inbox: a user's notifications newest first, the unread count, marking read.

A notification the user wants by email only still has a row (for the dedupe key and the
send-once claim), marked `email_only`: every inbox query leaves such rows out, so they are
never listed, counted as unread or marked read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from sneakers_app.models import Notification, utcnow
from sneakers_app.services.notifications.kinds import NotificationError
from sneakers_app.services.sql import table_of

__all__ = [
    "MAX_INBOX_PAGE",
    "NotificationNotFound",
    "NotificationView",
    "inbox",
    "mark_all_read",
    "mark_read",
    "unread_count",
]

MAX_INBOX_PAGE = 100


class NotificationNotFound(NotificationError, LookupError):
    """Missing, or somebody else's: the two are not told apart."""

    def __init__(self) -> None:
        super().__init__("Notification not found.")


@dataclass(frozen=True, kw_only=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


def _shown() -> Any:
    """The rows the inbox shows: all but the email-only ones."""
    return col(Notification.email_only).is_(False)


def inbox(
    *, session: Session, user_id: int, limit: int = 20, before_id: int | None = None
) -> list[NotificationView]:
    """Newest first; pass the last id seen as `before_id` for the next page."""
    limit = max(1, min(limit, MAX_INBOX_PAGE))
    stmt = select(Notification).where(Notification.user_id == user_id, _shown())
    if before_id is not None:
        stmt = stmt.where(col(Notification.id) < before_id)
    rows = session.exec(stmt.order_by(col(Notification.id).desc()).limit(limit)).all()
    return [
        NotificationView(
            id=row.id or 0,
            kind=row.kind,
            title=row.title,
            body=row.body,
            link=row.link,
            created_at=row.created_at,
            read=row.read_at is not None,
        )
        for row in rows
    ]


def unread_count(*, session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, col(Notification.read_at).is_(None), _shown())
    ).one()


def mark_read(
    *, session: Session, user_id: int, notification_id: int, now: datetime | None = None
) -> bool:
    """True if this call marked it read, False if it already was. Someone else's notification
    (or one that does not exist) raises `NotificationNotFound` and changes nothing."""
    row = session.exec(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id, _shown()
        )
    ).first()
    if row is None:
        raise NotificationNotFound()
    if row.read_at is not None:
        return False
    row.read_at = now or utcnow()
    session.add(row)
    session.flush()
    return True


def mark_all_read(*, session: Session, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    session.flush()
    table = table_of(Notification)
    result = session.execute(
        update(table)
        .where(
            table.c.user_id == user_id,
            table.c.read_at.is_(None),
            table.c.email_only.is_(False),
        )
        .values(read_at=now or utcnow())
        .returning(table.c.id)
    )
    changed = len(result.all())
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Notification) and obj.user_id == user_id:
            session.expire(obj, ["read_at"])
    return changed
