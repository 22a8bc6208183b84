"""Preferences: which channels (in-app, email) a user wants for each kind. A kind never set is
on for both; security notices (`ALWAYS_SENT`) are not the user's to turn off."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, tuple_
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from sneakers_app.models import NotificationPreference
from sneakers_app.services.notifications.kinds import (
    ALWAYS_SENT,
    KINDS,
    Kind,
    NotificationError,
    kind_of,
)
from sneakers_app.services.sql import insert_for, table_of

__all__ = [
    "PreferenceView",
    "channels",
    "preferences",
    "preload_channels",
    "set_preference",
]


@dataclass(frozen=True, kw_only=True)
class PreferenceView:
    kind: Kind
    label: str
    in_app: bool
    email: bool


_READ = "notifications.channels"
"""`preload_channels`' answers, on the session until its transaction ends."""


def channels(session: Session, user_id: int, kind: str) -> tuple[bool, bool]:
    """(in_app, email): what this user gets for this kind now."""
    if kind in ALWAYS_SENT:
        return True, True
    read: dict[tuple[int, str], tuple[bool, bool]] = session.info.get(_READ, {})
    if (user_id, kind) in read:
        return read[(user_id, kind)]
    row = session.get(NotificationPreference, (user_id, kind))
    return (True, True) if row is None else (row.in_app, row.email)


def preload_channels(session: Session, wanted: Iterable[tuple[int, str]]) -> None:
    """Read what each (user, kind) gets in one statement, for `channels` in this transaction
    (a charge's two notices: a kind nobody set has no row, so the session cannot remember it)."""
    pairs = {(user_id, str(kind)) for user_id, kind in wanted if kind not in ALWAYS_SENT}
    if not pairs:
        return
    table = table_of(NotificationPreference)
    rows = session.execute(
        select(table.c.user_id, table.c.kind, table.c.in_app, table.c.email).where(
            tuple_(table.c.user_id, table.c.kind).in_(sorted(pairs))
        )
    ).all()
    found = {(r.user_id, r.kind): (r.in_app, r.email) for r in rows}
    read = session.info.setdefault(_READ, {})
    for pair in pairs:
        read[pair] = found.get(pair, (True, True))


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_read(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost: a savepoint's end keeps them
        session.info.pop(_READ, None)


def preferences(*, session: Session, user_id: int) -> list[PreferenceView]:
    """Every kind with its effective channels (a kind never set is on for both)."""
    rows = session.exec(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    ).all()
    saved = {row.kind: row for row in rows}
    views = []
    for kind, spec in KINDS.items():
        if kind.value in ALWAYS_SENT:
            continue  # not the user's to turn off
        row = saved.get(kind.value)
        views.append(
            PreferenceView(
                kind=kind,
                label=spec.label,
                in_app=True if row is None else row.in_app,
                email=True if row is None else row.email,
            )
        )
    return views


def set_preference(
    *, session: Session, user_id: int, kind: str, in_app: bool, email: bool
) -> PreferenceView:
    """Upsert one kind's channels (safe against a concurrent save of the same kind)."""
    known = kind_of(kind)
    if known in ALWAYS_SENT:
        raise NotificationError("Security notices are always sent.")
    session.info.pop(_READ, None)
    session.flush()
    stmt = (
        insert_for(session, table_of(NotificationPreference))
        .values(user_id=user_id, kind=known.value, in_app=in_app, email=email)
        .on_conflict_do_update(
            index_elements=["user_id", "kind"], set_={"in_app": in_app, "email": email}
        )
    )
    session.execute(stmt)
    session.get(NotificationPreference, (user_id, known.value), populate_existing=True)
    return PreferenceView(kind=known, label=KINDS[known].label, in_app=in_app, email=email)
