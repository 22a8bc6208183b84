"""Facts of the database an operator watches (read by the metrics collector at each scrape):
the verification backlog and payouts waiting. One cheap query each, on indexed columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from sneakers_app.models import Order, Payout, utcnow
from sneakers_app.vocabulary import OrderStatus

VERIFICATION_QUEUE = (
    OrderStatus.SHIPPED_TO_VERIFICATION,
    OrderStatus.RECEIVED,
    OrderStatus.AUTHENTICATING,
    OrderStatus.AUTHENTICATED,
)
"""Orders the authentication centre has to act on: to receive, to inspect (or re-review on
appeal), to ship on to the buyer."""


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest_seconds: float
    """How long the one waiting longest has waited (0 when none)."""
    cents: int = 0


def _age(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return max(0.0, (now - oldest).total_seconds())


def verification_backlog(session: Session, now: datetime | None = None) -> dict[str, Waiting]:
    """Per queue status: how many orders wait and since when (the last change of status)."""
    now = now or utcnow()
    rows = session.exec(
        select(col(Order.status), func.count(), func.min(col(Order.updated_at)))
        .where(col(Order.status).in_(VERIFICATION_QUEUE))
        .group_by(col(Order.status))
    ).all()
    found = {str(status): Waiting(int(n), _age(oldest, now)) for status, n, oldest in rows}
    return {str(s): found.get(str(s), Waiting(0, 0.0)) for s in VERIFICATION_QUEUE}


def payouts_due(session: Session, now: datetime | None = None) -> Waiting:
    """Payouts owed to sellers and not yet paid: how many, how much, the oldest's age."""
    now = now or utcnow()
    n, cents, oldest = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(Payout.amount_cents), 0),
            func.min(Payout.created_at),
        ).where(col(Payout.status) == "pending")
    ).one()
    return Waiting(int(n), _age(oldest, now), int(cents))
