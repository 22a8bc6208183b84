"""Alembic environment: the models' metadata, the URL from settings (or the caller's connection)."""

from __future__ import annotations

from logging.config import fileConfig

from sqlmodel import SQLModel

import sneakers_app.models  # noqa: F401  (registers every table on the metadata)
from alembic import context
from sneakers_app.db import make_engine
from sneakers_app.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our column types as plain SQLAlchemy ones so migrations don't import the app."""
    name = type(obj).__name__
    if type_ == "type" and name == "AutoString":
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    if type_ == "type" and name == "UTCDateTime":
        return "sa.DateTime()"
    return False


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Full-text search objects are made by hand in migration 0001; autogenerate leaves them be."""
    if name and (
        name.startswith("products_fts") or name in ("search_vector", "ix_products_search")
    ):
        return False
    return True


def _url() -> str:
    return str(config.attributes.get("database_url") or get_settings().DATABASE_URL)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # SQLite's batch mode rebuilds a table (copy, drop, rename): with foreign keys on, dropping
    # `users` would cascade-delete every row that refers to it. The pragma only takes effect
    # outside a transaction; the app's connections turn it back on (sneakers_app/db.py).
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        if connection.in_transaction():
            connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
