"""The last sequence the database saw from each book in the engine (`order_books`).

The journal consumer raises it with every entry it applies, a rebuild sets it to where the
rebuilt book continues. The place path sends it with every order as the book's floor: a book in
Redis whose sequence is below it lost state (Redis restarted without its data, a failover to a
replica that was behind) and refuses the order until it is rebuilt, so no trade id is issued
twice. One primary-key read per order; one UPDATE per applied journal entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from sneakers_app.models import OrderBook, utcnow


def recorded(session: Session, variant_id: int) -> int:
    """The last sequence recorded for the book (0 when none was)."""
    row = session.get(OrderBook, variant_id, populate_existing=True)  # never a cached value
    return row.last_sequence if row is not None else 0


def recorded_query(variant_id: Any) -> ScalarSelect[int | None]:
    """SQL for `recorded` (NULL when none was), for a query reading more."""
    books = OrderBook.__table__.c  # type: ignore[attr-defined]
    return select(books.last_sequence).where(books.variant_id == variant_id).scalar_subquery()


def raise_to(session: Session, variant_id: int, sequence: int, *, rebuilt: bool = False) -> None:
    """Record that the book reached `sequence` (never lowers what is recorded), in the caller's
    transaction. Safe under concurrent writers on SQLite and PostgreSQL."""
    now = utcnow()
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(OrderBook)
        .values(variant_id=variant_id, last_sequence=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["variant_id"])
    )
    values: dict[str, object] = {"last_sequence": sequence, "updated_at": now}
    if rebuilt:
        values["rebuilt_at"] = now
    session.execute(
        update(OrderBook)
        .where(col(OrderBook.variant_id) == variant_id, col(OrderBook.last_sequence) <= sequence)
        .values(**values)
    )
