"""Order books and the database: open every book, rebuild books from the database's open
orders after Redis lost them, and report every difference between the two."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from sneakers_app.models import Ask, Bid, ProductVariant, Trade
from sneakers_app.services.market import engine_order_id
from trading.engine import RedisEngine
from trading.orders import Side
from trading.recovery import Difference, OpenOrder, rebuild_book, reconcile


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def variant_ids(session: Session) -> list[int]:
    return [
        v
        for v in session.exec(select(ProductVariant.id).order_by(col(ProductVariant.id)))
        if v is not None
    ]


def open_orders(session: Session, variant_id: int) -> list[OpenOrder]:
    """Resting orders the engine has accepted, as the database records them."""
    out: list[OpenOrder] = []
    for side, table in (("bid", Bid), ("ask", Ask)):
        rows: Any = session.exec(
            select(table).where(
                table.variant_id == variant_id,
                col(table.status).in_(("open", "partially_filled")),
                table.time_in_force == "gtc",
                col(table.engine_accepted).is_(True),
            )
        ).all()
        for row in rows:
            if row.expires_at is None or row.engine_sequence < 1:
                continue
            out.append(
                OpenOrder(
                    order_id=engine_order_id(side, row.id),  # type: ignore[arg-type]
                    user_id=str(row.user_id),
                    side=Side.BID if side == "bid" else Side.ASK,
                    price_cents=row.price_cents,
                    remaining=row.quantity - row.filled_quantity,
                    sequence=row.engine_sequence,
                    expires_at=_ms(row.expires_at),
                )
            )
    return out


def last_sequence(session: Session, variant_id: int) -> int:
    """The highest book sequence the database has seen, so new trade ids never repeat."""
    highest = 0
    for table in (Bid, Ask):
        seqs: Any = session.exec(
            select(table.engine_sequence).where(table.variant_id == variant_id)
        ).all()
        highest = max([highest, *seqs])
    for trade_id in session.exec(select(Trade.id).where(Trade.variant_id == variant_id)).all():
        tail = trade_id.rsplit("-", 1)[-1]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return highest


def open_all(*, session: Session, engine: RedisEngine) -> int:
    opened = 0
    for variant_id in variant_ids(session):
        opened += int(engine.open_book(str(variant_id)))
    return opened


def rebuild_all(*, session: Session, client: Any) -> dict[int, int]:
    """Rebuild every book from the database; returns each book's order count."""
    counts: dict[int, int] = {}
    for variant_id in variant_ids(session):
        orders = open_orders(session, variant_id)
        rebuild_book(
            client, str(variant_id), orders, last_sequence=last_sequence(session, variant_id)
        )
        counts[variant_id] = len(orders)
    return counts


def reconcile_all(*, session: Session, client: Any) -> dict[int, list[Difference]]:
    """Every difference between Redis and the database, per book (empty when they agree)."""
    report: dict[int, list[Difference]] = {}
    for variant_id in variant_ids(session):
        diffs = reconcile(client, str(variant_id), open_orders(session, variant_id))
        if diffs:
            report[variant_id] = diffs
    return report
