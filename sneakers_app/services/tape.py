"""The public tape (`sales`): which rows count, and voiding the rows of a trade never paid.

A sale row is written when the engine matches (the journal consumer), before the buyer is
charged. If the charge finally fails (or the order is cancelled before it was ever paid) the
trade is void: its rows stay (the order history and the audit keep them) but get `voided_at`,
and every public figure (last sale, charts, 12-month stats, browse cards, portfolio values)
reads only rows without it, through `is_public()`. Otherwise anyone could print any price on
the tape for free with a card that fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from sneakers_app.models import Sale, utcnow


def is_public() -> Any:
    """The condition every reader of `sales` adds: the row's trade was not voided."""
    return col(Sale.voided_at).is_(None)


def void_trade(*, session: Session, trade_id: str, now: datetime | None = None) -> int:
    """Take a trade's rows off the tape (idempotent); returns how many rows it voided."""
    result = session.execute(
        update(Sale)
        .where(col(Sale.trade_id) == trade_id, col(Sale.voided_at).is_(None))
        .values(voided_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
