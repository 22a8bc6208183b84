"""Database engine and sessions. The schema itself only changes through Alembic.

An adapter: it imports nothing above the models. The outbox's commit hook that publishes each
transaction's follow-ups is registered by `sneakers_app/outbox_relay.py`, which every process
that commits follow-ups imports (the web app, the Celery worker, the journal consumer).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from sneakers_app.settings import get_settings


def make_engine(url: str, *, statement_timeout_ms: int = 0, pool_size: int = 0) -> Engine:
    """An engine for `url`. On PostgreSQL, `statement_timeout_ms` > 0 cancels any statement of
    its connections that runs longer (the app's engine; migrations run without one).
    `pool_size` > 0: connections kept open (else SQLAlchemy's 5), and as many more at peaks
    before a thread waits for one."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
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
