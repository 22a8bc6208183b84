"""The catalog: browse, full-text search (SQLite FTS5 or PostgreSQL tsvector) and product pages.

Search text from the browser is reduced to word tokens before it reaches SQL, so quotes, `*`,
operators and injection attempts are plain words or nothing, never syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from sneakers_app.models import Ask, Product, ProductVariant, Sale
from sneakers_app.services import sizes, tape
from sneakers_app.vocabulary import LISTING_OPEN, change_bp

MAX_QUERY_CHARS = 200
MAX_TOKENS = 8
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,159}$")


@dataclass(frozen=True, kw_only=True)
class ProductCard:
    id: int
    slug: str
    name: str
    brand: str
    colorway: str
    image: str
    retail_price_cents: int
    release_date: date
    last_sale_cents: int | None
    lowest_ask_cents: int | None = None
    change_24h_bp: int | None = None
    change_30d_bp: int | None = None
    sales_30d: int = 0

    @property
    def display_price_cents(self) -> int | None:
        """What a buyer would pay now (the lowest ask), else the last sale."""
        return self.lowest_ask_cents if self.lowest_ask_cents is not None else self.last_sale_cents


@dataclass(frozen=True, kw_only=True)
class VariantInfo:
    id: int
    size: str
    last_sale_cents: int | None


@dataclass(frozen=True, kw_only=True)
class ProductFacts:
    """A product as listed, apart from its market: what a product page shows of the pair
    itself, and its sizes (variant id, size) in size order."""

    id: int
    slug: str
    name: str
    brand: str
    model: str
    colorway: str
    style_code: str
    description: str
    image: str
    retail_price_cents: int
    release_date: date
    size_chart: str
    sizes: tuple[tuple[int, str], ...]


@dataclass(frozen=True, kw_only=True)
class ProductDetail(ProductFacts):
    """A product's facts with its sales: each size's last sale, the product's, and how many."""

    variants: list[VariantInfo]
    last_sale_cents: int | None
    sales_count: int


def search_tokens(query: str) -> list[str]:
    """The words of a search box's text; everything else is dropped."""
    return [t.lower()[:40] for t in _TOKEN.findall((query or "")[:MAX_QUERY_CHARS])][:MAX_TOKENS]


def _matching_ids(session: Session, tokens: list[str]) -> list[int]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        match = " ".join(f'"{t}"*' for t in tokens)
        rows = session.connection().execute(
            text("SELECT rowid FROM products_fts WHERE products_fts MATCH :q ORDER BY rank"),
            {"q": match},
        )
    else:
        tsquery = " & ".join(f"{t}:*" for t in tokens)
        rows = session.connection().execute(
            text(
                "SELECT id FROM products WHERE search_vector @@ to_tsquery('simple', :q) "
                "ORDER BY ts_rank(search_vector, to_tsquery('simple', :q)) DESC"
            ),
            {"q": tsquery},
        )
    return [int(r[0]) for r in rows]


