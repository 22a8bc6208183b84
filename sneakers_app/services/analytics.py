"""Market analytics for a product page: price history, stats, recent sales, per-size quotes.

Everything is derived from the public tape (`sales`) and the engine's top of book. History is
aggregated per UTC day in SQL (count, sum, low, high), so a chart of "All" never ships every sale
to Python. Money stays in integer cents; ratios (volatility, premium) are basis points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import BigInteger, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from sneakers_app.models import Ask, Bid, Product, ProductVariant, Sale, Trade, utcnow
from sneakers_app.services import tape
from sneakers_app.vocabulary import LISTING_OPEN, ratio_bp
from trading import market_data

Range = Literal["1M", "3M", "6M", "1Y", "All"]
RANGES: tuple[Range, ...] = ("1M", "3M", "6M", "1Y", "All")
_RANGE_DAYS: dict[str, int | None] = {"1M": 30, "3M": 91, "6M": 182, "1Y": 365, "All": None}
STATS_WINDOW = timedelta(days=365)
MAX_RECENT = 100


class AnalyticsError(ValueError):
    """An argument from outside (range, size) that is not one we offer."""


@dataclass(frozen=True, kw_only=True)
class DailyPoint:
    day: date
    average_cents: int
    low_cents: int
    high_cents: int
    volume: int


@dataclass(frozen=True, kw_only=True)
class SaleView:
    size: str
    price_cents: int
    executed_at: datetime


@dataclass(frozen=True, kw_only=True)
class LastSale:
    price_cents: int
    executed_at: datetime
    change_cents: int | None
    """Against the sale before it (None when there is only one)."""
    change_bp: int | None


@dataclass(frozen=True, kw_only=True)
class Stats:
    sales_12m: int
    sales_total: int
    high_12m_cents: int | None
    low_12m_cents: int | None
    average_12m_cents: int | None
    volatility_bp: int | None
    """Standard deviation / mean of the last 12 months' sale prices, in basis points."""
    premium_bp: int | None
    """(last sale - retail) / retail, in basis points (negative below retail)."""
    last_sale: LastSale | None


@dataclass(frozen=True, kw_only=True)
class OwnOrder:
    side: Literal["bid", "ask"]
    row_id: int
    variant_id: int
    price_cents: int
    remaining: int
    expires_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class SizeQuote:
    variant_id: int
    bid_cents: int | None
    ask_cents: int | None


def _range_days(range_: str) -> int | None:
    if range_ not in _RANGE_DAYS:
        raise AnalyticsError(f"Unknown range {range_!r}; choose one of {', '.join(RANGES)}.")
    return _RANGE_DAYS[range_]


