"""SQL the services share: the dialect's INSERT (with ON CONFLICT), a model's table, and a row
written with a Core INSERT put in the session as if read back."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction, make_transient, make_transient_to_detached
from sqlmodel import Session

T = TypeVar("T")


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT on both SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


_AS_LOADED = "sql.as_loaded"
"""session.info key: the rows `as_loaded` put in the session, each with the transaction it was
written in, until the outermost transaction ends."""


def as_loaded(session: Session, row: T) -> T:
    """`row`, just written with a Core INSERT (its primary key set from RETURNING), in the
    session as if read back: no SELECT, and later changes to it are flushed as UPDATEs.

    A rollback of the transaction (or savepoint) it was written in takes it out of the session
    again, as it does a row the session flushed itself: the session never holds a row the
    database does not have."""
    written_in = session.get_nested_transaction() or session.get_transaction()
    assert written_in is not None, "a row just written is in a transaction"
    make_transient_to_detached(row)
    session.add(row)
    root = _root(written_in)
    kept: tuple[SessionTransaction, list[tuple[SessionTransaction, Any]]] | None
    kept = session.info.get(_AS_LOADED)
    if kept is None or kept[0] is not root:
        kept = (root, [])
        session.info[_AS_LOADED] = kept
    kept[1].append((written_in, row))
    return row


def _root(transaction: SessionTransaction) -> SessionTransaction:
    while transaction.parent is not None:
        transaction = transaction.parent
    return transaction


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_rolled_back(session: OrmSession, previous_transaction: SessionTransaction) -> None:
    kept = session.info.get(_AS_LOADED)
    if kept is None:
        return
    left = []
    for written_in, row in kept[1]:
        if not _within(written_in, previous_transaction):
            left.append((written_in, row))
            continue
        if row in session:
            session.expunge(row)
        make_transient(row)
    kept[1][:] = left


@event.listens_for(OrmSession, "after_commit")
def _forget_committed(session: OrmSession) -> None:
    # also called as a savepoint is released: its rows then belong to the transaction around it
    if session.get_nested_transaction() is None:
        session.info.pop(_AS_LOADED, None)
