"""notifications.email_only: a notice the user wants by email only says so in its own column
instead of being stored as read at 1970-01-01 (the old marker); those rows' read_at goes back
to NULL, its one meaning being "read in the inbox", which they never were

Revision ID: 0006_notification_email_only
Revises: 0005_book_sequences
Create Date: 2026-12-03

"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from alembic import op

revision: str = "0006_notification_email_only"
down_revision: str | Sequence[str] | None = "0005_book_sequences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The instant the old code stored as read_at for an email-only notice (naive UTC, as stored).
_OLD_MARKER = datetime(1970, 1, 1)

_notifications = sa.table(
    "notifications",
    sa.column("read_at", sa.DateTime()),
    sa.column("email_only", sa.Boolean()),
)


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_only", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        _notifications.update()
        .where(_notifications.c.read_at == sa.bindparam("marker", _OLD_MARKER, sa.DateTime()))
        .values(email_only=True, read_at=None)
    )


def downgrade() -> None:
    op.execute(
        _notifications.update()
        .where(_notifications.c.email_only.is_(True))
        .values(read_at=sa.bindparam("marker", _OLD_MARKER, sa.DateTime()))
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("email_only")
