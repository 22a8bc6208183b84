"""Database engine and sessions. The schema itself only changes through Alembic.

An adapter: it imports nothing above the models. The outbox's commit hook that publishes each
transaction's follow-ups is registered by `sneakers_app/outbox_relay.py`, which every process
that commits follow-ups imports (the web app, the Celery worker, the journal consumer).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlmodel import Session, create_engine

from sneakers_app.settings import get_settings

PING_AFTER_IDLE_S = 5.0
"""A pooled connection idle longer than this is pinged before it is handed out (one round trip);
one used more recently is handed out as is. A disconnect on a connection in use is handled
optimistically: SQLAlchemy invalidates it and every connection pooled before the error, so one
statement fails (an order's transaction rolls back whole) and the next checkout reconnects."""


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle (SQLAlchemy's pool events,
    as `pool_pre_ping` but without its round trip on every checkout of a busy pool)."""

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) <= PING_AFTER_IDLE_S:
            return
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:
            # the pool discards this connection and checks out another (up to three times)
            raise exc.DisconnectionError(str(error)) from error


def make_engine(url: str, *, statement_timeout_ms: int = 0, pool_size: int = 0) -> Engine:
    """An engine for `url`. On PostgreSQL, `statement_timeout_ms` > 0 cancels any statement of
    its connections that runs longer (the app's engine; migrations run without one).
    `pool_size` > 0: connections kept open (else SQLAlchemy's 5), and as many more at peaks
    before a thread waits for one."""
    kwargs: dict[str, Any] = {}
    if pool_size > 0:
        kwargs |= {"pool_size": pool_size, "max_overflow": pool_size}
    if url.startswith("postgresql") and statement_timeout_ms > 0:
        kwargs["connect_args"] = {"options": f"-c statement_timeout={int(statement_timeout_ms)}"}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


@lru_cache
def get_db_engine() -> Engine:
    settings = get_settings()
    return make_engine(
        settings.DATABASE_URL,
        statement_timeout_ms=settings.DATABASE_STATEMENT_TIMEOUT_MS,
        pool_size=settings.DATABASE_POOL_SIZE,
    )


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_db_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
