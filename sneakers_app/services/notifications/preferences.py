"""Preferences: which channels (in-app, email) a user wants for each kind. A kind never set is
on for both; security notices (`ALWAYS_SENT`) are not the user's to turn off."""

from __future__ import annotations

from dataclasses import dataclass

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

__all__ = ["PreferenceView", "channels", "preferences", "set_preference"]


@dataclass(frozen=True, kw_only=True)
class PreferenceView:
    kind: Kind
    label: str
    in_app: bool
    email: bool


def channels(session: Session, user_id: int, kind: str) -> tuple[bool, bool]:
    """(in_app, email): what this user gets for this kind now."""
    if kind in ALWAYS_SENT:
        return True, True
    row = session.get(NotificationPreference, (user_id, kind))
    return (True, True) if row is None else (row.in_app, row.email)


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
