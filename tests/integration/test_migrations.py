"""The schema only changes through Alembic: upgrade, downgrade and upgrade again, on both
databases, and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import sneakers_app.models  # noqa: F401
from sneakers_app import migrations
from sneakers_app.db import make_engine

EXPECTED_TABLES = {
    "users",
    "addresses",
    "user_sessions",
    "login_attempts",
    "account_tokens",
    "payout_accounts",
    "products",
    "product_variants",
    "bids",
    "asks",
    "trades",
    "sales",
    "orders",
    "order_events",
    "inspections",
    "payments",
    "payouts",
    "ledger_entries",
    "ledger_transactions",
    "delivery_confirmations",
    "stripe_events",
    "notifications",
    "notification_preferences",
    "price_alerts",
    "portfolio_items",
    "outbox",
    "order_books",
    "engine_fills",
}


def _ignore_search(obj: object, name: str | None, type_: str, *_args: object) -> bool:
    return not (name or "").startswith(("products_fts", "search_vector", "ix_products_search"))


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _ignore_search}
            )
            assert compare_metadata(context, SQLModel.metadata) == []
        migrations.downgrade(database_url, "base")
        engine.dispose()
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        migrations.upgrade(database_url)
        engine.dispose()
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
