"""The schema only changes through Alembic: upgrade, downgrade and upgrade again, on both
databases, and the models match the migrated schema."""

from __future__ import annotations

from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, DateTime, Integer, String, column, insert, inspect, select, table
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
    "api_keys",
    "api_requests",
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


def test_email_only_notifications_move_from_the_1970_marker_to_their_own_column(
    database_url: str,
) -> None:
    """0006 turns the old email-only marker (read at 1970-01-01) into `email_only`, the read
    ones and the unread ones stay as they were, and the downgrade puts the marker back."""
    epoch, read = datetime(1970, 1, 1), datetime(2025, 3, 14, 15, 9)
    users = table(
        "users",
        column("id", Integer()),
        column("email", String()),
        column("display_name", String()),
        column("password_hash", String()),
        column("is_staff", Boolean()),
        column("is_admin", Boolean()),
        column("created_at", DateTime()),
    )
    old_columns = (
        ("id", Integer()),
        ("user_id", Integer()),
        ("kind", String()),
        ("title", String()),
        ("body", String()),
        ("link", String()),
        ("dedupe_key", String()),
        ("read_at", DateTime()),
        ("created_at", DateTime()),
    )
    old = table("notifications", *(column(name, type_) for name, type_ in old_columns))
    new = table(
        "notifications",
        *(column(name, type_) for name, type_ in old_columns),
        column("email_only", Boolean()),
    )
    engine = make_engine(database_url)
    try:
        migrations.downgrade(database_url, "0005_book_sequences")
        engine.dispose()
        with engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    id=1,
                    email="old@example.com",
                    display_name="Old",
                    password_hash="x",
                    is_staff=False,
                    is_admin=False,
                    created_at=read,
                )
            )
            for id_, read_at in ((1, epoch), (2, None), (3, read)):
                conn.execute(
                    insert(old).values(
                        id=id_,
                        user_id=1,
                        kind="outbid",
                        title="t",
                        body="",
                        link="",
                        dedupe_key=f"k{id_}",
                        read_at=read_at,
                        created_at=read,
                    )
                )
        migrations.upgrade(database_url)
        engine.dispose()
        with engine.connect() as conn:
            rows = conn.execute(
                select(new.c.id, new.c.email_only, new.c.read_at).order_by(new.c.id)
            ).all()
        assert [tuple(r) for r in rows] == [(1, True, None), (2, False, None), (3, False, read)]
        migrations.downgrade(database_url, "0005_book_sequences")
        engine.dispose()
        with engine.connect() as conn:
            back = conn.execute(select(old.c.id, old.c.read_at).order_by(old.c.id)).all()
        assert [tuple(r) for r in back] == [(1, epoch), (2, None), (3, read)]
        migrations.upgrade(database_url)
    finally:
        engine.dispose()


def test_saved_cards_are_copied_and_new_statuses_are_allowed(database_url: str) -> None:
    """0007: the card each user had on file becomes their default saved card, and the database
    accepts a paused bid and an order on its way back to the seller."""
    users = table(
        "users",
        column("id", Integer()),
        column("email", String()),
        column("display_name", String()),
        column("password_hash", String()),
        column("is_staff", Boolean()),
        column("is_admin", Boolean()),
        column("default_payment_method_id", String()),
        column("card_brand", String()),
        column("card_last4", String()),
        column("created_at", DateTime()),
    )
    cards = table(
        "payment_cards",
        column("user_id", Integer()),
        column("payment_method_id", String()),
        column("brand", String()),
        column("last4", String()),
        column("is_default", Boolean()),
    )
    created = datetime(2026, 11, 1, 12, 0)
    engine = make_engine(database_url)
    try:
        migrations.downgrade(database_url, "0006_notification_email_only")
        engine.dispose()
        with engine.begin() as conn:
            for id_, pm in ((1, "pm_card_one"), (2, None)):
                conn.execute(
                    insert(users).values(
                        id=id_,
                        email=f"u{id_}@example.com",
                        display_name="U",
                        password_hash="x",
                        is_staff=False,
                        is_admin=False,
                        default_payment_method_id=pm,
                        card_brand="visa" if pm else None,
                        card_last4="4242" if pm else None,
                        created_at=created,
                    )
                )
        migrations.upgrade(database_url)
        engine.dispose()
        with engine.connect() as conn:
            rows = conn.execute(
                select(cards.c.user_id, cards.c.payment_method_id, cards.c.brand, cards.c.last4)
            ).all()
            checks = {
                t: {c["name"]: c["sqltext"] for c in inspect(conn).get_check_constraints(t)}
                for t in ("bids", "orders")
            }
        assert [tuple(r) for r in rows] == [(1, "pm_card_one", "visa", "4242")]
        assert "paused" in str(checks["bids"]["ck_bids_status"])
        assert "returning_to_seller" in str(checks["orders"]["ck_orders_status"])
    finally:
        engine.dispose()
