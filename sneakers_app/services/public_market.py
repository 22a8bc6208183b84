"""What the public API (`/api/v1`, docs/api.md) publishes of the market: the catalog, a size's
market, book, tape and daily history. Read-only; the same figures the pages show (the browse
grid, the product page), from the same services: voided trades are never on the tape.

Cursors are opaque to callers: a page of products is a position in the sorted list (the
catalog is small and changes rarely); a page of the tape starts below the last sale seen
(its time and id), so sales recorded meanwhile do not shift it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from sneakers_app.models import Product, ProductVariant, Sale
from sneakers_app.redis_client import get_redis
from sneakers_app.services import catalog, fees, sizes, tape, ticket
from trading import market_data

PAGE_MAX = 100


class CursorError(ValueError):
    """A cursor this API did not give out (or gave out for another list)."""


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorError("That cursor is not one this list gave out.") from exc
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise CursorError("That cursor is not one this list gave out.")
    return payload


def _limit(limit: int) -> int:
    return max(1, min(int(limit), PAGE_MAX))


# --- the catalog ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProductsPage:
    items: list[catalog.ProductCard]
    next_cursor: str | None


def products(
    *,
    session: Session,
    query: str = "",
    brand: str = "",
    size: str = "",
    sort: str = "most_active",
    cursor: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> ProductsPage:
    """The browse grid's products (the same search, brand, size and sorts), a page at a time."""
    if sort not in catalog.SORTS:
        raise ValueError("sort must be one of " + ", ".join(catalog.SORTS) + ".")
    key = [query, brand, size, sort]
    offset = 0
    if cursor:
        payload = _decode(cursor, "products")
        if payload.get("q") != key or type(payload.get("o")) is not int:
            raise CursorError("That cursor belongs to another search: start from the first page.")
        offset = max(0, payload["o"])
    cards = catalog.browse(
        session=session,
        filters=catalog.BrowseFilters(query=query, brand=brand, size=size, sort=sort),
        limit=200,
        now=now,
    )
    n = _limit(limit)
    page = cards[offset : offset + n]
    more = offset + n < len(cards)
    return ProductsPage(
        items=page,
        next_cursor=_encode({"k": "products", "q": key, "o": offset + n}) if more else None,
    )


@dataclass(frozen=True, kw_only=True)
class Size:
    variant_id: int
    size: str
    """As stored (the brand's own chart: US men's, US women's "W", grade school "Y")."""
    in_systems: dict[str, str]
    """The same size in every system (us_m, us_w, uk, eu, cm)."""
    last_sale_cents: int | None


@dataclass(frozen=True, kw_only=True)
class ProductView:
    product: catalog.ProductDetail
    sizes: list[Size]


def product(*, session: Session, slug: str) -> ProductView | None:
    detail = catalog.get_product(session=session, slug=slug)
    if detail is None:
        return None
    return ProductView(
        product=detail,
        sizes=[
            Size(
                variant_id=v.id,
                size=v.size,
                in_systems=sizes.conversions(
                    brand=detail.brand, chart=detail.size_chart, size=v.size
                ),
                last_sale_cents=v.last_sale_cents,
            )
            for v in detail.variants
        ],
    )


@dataclass(frozen=True, kw_only=True)
class VariantRef:
    variant_id: int
    product_id: int
    slug: str
    size: str


def variant(*, session: Session, variant_id: int) -> VariantRef | None:
    """A size by its id, or None when there is no such size."""
    if not 0 < variant_id < 2**31:
        return None
    row = session.exec(
        select(ProductVariant.id, ProductVariant.product_id, Product.slug, ProductVariant.size)
        .join(Product, col(Product.id) == col(ProductVariant.product_id))
        .where(col(ProductVariant.id) == variant_id)
    ).first()
    if row is None:
        return None
    return VariantRef(variant_id=variant_id, product_id=int(row[1]), slug=row[2], size=row[3])


# --- one size's market ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LastSale:
    price_cents: int
    executed_at: datetime


@dataclass(frozen=True, kw_only=True)
class Market:
    variant_id: int
    lowest_ask_cents: int | None
    lowest_ask_quantity: int
    highest_bid_cents: int | None
    highest_bid_quantity: int
    last_sale: LastSale | None
    sell_faster_cents: int | None
    """An ask at this price sells at once (the highest bid), when it is a price one may ask."""
    earn_more_cents: int | None
    """An ask at this price is first in line without selling to the highest bid (the lowest
    ask undercut by $1)."""
    minimum_ask_cents: int
    sequence: int


