"""Facts a transaction reads once: what the trade dialog's checks and the order they guard share.

The product page's Confirm checks who may trade and whether the order would meet the member's
own (`ticket.refusal`), then places it (`market.place`), which checks the same again because
every caller must pass them. Inside one transaction nothing has changed between the two, so the
second reads the first's answer instead of asking the database again.

An answer is kept on the session (`Session.info`) and dropped as soon as anything could change
it: when the transaction ends (commit or rollback), when the session flushes a change, and when
a statement other than a SELECT runs through it. A caller only ever sees an answer read in its
own transaction with nothing written since.

`kept` is the same for rows by primary key: the session's identity map holds its objects
weakly, so a row nothing else refers to (a size, its product, the user an email goes to) was
read again each time a step of the transaction asked for it. A kept row stays in the identity
map until the transaction ends; changes to it go through the session as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable, event, inspect, select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.util import identity_key

T = TypeVar("T")
_KEY = "read_once"
_KEPT = "read_once.kept"


def read_once(session: OrmSession, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, or the answer it gave earlier in this transaction with nothing written since."""
    memo: dict[Hashable, Any] = session.info.setdefault(_KEY, {})
    if key not in memo:
        memo[key] = read()
    return memo[key]  # type: ignore[no-any-return]


def kept(session: OrmSession, model: type[T], key: Any) -> T | None:
    """`session.get(model, key)`, kept alive until the transaction ends (read once)."""
    row = session.get(model, key)
    if row is not None:
        session.info.setdefault(_KEPT, {})[(model, key)] = row
    return row


def kept_many(session: OrmSession, model: type[T], keys: Sequence[int]) -> dict[int, T]:
    """`kept` for several rows of one model by their integer primary key, in one statement
    (only those not in the session already are read). As with `session.get`, a row the session
    holds expired is read again, and is left out if it no longer exists."""
    found: dict[int, T] = {}
    missing = []
    for key in dict.fromkeys(keys):
        row = session.identity_map.get(identity_key(model, key))
        if row is None or inspect(row).expired:
            missing.append(key)
        else:
            found[key] = row
    if missing:
        primary = inspect(model).primary_key[0]
        for row in session.scalars(select(model).where(primary.in_(missing))):
            found[getattr(row, primary.key)] = row
    held = session.info.setdefault(_KEPT, {})
    for key, row in found.items():
        held[(model, key)] = row
    return found


def kept_rows(session: OrmSession, statement: Executable) -> tuple[Any, ...] | None:
    """The first result of `statement`, a SELECT of several entities (e.g. a row and the rows
    it refers to, joined), each kept as `kept` keeps it; None when nothing was found."""
    found = session.execute(statement).first()
    if found is None:
        return None
    held = session.info.setdefault(_KEPT, {})
    for row in found:
        if row is not None:
            held[(type(row), inspect(row).identity)] = row
    return tuple(found)


def in_session(session: OrmSession, model: type[Any], key: Any) -> bool:
    """Whether the session holds the row of `model` with primary key `key` (no statement)."""
    return session.identity_map.get(identity_key(model, key)) is not None


def forget(session: OrmSession) -> None:
    """Drop every answer kept for this session: a caller about to write through the session's
    connection directly (not through the session, whose events drop it) calls it first."""
    session.info.pop(_KEY, None)


def _forget(session: OrmSession, *_args: Any) -> None:
    forget(session)


def _forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        _forget(state.session)


def _let_go(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost: a savepoint's end keeps them
        session.info.pop(_KEPT, None)


event.listen(OrmSession, "after_transaction_end", _forget)
event.listen(OrmSession, "after_transaction_end", _let_go)
event.listen(OrmSession, "after_flush", _forget)
event.listen(OrmSession, "after_bulk_update", lambda state: _forget(state.session))
event.listen(OrmSession, "after_bulk_delete", lambda state: _forget(state.session))
event.listen(OrmSession, "do_orm_execute", _forget_on_write)
