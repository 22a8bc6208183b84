"""The inbox: a user's notifications newest first, the unread count, marking read.

A notification the user wants by email only still has a row (for the dedupe key and the
send-once claim); such rows are stored as already read at `EMAIL_ONLY_READ_AT`, a fixed instant
no real read can have, and every inbox query leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from sneakers_app.models import Notification, utcnow
from sneakers_app.services.notifications._sql import table_of
from sneakers_app.services.notifications.kinds import NotificationError

__all__ = [
    "EMAIL_ONLY_READ_AT",
    "MAX_INBOX_PAGE",
    "NotificationNotFound",
    "NotificationView",
    "inbox",
    "mark_all_read",
    "mark_read",
    "unread_count",
]

EMAIL_ONLY_READ_AT = datetime(1970, 1, 1, tzinfo=UTC)
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


def _visible() -> Any:
    return or_(col(Notification.read_at).is_(None), col(Notification.read_at) != EMAIL_ONLY_READ_AT)


def inbox(
    *, session: Session, user_id: int, limit: int = 20, before_id: int | None = None
) -> list[NotificationView]:
    """Newest first; pass the last id seen as `before_id` for the next page."""
    limit = max(1, min(limit, MAX_INBOX_PAGE))
    stmt = select(Notification).where(Notification.user_id == user_id, _visible())
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
        .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
    ).one()


def mark_read(
    *, session: Session, user_id: int, notification_id: int, now: datetime | None = None
) -> bool:
    """True if this call marked it read, False if it already was. Someone else's notification
    (or one that does not exist) raises `NotificationNotFound` and changes nothing."""
    row = session.exec(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id, _visible()
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
        .where(table.c.user_id == user_id, table.c.read_at.is_(None))
        .values(read_at=now or utcnow())
        .returning(table.c.id)
    )
    changed = len(result.all())
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Notification) and obj.user_id == user_id:
            session.expire(obj, ["read_at"])
    return changed
