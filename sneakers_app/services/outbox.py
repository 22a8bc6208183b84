"""The outbox: work that must follow a database commit (a Celery task) is written as a row in
that same transaction, and delivered to the broker afterwards.

Why: a task queued after the commit is lost when the broker is down or the process dies between
the commit and the publish (a paid order never charged, a late payment never refunded, an email
never sent), and a task queued before the commit may run against a rollback. A row committed
with the change that needs it cannot be lost that way.

How other code uses it:

- inside the business transaction: `add(session, "sneakers.charge_order", order_id, key=...)`.
  The key names the piece of work (`charge_order:<order id>`): adding it again while it is
  pending changes nothing; adding it after it was delivered asks for it once more (a sweep that
  re-finds an order whose task the broker lost does exactly that);
- `add` records the key in `session.info`; the commit publishes the rows it added at once (the
  fast path: `sneakers_app/outbox_relay.py`, run by the session's `after_commit` event, takes
  them with `added_keys(session)` and calls `deliver(..., keys=...)`), so no caller has to
  remember to; a sweep in every long-running process (web, journal consumer, Celery beat)
  delivers whatever is left, so a dead broker delays the work and never loses it.

Delivery is at least once: a row is claimed (its `available_at` moved past a lease, so other
sweepers skip it), published, then marked delivered. A process that dies after the publish and
before the mark publishes it again after the lease; the tasks are idempotent. A row re-added
while it was being published keeps its `delivered_at` empty (the mark only applies to the claim
it made), so work asked for after a publish started is published again after its commit.

No Celery here: the caller passes `publish(task, args)`, which raises `BrokerUnavailable` when
the broker cannot be reached (delivery stops, the rows wait) or anything else for a row that
cannot be published (that row backs off; the others go on).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from sneakers_app.models import OutboxMessage, utcnow
from sneakers_app.services.sql import insert_for

MAX_TASK = 100
MAX_KEY = 200
MAX_ERROR = 500
LEASE = timedelta(seconds=60)
"""How long a claimed row is left to the process that claimed it before another may publish it."""
BATCH = 100
MAX_BACKOFF = timedelta(hours=1)
_ADDED = "outbox_added_keys"

Publish = Callable[[str, list[Any]], None]


class BrokerUnavailable(Exception):
    """Raised by a `publish` callable when the broker cannot be reached."""


class OutboxError(ValueError):
    """A row that cannot be written (no task name, arguments that are not JSON, a long key)."""


@dataclass(frozen=True, kw_only=True)
class Delivery:
    published: int = 0
    failed: int = 0
    broker_down: bool = False
    error: str = ""


def _table() -> Table:
    return cast(Table, cast(Any, OutboxMessage).__table__)


def add(
    session: Session,
    task: str,
    *args: Any,
    key: str | None = None,
    again_after: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """Ask for `task(*args)` to run once this transaction commits; returns the row's key.

    A row with this key that is still pending absorbs the call. One already delivered is
    published again, unless `again_after` is given and it was delivered less than that long ago
    (a sweep re-finding work passes the time the task may still be running or retrying).
    Never aborts the caller's transaction (INSERT ... ON CONFLICT).
    """
    return add_many(session, task, [(args, key)], again_after=again_after, now=now)[0]


def add_many(
    session: Session,
    task: str,
    calls: Sequence[tuple[Sequence[Any], str | None]],
    *,
    again_after: timedelta | None = None,
    now: datetime | None = None,
) -> list[str]:
    """`add` for several calls of one task, `(args, key)` each, in one statement; their keys."""
    if not task or len(task) > MAX_TASK:
        raise OutboxError(f"A task name of 1 to {MAX_TASK} characters is required.")
    now = now or utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for args, key in calls:
        try:
            encoded = json.dumps(list(args), separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise OutboxError(f"Task arguments must be JSON: {exc}") from exc
        key = key or f"{task}:{encoded}"
        if len(key) > MAX_KEY:
            raise OutboxError(f"An outbox key is at most {MAX_KEY} characters.")
        rows[key] = {  # a key named twice is one row (one statement cannot write it twice)
            "task": task,
            "args": encoded,
            "dedupe_key": key,
            "created_at": now,
            "available_at": now,
            "attempts": 0,
            "last_error": "",
            "delivered_at": None,
        }
    if not rows:
        return []
    table = _table()
    rearm: ColumnElement[bool]
    if again_after is None:
        rearm = table.c.delivered_at.is_not(None) | (table.c.available_at > now)
    else:
        rearm = table.c.delivered_at <= now - again_after
    stmt = (
        insert_for(session, _table())
        .values(list(rows.values()))
        .on_conflict_do_update(
            index_elements=["dedupe_key"],
            # Delivered: publish it again. Pending (maybe being published right now, before
            # this commit): due again, and the publisher's mark will not apply to it.
            set_={"available_at": now, "delivered_at": None},
            where=rearm,
        )
    )
    session.execute(stmt)
    added: list[str] = session.info.setdefault(_ADDED, [])
    for key in rows:
        if key not in added:
            added.append(key)
    return list(rows)


def added_keys(session: OrmSession) -> list[str]:
    """The keys `add` wrote in this session since the last call (the fast path takes them when
    the transaction commits, and drops them when it rolls back); the list is emptied."""
    keys: list[str] = session.info.pop(_ADDED, [])
    return keys


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=10 * 2 ** min(attempts, 12)))


def deliver(
    session: Session,
    publish: Publish,
    *,
    keys: Sequence[str] | None = None,
    limit: int = BATCH,
    now: datetime | None = None,
) -> Delivery:
    """Publish due rows (only those named by `keys`, if given), oldest first, at most `limit`.

    Commits its own small transactions (the claim must be visible to every other sweeper before
    anything is published); call it outside the business transaction, after its commit.
    """
    now = now or utcnow()
    table = _table()
    due = table.c.delivered_at.is_(None) & (table.c.available_at <= now)
    if keys is not None and len(keys) <= limit:
        # The rows a commit added (at most `limit` of them): claimed by their keys in the
        # claim itself, without first reading which are due.
        if not keys:
            return Delivery()
        which = due & table.c.dedupe_key.in_(list(keys))
    else:
        query = select(table.c.id).where(due)
        if keys is not None:
            query = query.where(table.c.dedupe_key.in_(list(keys)))
        # The rows are locked as they are read, skipping any another claim holds: a commit's
        # fast path locks its rows in the order of their keys, this in the order of their
        # age, and two claims that each waited for the other's rows would deadlock
        # (PostgreSQL; SQLite has one writer at a time and no row locks).
        ids = list(
            session.scalars(
                query.order_by(table.c.available_at, table.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        )
        if not ids:
            session.rollback()
            return Delivery()
        which = due & table.c.id.in_(ids)
    lease_until = now + LEASE
    claimed = session.execute(
        update(table)
        .where(which)
        .values(available_at=lease_until, attempts=table.c.attempts + 1)
        .returning(table.c.id, table.c.task, table.c.args, table.c.attempts)
    ).all()
    session.commit()
    if not claimed:
        return Delivery()
    rows = sorted(claimed, key=lambda row: row.id)
    published: list[int] = []
    failed = 0
    broker_error = ""
    mine = (table.c.available_at == lease_until) & table.c.delivered_at.is_(None)
    for index, row in enumerate(rows):
        try:
            publish(row.task, list(json.loads(row.args)))
        except BrokerUnavailable as exc:
            broker_error = str(exc)[:MAX_ERROR] or type(exc).__name__
            waiting = [r.id for r in rows[index:]]
            # Nothing is wrong with the rows: they are due again at once, for the next sweep.
            session.execute(
                update(table)
                .where(table.c.id == row.id, mine)
                .values(available_at=now, last_error=f"broker unavailable: {broker_error}"[:500])
            )
            session.execute(
                update(table)
                .where(table.c.id.in_(waiting[1:]), mine)
                .values(available_at=now, attempts=table.c.attempts - 1)
            )
            break
        except Exception as exc:
            failed += 1
            session.execute(
                update(table)
                .where(table.c.id == row.id, mine)
                .values(
                    available_at=now + _backoff(row.attempts),
                    last_error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR],
                )
            )
        else:
            published.append(row.id)
    if published:
        session.execute(
            update(table)
            .where(table.c.id.in_(published), mine)
            .values(delivered_at=utcnow(), last_error="")
        )
    session.commit()
    return Delivery(
        published=len(published),
        failed=failed,
        broker_down=bool(broker_error),
        error=broker_error,
    )


def deliver_all(session: Session, publish: Publish, *, now: datetime | None = None) -> Delivery:
    """The sweep: deliver every due row, batch after batch, until none is left or the broker is
    down."""
    published = failed = 0
    while True:
        done = deliver(session, publish, now=now)
        published += done.published
        failed += done.failed
        if done.broker_down or done.published + done.failed == 0:
            return Delivery(
                published=published, failed=failed, broker_down=done.broker_down, error=done.error
            )
        if done.published + done.failed < BATCH:
            return Delivery(published=published, failed=failed)


def purge(session: Session, *, keep: timedelta, now: datetime | None = None) -> int:
    """Delete rows delivered more than `keep` ago; returns how many. The caller commits."""
    cutoff = (now or utcnow()) - keep
    table = _table()
    result = session.execute(
        delete(table)
        .where(table.c.delivered_at.is_not(None), table.c.delivered_at < cutoff)
        .returning(table.c.id)
    )
    return len(result.all())


@dataclass(frozen=True, kw_only=True)
class Pending:
    task: str
    args: list[Any]
    key: str
    attempts: int
    last_error: str
    created_at: datetime


def pending(session: Session, *, tasks: Iterable[str] | None = None) -> list[Pending]:
    """Rows not delivered yet, oldest first (for the staff console and the tests)."""
    query = select(OutboxMessage).where(col(OutboxMessage.delivered_at).is_(None))
    if tasks is not None:
        query = query.where(col(OutboxMessage.task).in_(list(tasks)))
    return [
        Pending(
            task=row.task,
            args=list(json.loads(row.args)),
            key=row.dedupe_key,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
        )
        for row in session.exec(query.order_by(col(OutboxMessage.id))).all()
    ]


def count_pending(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.delivered_at).is_(None))
    ).one()
