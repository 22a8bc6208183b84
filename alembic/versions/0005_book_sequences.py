"""order_books: the last sequence the database saw from each book in the engine;
engine_fills: fills reported to users that the journal consumer has not recorded yet

Revision ID: 0005_book_sequences
Revises: 0004_outbox
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005_book_sequences"
down_revision: str | Sequence[str] | None = "0004_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_books",
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["product_variants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("variant_id"),
    )
    op.create_table(
        "engine_fills",
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["product_variants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    op.create_index("ix_engine_fills_variant_id", "engine_fills", ["variant_id"])


def downgrade() -> None:
    op.drop_index("ix_engine_fills_variant_id", table_name="engine_fills")
    op.drop_table("engine_fills")
    op.drop_table("order_books")
