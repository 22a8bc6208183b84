"""Shared fixtures: real databases (SQLite and a throwaway PostgreSQL) migrated by Alembic,
and a real redis-server. Nothing here is a fake."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

os.environ.setdefault("ENVIRONMENT", "test")
# A test that sets no REDIS_URL must not reach the development server's Redis (and its Celery
# worker) on the default embedded port: nothing listens on port 1, as on a fresh CI machine.
os.environ.setdefault("EMBEDDED_REDIS_PORT", "1")

from sneakers_app import migrations
from sneakers_app.db import make_engine
from tests.support import servers


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sneakers-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_root: Path) -> Path:
    path = tmp_root / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[servers.PostgresServer]:
    if not servers.postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing on CI")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed here")
    server = servers.start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: servers.PostgresServer) -> str:
    url = postgres_server.create_database("template_sneakers")
    migrations.upgrade(url)
    engine = make_engine(url)
    engine.dispose()
    return "template_sneakers"


def _fresh_sqlite(template: Path, tmp_root: Path) -> str:
    path = tmp_root / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _fresh_postgres(server: servers.PostgresServer, template: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_root: Path) -> str:
    """A freshly migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return _fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_root)
    server = request.getfixturevalue("postgres_server")
    return _fresh_postgres(server, request.getfixturevalue("postgres_template"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def redis_server() -> Iterator[servers.RedisServer]:
    server = servers.start_redis()
    yield server
    server.stop()
