"""money and staff: voided sales, card failures, payout snapshots, unique ledger transactions,
delivery confirmations

Revision ID: 0003_money
Revises: 0002_accounts
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003_money"
down_revision: str | Sequence[str] | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_saved_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        for name, length in (
            ("destination_kind", 20),
            ("destination_ref", 255),
            ("destination_holder", 120),
            ("failure_reason", 500),
        ):
            batch_op.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
    # Payouts created before this revision go where the seller's details point today.
    op.execute(
        "UPDATE payouts SET "
        "destination_kind = COALESCE((SELECT a.kind FROM payout_accounts a "
        "WHERE a.user_id = payouts.seller_id), ''), "
        "destination_ref = COALESCE((SELECT a.account_ref FROM payout_accounts a "
        "WHERE a.user_id = payouts.seller_id), ''), "
        "destination_holder = COALESCE((SELECT a.holder_name FROM payout_accounts a "
        "WHERE a.user_id = payouts.seller_id), '')"
    )

    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO ledger_transactions (id, order_id, memo, created_at) "
        "SELECT txn_id, MIN(order_id), MIN(memo), MIN(created_at) FROM ledger_entries "
        "GROUP BY txn_id"
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_ledger_entries_txn_id", "ledger_transactions", ["txn_id"], ["id"]
        )

    op.create_table(
        "delivery_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("carrier_event", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "source IN ('staff', 'carrier')", name="ck_delivery_confirmations_source"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "staff_id", name="uq_delivery_confirmations_staff"),
    )
    with op.batch_alter_table("delivery_confirmations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_confirmations_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_confirmations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_confirmations_order_id"))
    op.drop_table("delivery_confirmations")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ledger_entries_txn_id", type_="foreignkey")
    op.drop_table("ledger_transactions")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        for name in ("failure_reason", "destination_holder", "destination_ref", "destination_kind"):
            batch_op.drop_column(name)
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.drop_column("voided_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("card_saved_at")
