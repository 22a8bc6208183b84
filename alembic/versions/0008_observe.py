"""Observe: payouts due are counted at each metrics scrape, by status and oldest creation, on an
index instead of a scan of every payout ever made

Revision ID: 0008_observe
Revises: 0007_checkout_to_doorstep
Create Date: 2026-12-03

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_observe"
down_revision: str | Sequence[str] | None = "0007_checkout_to_doorstep"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_payouts_status_created", "payouts", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_payouts_status_created", table_name="payouts")
