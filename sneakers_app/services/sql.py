"""SQL the services share: the dialect's INSERT (with ON CONFLICT), a model's table, and a row
written with a Core INSERT put in the session as if read back."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

T = TypeVar("T")


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT on both SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def as_loaded(session: Session, row: T) -> T:
    """`row`, just written with a Core INSERT (its primary key set from RETURNING), in the
    session as if read back: no SELECT, and later changes to it are flushed as UPDATEs."""
    make_transient_to_detached(row)
    session.add(row)
    return row
