"""Public market data: the catalog, a size's market, book, tape and daily history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.public_api import schemas
from sneakers_app.public_api.access import Access, ApiError, public
from sneakers_app.services import catalog, public_market
from sneakers_app.settings import get_settings

router = APIRouter(tags=["market data"])
VariantId = Annotated[int, Path(ge=1, le=schemas.MAX_ID, description="A size's id.")]
Cursor = Annotated[str | None, Query(max_length=400, description="From `next_cursor`.")]


def image_url(image: str) -> str:
    path = routes.product_image(image)
    return get_settings().APP_URL.rstrip("/") + path if path else ""


def _listed(p: catalog.ProductCard | catalog.ProductDetail) -> dict[str, Any]:
    """What a product card and a product's page share."""
    return {
        "slug": p.slug,
        "name": p.name,
        "brand": p.brand,
        "colorway": p.colorway,
        "image_url": image_url(p.image),
        "retail_price_cents": p.retail_price_cents,
        "release_date": p.release_date,
        "last_sale_cents": p.last_sale_cents,
    }


def _card(c: catalog.ProductCard) -> schemas.ProductCard:
    return schemas.ProductCard(
        **_listed(c),
        lowest_ask_cents=c.lowest_ask_cents,
        change_24h_bp=c.change_24h_bp,
        change_30d_bp=c.change_30d_bp,
        sales_30d=c.sales_30d,
    )


def _cursor_error(exc: public_market.CursorError) -> ApiError:
    return ApiError(400, "invalid_cursor", str(exc), field="cursor")


@router.get("/products", response_model=schemas.ProductList, summary="Search the catalog")
def list_products(
    access: Access = public,
    search: Annotated[str, Query(max_length=200, description="Words of the name.")] = "",
    brand: Annotated[str, Query(max_length=60)] = "",
    size: Annotated[
        str, Query(max_length=20, description='In any system: "10", "UK 9", "EU 44", "28 cm".')
    ] = "",
    sort: Annotated[
        str, Query(description="most_active, price_low, price_high, newest or biggest_change")
    ] = "most_active",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=public_market.PAGE_MAX)] = 20,
) -> schemas.ProductList:
    if sort not in catalog.SORTS:
        raise ApiError(
            400, "invalid_sort", "sort is one of " + ", ".join(catalog.SORTS) + ".", field="sort"
        )
    try:
        with session_scope() as session:
            page = public_market.products(
                session=session,
                query=search,
                brand=brand,
                size=size,
                sort=sort,
                cursor=cursor,
                limit=limit,
            )
    except public_market.CursorError as exc:
        raise _cursor_error(exc) from exc
    return schemas.ProductList(items=[_card(c) for c in page.items], next_cursor=page.next_cursor)


@router.get(
    "/products/{slug}", response_model=schemas.ProductOut, summary="A product and its sizes"
)
def get_product(
    slug: Annotated[str, Path(max_length=160)], access: Access = public
) -> schemas.ProductOut:
    with session_scope() as session:
        view = public_market.product(session=session, slug=slug)
    if view is None:
        raise ApiError(404, "not_found", "There is no product with that slug.")
    p = view.product
    return schemas.ProductOut(
        **_listed(p),
        model=p.model,
        style_code=p.style_code,
        description=p.description,
        size_chart=p.size_chart,
        sales_count=p.sales_count,
        variants=[
            schemas.SizeOut(
                variant_id=s.variant_id,
                size=s.size,
                sizes=s.in_systems,
                last_sale_cents=s.last_sale_cents,
            )
            for s in view.sizes
        ],
    )


def _variant(variant_id: int) -> public_market.VariantRef:
    with session_scope() as session:
        ref = public_market.variant(session=session, variant_id=variant_id)
    if ref is None:
        raise ApiError(404, "not_found", "There is no size with that id.", field="variant_id")
    return ref


@router.get(
    "/variants/{variant_id}/market",
    response_model=schemas.MarketOut,
    summary="A size's prices: lowest ask, highest bid, last sale and the prices to ask",
)
def get_market(variant_id: VariantId, access: Access = public) -> schemas.MarketOut:
    ref = _variant(variant_id)
    with session_scope() as session:
        m = public_market.market(session=session, ref=ref)
    return schemas.MarketOut(
        variant_id=m.variant_id,
        product_slug=ref.slug,
        size=ref.size,
        lowest_ask_cents=m.lowest_ask_cents,
        lowest_ask_quantity=m.lowest_ask_quantity,
        highest_bid_cents=m.highest_bid_cents,
        highest_bid_quantity=m.highest_bid_quantity,
        last_sale=(
            schemas.LastSaleOut(
                price_cents=m.last_sale.price_cents, executed_at=m.last_sale.executed_at
            )
            if m.last_sale
            else None
        ),
        sell_faster_cents=m.sell_faster_cents,
        earn_more_cents=m.earn_more_cents,
        minimum_ask_cents=m.minimum_ask_cents,
        seq=m.sequence,
    )


@router.get(
    "/variants/{variant_id}/book",
    response_model=schemas.BookOut,
    summary="A size's order book: every price level and the sequence it was read at",
)
def get_book(variant_id: VariantId, access: Access = public) -> schemas.BookOut:
    depth = public_market.book(ref=_variant(variant_id))
    return schemas.BookOut(
        variant_id=variant_id,
        seq=depth.sequence,
        bids=[(lv.price_cents, lv.quantity) for lv in depth.bids],
        asks=[(lv.price_cents, lv.quantity) for lv in depth.asks],
    )


@router.get(
    "/variants/{variant_id}/trades",
    response_model=schemas.TradeList,
    summary="A size's public sales, newest first",
)
def get_trades(
    variant_id: VariantId,
    access: Access = public,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=public_market.PAGE_MAX)] = 50,
) -> schemas.TradeList:
    ref = _variant(variant_id)
    try:
        with session_scope() as session:
            page = public_market.trades(session=session, ref=ref, cursor=cursor, limit=limit)
    except public_market.CursorError as exc:
        raise _cursor_error(exc) from exc
    return schemas.TradeList(
        items=[schemas.TradeOut(id=i, price_cents=p, executed_at=at) for i, p, at in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/variants/{variant_id}/history",
    response_model=schemas.HistoryOut,
    summary="A size's daily open, high, low, close and volume (UTC days with sales)",
)
def get_history(
    variant_id: VariantId,
    access: Access = public,
    start: Annotated[date | None, Query(description="First day (default: all).")] = None,
    end: Annotated[date | None, Query(description="Last day (default: today).")] = None,
) -> schemas.HistoryOut:
    if start is not None and end is not None and start > end:
        raise ApiError(400, "invalid_range", "start is after end.", field="start")
    ref = _variant(variant_id)
    with session_scope() as session:
        candles = public_market.history(session=session, ref=ref, start=start, end=end)
    return schemas.HistoryOut(
        variant_id=variant_id,
        days=[
            schemas.CandleOut(
                day=c.day,
                open_cents=c.open_cents,
                high_cents=c.high_cents,
                low_cents=c.low_cents,
                close_cents=c.close_cents,
                volume=c.volume,
            )
            for c in candles
        ],
    )