def _scope(product_id: int, variant_id: int | None) -> list[Any]:
    conditions: list[Any] = [col(Sale.product_id) == product_id, tape.is_public()]
    if variant_id is not None:
        conditions.append(col(Sale.variant_id) == variant_id)
    return conditions


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def price_history(
    *,
    session: Session,
    product_id: int,
    variant_id: int | None = None,
    range_: str = "1Y",
    now: datetime | None = None,
) -> list[DailyPoint]:
    """One point per day with sales in the range (oldest first): average, low, high, volume."""
    days = _range_days(range_)
    now = now or utcnow()
    day = func.date(col(Sale.executed_at))
    conditions = _scope(product_id, variant_id)
    if days is not None:
        start = datetime.combine((now - timedelta(days=days - 1)).date(), datetime.min.time())
        conditions.append(col(Sale.executed_at) >= start.replace(tzinfo=UTC))
    rows = (
        session.connection()
        .execute(
            sa_select(
                day,
                func.count(),
                func.sum(col(Sale.price_cents)),
                func.min(col(Sale.price_cents)),
                func.max(col(Sale.price_cents)),
            )
            .where(*conditions)
            .group_by(day)
            .order_by(day)
        )
        .all()
    )
    points = []
    for raw_day, count, total, low, high in rows:
        n = int(count)
        points.append(
            DailyPoint(
                day=_as_date(raw_day),
                average_cents=(int(total) + n // 2) // n,
                low_cents=int(low),
                high_cents=int(high),
                volume=n,
            )
        )
    return points


def last_sale(
    *, session: Session, product_id: int, variant_id: int | None = None
) -> LastSale | None:
    """The newest sale and its change against the one before it."""
    rows = session.exec(
        select(Sale.price_cents, Sale.executed_at)
        .where(*_scope(product_id, variant_id))
        .order_by(col(Sale.executed_at).desc(), col(Sale.id).desc())
        .limit(2)
    ).all()
    if not rows:
        return None
    price, at = int(rows[0][0]), rows[0][1]
    change = change_bp = None
    if len(rows) == 2:
        previous = int(rows[1][0])
        change = price - previous
        change_bp = ratio_bp(change, previous) if previous else None
    return LastSale(price_cents=price, executed_at=at, change_cents=change, change_bp=change_bp)


def stats(
    *,
    session: Session,
    product_id: int,
    variant_id: int | None = None,
    now: datetime | None = None,
) -> Stats:
    """12-month high/low/average and volatility, premium of the last sale over retail, counts."""
    now = now or utcnow()
    scope = _scope(product_id, variant_id)
    price = cast(col(Sale.price_cents), BigInteger)
    count, total, squares, low, high = (
        session.connection()
        .execute(
            sa_select(
                func.count(),
                func.sum(price),
                func.sum(price * price),
                func.min(col(Sale.price_cents)),
                func.max(col(Sale.price_cents)),
            ).where(*scope, col(Sale.executed_at) >= now - STATS_WINDOW)
        )
        .one()
    )
    total_count = session.exec(select(func.count()).select_from(Sale).where(*scope)).one()
    n = int(count)
    average = volatility = None
    if n:
        mean = int(total) / n
        variance = max(0.0, int(squares) / n - mean * mean)
        average = (int(total) + n // 2) // n
        volatility = round(math.sqrt(variance) / mean * 10_000) if mean else None
    last = last_sale(session=session, product_id=product_id, variant_id=variant_id)
    retail = session.exec(select(Product.retail_price_cents).where(Product.id == product_id)).one()
    premium = None
    if last is not None and retail:
        premium = ratio_bp(last.price_cents - int(retail), int(retail))
    return Stats(
        sales_12m=n,
        sales_total=int(total_count),
        high_12m_cents=int(high) if n else None,
        low_12m_cents=int(low) if n else None,
        average_12m_cents=average,
        volatility_bp=volatility,
        premium_bp=premium,
        last_sale=last,
    )


def recent_sales(
    *, session: Session, product_id: int, variant_id: int | None = None, limit: int = 10
) -> list[SaleView]:
    """Newest first, with the size each pair sold in."""
    rows = session.exec(
        select(ProductVariant.size, Sale.price_cents, Sale.executed_at)
        .join(ProductVariant, col(ProductVariant.id) == col(Sale.variant_id))
        .where(*_scope(product_id, variant_id))
        .order_by(col(Sale.executed_at).desc(), col(Sale.id).desc())
        .limit(max(1, min(limit, MAX_RECENT)))
    ).all()
    return [SaleView(size=s, price_cents=int(p), executed_at=at) for s, p, at in rows]


def trade_recorded(*, session: Session, trade_id: str) -> bool:
    """Whether the database knows an engine trade (paid, pending or voided). The engine's own
    "last trade" is shown ahead of the tape only while it is not recorded: once it is, the
    tape decides, so a voided trade's price does not linger as the engine's last trade."""
    return session.exec(select(Trade.id).where(col(Trade.id) == trade_id[:64])).first() is not None


def size_quotes(client: Any, variant_ids: Iterable[int]) -> dict[int, SizeQuote]:
    """Lowest ask and highest bid of every size, in one pipelined round trip."""
    ids = [int(v) for v in variant_ids]
    tops = market_data.tops(client, [str(v) for v in ids])
    return {
        v: SizeQuote(
            variant_id=v, bid_cents=tops[str(v)].bid_cents, ask_cents=tops[str(v)].ask_cents
        )
        for v in ids
    }


def best_of(quotes: Sequence[SizeQuote]) -> tuple[int | None, int | None]:
    """(highest bid, lowest ask) across sizes."""
    bids = [q.bid_cents for q in quotes if q.bid_cents is not None]
    asks = [q.ask_cents for q in quotes if q.ask_cents is not None]
    return (max(bids) if bids else None, min(asks) if asks else None)


def own_open_orders(
    *, session: Session, user_id: int, variant_ids: Iterable[int]
) -> list[OwnOrder]:
    """A user's resting bids and asks on these sizes (to mark them in the book), best first."""
    ids = [int(v) for v in variant_ids]
    if not ids:
        return []
    out: list[OwnOrder] = []
    tables: tuple[tuple[Literal["bid", "ask"], Any], ...] = (("bid", Bid), ("ask", Ask))
    for side, table in tables:
        rows: Sequence[Bid | Ask] = session.exec(
            select(table).where(
                col(table.user_id) == user_id,
                col(table.variant_id).in_(ids),
                col(table.status).in_(LISTING_OPEN),
                col(table.time_in_force) == "gtc",
            )
        ).all()
        for row in rows:
            out.append(
                OwnOrder(
                    side=side,
                    row_id=row.id or 0,
                    variant_id=row.variant_id,
                    price_cents=row.price_cents,
                    remaining=row.quantity - row.filled_quantity,
                    expires_at=row.expires_at,
                )
            )
    out.sort(key=lambda o: (o.side, -o.price_cents if o.side == "bid" else o.price_cents))
    return out
