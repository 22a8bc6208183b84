"""Checkout to doorstep: saved cards (payment_cards, the current card of each user copied in);
the address and card a bid uses and the address an ask returns to; the order's snapshots of
both addresses and of the card charged, and the return shipment's tracking; a listing may be
paused and an order may be on its way back to the seller; each user's size system and each
product's size chart

Revision ID: 0007_checkout_to_doorstep
Revises: 0006_notification_email_only
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007_checkout_to_doorstep"
down_revision: str | Sequence[str] | None = "0006_notification_email_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LISTING_OLD = ("open", "partially_filled", "filled", "cancelled", "expired")
_LISTING_NEW = (*_LISTING_OLD, "paused")
_ORDER_OLD = (
    "created",
    "paid",
    "payment_failed",
    "awaiting_shipment",
    "shipped_to_verification",
    "received",
    "authenticating",
    "authenticated",
    "auth_failed",
    "shipped_to_buyer",
    "delivered",
    "completed",
    "seller_did_not_ship",
    "returned_to_seller",
    "cancelled",
)
_ORDER_NEW = (*_ORDER_OLD[:-2], "returning_to_seller", *_ORDER_OLD[-2:])


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _status_check(table: str, name: str, values: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, _in("status", values))


def upgrade() -> None:
    op.create_table(
        "payment_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_method_id"),
    )
    op.create_index("ix_payment_cards_user_id", "payment_cards", ["user_id"])
    op.execute(
        "INSERT INTO payment_cards (user_id, payment_method_id, brand, last4, exp_month, "
        "exp_year, is_default, created_at) SELECT id, default_payment_method_id, "
        "COALESCE(card_brand, ''), COALESCE(card_last4, ''), 0, 0, true, "
        "COALESCE(card_saved_at, created_at) FROM users "
        "WHERE default_payment_method_id IS NOT NULL"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("size_system", sa.String(length=8), server_default="us_m", nullable=False)
        )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("size_chart", sa.String(length=12), server_default="men", nullable=False)
        )
    for table in ("bids", "asks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("address_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_address_id", "addresses", ["address_id"], ["id"], ondelete="SET NULL"
            )
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_card_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_bids_payment_card_id",
            "payment_cards",
            ["payment_card_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_tracking", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("buyer_address", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("seller_address", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("payment_method_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("card_brand", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("card_last4", sa.String(length=4), server_default="", nullable=False)
        )
    _status_check("bids", "ck_bids_status", _LISTING_NEW)
    _status_check("asks", "ck_asks_status", _LISTING_NEW)
    _status_check("orders", "ck_orders_status", _ORDER_NEW)


def downgrade() -> None:
    op.execute("UPDATE bids SET status = 'cancelled' WHERE status = 'paused'")
    op.execute("UPDATE asks SET status = 'cancelled' WHERE status = 'paused'")
    op.execute(
        "UPDATE orders SET status = 'returned_to_seller' WHERE status = 'returning_to_seller'"
    )
    _status_check("orders", "ck_orders_status", _ORDER_OLD)
    _status_check("asks", "ck_asks_status", _LISTING_OLD)
    _status_check("bids", "ck_bids_status", _LISTING_OLD)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in (
            "card_last4",
            "card_brand",
            "payment_method_id",
            "seller_address",
            "buyer_address",
            "return_tracking",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bids_payment_card_id", type_="foreignkey")
        batch_op.drop_column("payment_card_id")
    for table in ("asks", "bids"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_address_id", type_="foreignkey")
            batch_op.drop_column("address_id")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("size_chart")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("size_system")
    op.drop_index("ix_payment_cards_user_id", table_name="payment_cards")
    op.drop_table("payment_cards")