def _last_sales_by_product(session: Session, product_ids: list[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    latest = (
        select(Sale.product_id, func.max(Sale.id).label("sale_id"))
        .where(col(Sale.product_id).in_(product_ids), tape.is_public())
        .group_by(col(Sale.product_id))
        .subquery()
    )
    rows = session.exec(
        select(Sale.product_id, Sale.price_cents).join(latest, col(Sale.id) == latest.c.sale_id)
    ).all()
    return {int(pid): int(price) for pid, price in rows}


SORTS = ("most_active", "price_low", "price_high", "newest", "biggest_change")


@dataclass(frozen=True, kw_only=True)
class BrowseFilters:
    """What the browse page asks for; every field is already parsed and bounded."""

    query: str = ""
    brand: str = ""
    size: str = ""
    """A size in any system ("EU 44", "UK 9", "28 cm", "10.5"); a size named in `query` counts
    when this is empty."""
    size_system: str = sizes.DEFAULT_SYSTEM
    """The system a bare number in `size` is read in (the member's)."""
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    release_year: int | None = None
    sort: str = "most_active"


def _market_figures(
    session: Session, product_ids: list[int], variant_ids: list[int] | None, now: datetime
) -> dict[int, dict[str, int | None]]:
    """Lowest ask, last sale, prices 24 h and 30 days ago, and 30-day volume per product."""
    if not product_ids:
        return {}
    figures: dict[int, dict[str, int | None]] = {
        pid: {"ask": None, "last": None, "day": None, "month": None, "volume": 0}
        for pid in product_ids
    }
    variant_filter: list[Any] = [tape.is_public()]
    if variant_ids is not None:
        variant_filter.append(col(Sale.variant_id).in_(variant_ids))

    def last_price_before(moment: datetime | None, key: str) -> None:
        inner = select(func.max(Sale.id)).where(
            col(Sale.product_id).in_(product_ids), *variant_filter
        )
        if moment is not None:
            inner = inner.where(col(Sale.executed_at) <= moment)
        inner = inner.group_by(col(Sale.product_id))
        for pid, price in session.exec(
            select(Sale.product_id, Sale.price_cents).where(col(Sale.id).in_(inner))
        ).all():
            figures[int(pid)][key] = int(price)

    last_price_before(None, "last")
    last_price_before(now - timedelta(days=1), "day")
    last_price_before(now - timedelta(days=30), "month")
    for pid, n in session.exec(
        select(Sale.product_id, func.count())
        .where(
            col(Sale.product_id).in_(product_ids),
            col(Sale.executed_at) > now - timedelta(days=30),
            *variant_filter,
        )
        .group_by(col(Sale.product_id))
    ).all():
        figures[int(pid)]["volume"] = int(n)
    asks = (
        select(ProductVariant.product_id, func.min(Ask.price_cents))
        .join(ProductVariant, col(ProductVariant.id) == Ask.variant_id)
        .where(
            col(ProductVariant.product_id).in_(product_ids),
            col(Ask.status).in_(LISTING_OPEN),
            col(Ask.time_in_force) == "gtc",
        )
        .group_by(col(ProductVariant.product_id))
    )
    if variant_ids is not None:
        asks = asks.where(col(ProductVariant.id).in_(variant_ids))
    for pid, price in session.exec(asks).all():
        figures[int(pid)]["ask"] = int(price)
    return figures


def browse(
    *, session: Session, filters: BrowseFilters, limit: int = 120, now: datetime | None = None
) -> list[ProductCard]:
    """The browse grid: search, filter, sort, with each product's market figures."""
    now = now or datetime.now(UTC)
    variant_ids, text_query = _size_scope(session, filters)
    if variant_ids == []:
        return []
    tokens = search_tokens(text_query)
    stmt = _filtered(filters, variant_ids)
    rank: dict[int, int] = {}
    if tokens:
        order = _matching_ids(session, tokens)
        if not order:
            return []
        rank = {pid: i for i, pid in enumerate(order)}
        stmt = stmt.where(col(Product.id).in_(order))
    products = list(session.exec(stmt).all())
    figures = _market_figures(
        session, [p.id for p in products if p.id is not None], variant_ids, now
    )
    cards = []
    for p in products:
        f = figures.get(p.id or 0, {})
        if _in_price_range(f.get("ask") or f.get("last"), filters):
            cards.append(_card(p, f))
    by_rank = bool(tokens) and filters.sort == "most_active"
    by_rank = by_rank and not any((filters.brand, variant_ids is not None, filters.release_year))
    if by_rank:
        cards.sort(key=lambda c: rank.get(c.id, 0))
    else:
        cards = _sorted(cards, filters.sort if filters.sort in SORTS else "most_active")
    return cards[: max(1, min(limit, 200))]


def _size_scope(session: Session, filters: BrowseFilters) -> tuple[list[int] | None, str]:
    """The variants of the size asked for (None: any size; a size that is not one matches
    nothing) and the search text left once a size named in it is taken out ("jordan eu 44")."""
    if filters.size:
        wanted = sizes.parse(filters.size, default_system=filters.size_system)
        if wanted is None:
            return [], filters.query
        return variants_of_size(session=session, wanted=wanted), filters.query
    found = sizes.find_in_text(filters.query, default_system=filters.size_system)
    if found is None:
        return None, filters.query
    wanted, rest = found
    return variants_of_size(session=session, wanted=wanted), rest


def variants_of_size(*, session: Session, wanted: sizes.SizeQuery) -> list[int]:
    """Every variant that is the size asked for on its product's brand and size chart."""
    rows = session.exec(
        select(ProductVariant.id, ProductVariant.size, Product.brand, Product.size_chart).join(
            Product, col(Product.id) == ProductVariant.product_id
        )
    ).all()
    return [
        int(vid)
        for vid, size, brand, chart in rows
        if vid is not None and sizes.matches(wanted, brand=brand, chart=chart, size=size)
    ]


def _filtered(filters: BrowseFilters, variant_ids: list[int] | None) -> SelectOfScalar[Product]:
    """The products of the brand, release year and size asked for."""
    stmt = select(Product)
    if filters.brand:
        stmt = stmt.where(Product.brand == filters.brand[:60])
    if filters.release_year:
        stmt = stmt.where(
            col(Product.release_date) >= date(filters.release_year, 1, 1),
            col(Product.release_date) <= date(filters.release_year, 12, 31),
        )
    if variant_ids is not None:
        stmt = stmt.where(
            col(Product.id).in_(
                select(ProductVariant.product_id).where(col(ProductVariant.id).in_(variant_ids))
            )
        )
    return stmt


def _in_price_range(price: int | None, filters: BrowseFilters) -> bool:
    """Whether a price (lowest ask, else last sale) is within the bounds asked for; no price is
    out as soon as either bound is set."""
    low, high = filters.min_price_cents, filters.max_price_cents
    if low is not None and (price is None or price < low):
        return False
    if high is not None and (price is None or price > high):
        return False
    return True


def _card(p: Product, f: dict[str, int | None]) -> ProductCard:
    return ProductCard(
        id=p.id or 0,
        slug=p.slug,
        name=p.name,
        brand=p.brand,
        colorway=p.colorway,
        image=p.image,
        retail_price_cents=p.retail_price_cents,
        release_date=p.release_date,
        last_sale_cents=f.get("last"),
        lowest_ask_cents=f.get("ask"),
        change_24h_bp=change_bp(f.get("last"), f.get("day")),
        change_30d_bp=change_bp(f.get("last"), f.get("month")),
        sales_30d=int(f.get("volume") or 0),
    )


def _sorted(cards: list[ProductCard], sort: str) -> list[ProductCard]:
    """The cards in one of the SORTS orders (priced before unpriced when sorting by price)."""
    if sort == "most_active":
        return sorted(cards, key=lambda c: (-c.sales_30d, c.name))
    if sort in ("price_low", "price_high"):
        priced = [c for c in cards if c.display_price_cents is not None]
        unpriced = [c for c in cards if c.display_price_cents is None]
        priced.sort(key=lambda c: c.display_price_cents or 0, reverse=sort == "price_high")
        return priced + unpriced
    if sort == "newest":
        return sorted(cards, key=lambda c: (c.release_date, c.id), reverse=True)
    return sorted(cards, key=lambda c: -abs(c.change_30d_bp or 0))


def search_products(
    *, session: Session, query: str = "", brand: str = "", limit: int = 60
) -> list[ProductCard]:
    """Products matching the search text and brand, best match first (newest first otherwise)."""
    return browse(
        session=session,
        filters=BrowseFilters(query=query, brand=brand, sort="most_active" if query else "newest"),
        limit=limit,
    )


def release_years(*, session: Session) -> list[int]:
    dates: list[date] = list(session.exec(select(col(Product.release_date)).distinct()).all())
    return sorted({d.year for d in dates}, reverse=True)


def list_brands(*, session: Session) -> list[str]:
    return list(session.exec(select(Product.brand).distinct().order_by(col(Product.brand))).all())


def product_facts(*, session: Session, slug: str) -> ProductFacts | None:
    """A product as listed and its sizes, or None for an unknown or malformed slug."""
    if not slug or not _SLUG.match(slug):
        return None
    product = session.exec(select(Product).where(Product.slug == slug)).first()
    if product is None or product.id is None:
        return None
    variants = session.exec(
        select(ProductVariant.id, ProductVariant.size)
        .where(ProductVariant.product_id == product.id)
        .order_by(col(ProductVariant.sort_order))
    ).all()
    return ProductFacts(
        id=product.id,
        slug=product.slug,
        name=product.name,
        brand=product.brand,
        model=product.model,
        colorway=product.colorway,
        style_code=product.style_code,
        description=product.description,
        image=product.image,
        retail_price_cents=product.retail_price_cents,
        release_date=product.release_date,
        size_chart=product.size_chart,
        sizes=tuple((int(vid or 0), size) for vid, size in variants),
    )


def get_product(*, session: Session, slug: str) -> ProductDetail | None:
    """A product page's facts with its sales, or None for an unknown or malformed slug."""
    facts = product_facts(session=session, slug=slug)
    if facts is None:
        return None
    latest = (
        select(Sale.variant_id, func.max(Sale.id).label("sale_id"))
        .where(Sale.product_id == facts.id, tape.is_public())
        .group_by(col(Sale.variant_id))
        .subquery()
    )
    by_variant = {
        int(vid): int(price)
        for vid, price in session.exec(
            select(Sale.variant_id, Sale.price_cents).join(latest, col(Sale.id) == latest.c.sale_id)
        ).all()
    }
    sales_count = session.exec(
        select(func.count()).select_from(Sale).where(Sale.product_id == facts.id, tape.is_public())
    ).one()
    return ProductDetail(
        **{field.name: getattr(facts, field.name) for field in fields(ProductFacts)},
        variants=[
            VariantInfo(id=vid, size=size, last_sale_cents=by_variant.get(vid))
            for vid, size in facts.sizes
        ],
        last_sale_cents=_last_sales_by_product(session, [facts.id]).get(facts.id),
        sales_count=int(sales_count),
    )


def variant_ids_for(*, session: Session, product_ids: list[int]) -> list[int]:
    """Every size's variant id of these products (the books a browse grid shows)."""
    if not product_ids:
        return []
    rows = session.exec(
        select(ProductVariant.id).where(col(ProductVariant.product_id).in_(product_ids))
    ).all()
    return [int(v) for v in rows if v is not None]