def market(*, session: Session, ref: VariantRef) -> Market:
    top = market_data.top_of_book(get_redis(), str(ref.variant_id))
    faster, first = ticket.ask_prices((top.bid_cents, top.ask_cents))
    row = session.exec(
        select(Sale.price_cents, Sale.executed_at)
        .where(col(Sale.variant_id) == ref.variant_id, tape.is_public())
        .order_by(col(Sale.executed_at).desc(), col(Sale.id).desc())
        .limit(1)
    ).first()
    return Market(
        variant_id=ref.variant_id,
        lowest_ask_cents=top.ask_cents,
        lowest_ask_quantity=top.ask_quantity,
        highest_bid_cents=top.bid_cents,
        highest_bid_quantity=top.bid_quantity,
        last_sale=LastSale(price_cents=int(row[0]), executed_at=row[1]) if row else None,
        sell_faster_cents=faster,
        earn_more_cents=first,
        minimum_ask_cents=fees.minimum_ask_cents(),
        sequence=top.sequence,
    )


def book(*, ref: VariantRef) -> market_data.Depth:
    """Every price level of both sides at one sequence of the book."""
    return market_data.snapshot(get_redis(), str(ref.variant_id))


@dataclass(frozen=True, kw_only=True)
class TapePage:
    items: list[tuple[int, int, datetime]]
    """(sale id, price in cents, when), newest first."""
    next_cursor: str | None


def trades(
    *, session: Session, ref: VariantRef, cursor: str | None = None, limit: int = 50
) -> TapePage:
    """The size's public sales, newest first (voided trades are not on the tape)."""
    n = _limit(limit)
    stmt = select(Sale.id, Sale.price_cents, Sale.executed_at).where(
        col(Sale.variant_id) == ref.variant_id, tape.is_public()
    )
    if cursor:
        payload = _decode(cursor, "tape")
        at, below = payload.get("t"), payload.get("i")
        if payload.get("v") != ref.variant_id:
            raise CursorError("That cursor belongs to another size's tape.")
        if not isinstance(at, str) or type(below) is not int or not 0 < below < 2**31:
            raise CursorError("That cursor is not one this list gave out.")
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as exc:
            raise CursorError("That cursor is not one this list gave out.") from exc
        if moment.tzinfo is None:
            raise CursorError("That cursor is not one this list gave out.")
        stmt = stmt.where(
            or_(
                col(Sale.executed_at) < moment,
                and_(col(Sale.executed_at) == moment, col(Sale.id) < below),
            )
        )
    rows = session.exec(
        stmt.order_by(col(Sale.executed_at).desc(), col(Sale.id).desc()).limit(n + 1)
    ).all()
    items = [(int(i or 0), int(p), at) for i, p, at in rows[:n]]
    next_cursor = None
    if len(rows) > n:
        last_id, _, last_at = items[-1]
        next_cursor = _encode(
            {
                "k": "tape",
                "v": ref.variant_id,
                "t": last_at.astimezone(UTC).isoformat(),
                "i": last_id,
            }
        )
    return TapePage(items=items, next_cursor=next_cursor)


@dataclass(frozen=True, kw_only=True)
class Candle:
    day: date
    open_cents: int
    high_cents: int
    low_cents: int
    close_cents: int
    volume: int


def history(
    *, session: Session, ref: VariantRef, start: date | None = None, end: date | None = None
) -> list[Candle]:
    """One candle per UTC day with public sales, oldest first: the day's first, highest,
    lowest and last price and how many pairs sold."""
    stmt = select(Sale.price_cents, Sale.executed_at).where(
        col(Sale.variant_id) == ref.variant_id, tape.is_public()
    )
    if start is not None:
        stmt = stmt.where(
            col(Sale.executed_at) >= datetime.combine(start, datetime.min.time(), UTC)
        )
    if end is not None:
        after = datetime.combine(end, datetime.max.time(), UTC)
        stmt = stmt.where(col(Sale.executed_at) <= after)
    candles: list[Candle] = []
    for price, at in session.exec(stmt.order_by(col(Sale.executed_at), col(Sale.id))).all():
        day, p = at.astimezone(UTC).date(), int(price)
        if candles and candles[-1].day == day:
            c = candles[-1]
            candles[-1] = Candle(
                day=day,
                open_cents=c.open_cents,
                high_cents=max(c.high_cents, p),
                low_cents=min(c.low_cents, p),
                close_cents=p,
                volume=c.volume + 1,
            )
        else:
            candles.append(
                Candle(day=day, open_cents=p, high_cents=p, low_cents=p, close_cents=p, volume=1)
            )
    return candles
