"""The catalog: browse, full-text search (SQLite FTS5 or PostgreSQL tsvector) and product pages.

Search text from the browser is reduced to word tokens before it reaches SQL, so quotes, `*`,
operators and injection attempts are plain words or nothing, never syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from sneakers_app.models import Product, ProductVariant, Sale

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


@dataclass(frozen=True, kw_only=True)
class VariantInfo:
    id: int
    size: str
    last_sale_cents: int | None


@dataclass(frozen=True, kw_only=True)
class ProductDetail:
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
        .where(col(Sale.product_id).in_(product_ids))
        .group_by(col(Sale.product_id))
        .subquery()
    )
    rows = session.exec(
        select(Sale.product_id, Sale.price_cents).join(latest, col(Sale.id) == latest.c.sale_id)
    ).all()
    return {int(pid): int(price) for pid, price in rows}


def search_products(
    *, session: Session, query: str = "", brand: str = "", limit: int = 60
) -> list[ProductCard]:
    """Products matching the search text and brand, best match first (newest first otherwise)."""
    tokens = search_tokens(query)
    stmt = select(Product)
    if brand:
        stmt = stmt.where(Product.brand == brand[:60])
    order: list[int] | None = None
    if tokens:
        order = _matching_ids(session, tokens)
        if not order:
            return []
        stmt = stmt.where(col(Product.id).in_(order))
    else:
        stmt = stmt.order_by(col(Product.release_date).desc(), col(Product.id))
    products = list(session.exec(stmt.limit(max(1, min(limit, 200)))).all())
    if order is not None:
        rank = {pid: i for i, pid in enumerate(order)}
        products.sort(key=lambda p: rank.get(p.id or 0, 0))
    last = _last_sales_by_product(session, [p.id for p in products if p.id is not None])
    return [
        ProductCard(
            id=p.id or 0,
            slug=p.slug,
            name=p.name,
            brand=p.brand,
            colorway=p.colorway,
            image=p.image,
            retail_price_cents=p.retail_price_cents,
            release_date=p.release_date,
            last_sale_cents=last.get(p.id or 0),
        )
        for p in products
    ]


def list_brands(*, session: Session) -> list[str]:
    return list(session.exec(select(Product.brand).distinct().order_by(col(Product.brand))).all())


def get_product(*, session: Session, slug: str) -> ProductDetail | None:
    """A product page's facts, or None for an unknown or malformed slug."""
    if not slug or not _SLUG.match(slug):
        return None
    product = session.exec(select(Product).where(Product.slug == slug)).first()
    if product is None or product.id is None:
        return None
    variants = session.exec(
        select(ProductVariant)
        .where(ProductVariant.product_id == product.id)
        .order_by(col(ProductVariant.sort_order))
    ).all()
    latest = (
        select(Sale.variant_id, func.max(Sale.id).label("sale_id"))
        .where(Sale.product_id == product.id)
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
        select(func.count()).select_from(Sale).where(Sale.product_id == product.id)
    ).one()
    return ProductDetail(
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
        variants=[
            VariantInfo(id=v.id or 0, size=v.size, last_sale_cents=by_variant.get(v.id or 0))
            for v in variants
        ],
        last_sale_cents=_last_sales_by_product(session, [product.id]).get(product.id),
        sales_count=int(sales_count),
    )
