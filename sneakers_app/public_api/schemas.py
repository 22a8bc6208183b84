"""The public API's request and response bodies (they make its OpenAPI document). Money is
integer cents; times are ISO 8601 in UTC."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1


class ErrorBody(BaseModel):
    code: str = Field(description="Stable: what went wrong, for a program to act on.")
    message: str = Field(description="What went wrong, for a person.")
    field: str | None = Field(default=None, description="The field at fault, if one is.")


class ErrorResponse(BaseModel):
    error: ErrorBody


class ProductCard(BaseModel):
    slug: str
    name: str
    brand: str
    colorway: str
    image_url: str
    retail_price_cents: int
    release_date: date
    lowest_ask_cents: int | None
    last_sale_cents: int | None
    change_24h_bp: int | None = Field(description="Last sale against 24 h ago, in basis points.")
    change_30d_bp: int | None
    sales_30d: int


class ProductList(BaseModel):
    items: list[ProductCard]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class SizeOut(BaseModel):
    variant_id: int = Field(description="The size's id: its book, market, tape and history.")
    size: str = Field(description='As on the brand\'s own chart ("10", "11.5W", "7Y").')
    sizes: dict[str, str] = Field(description="The same size in us_m, us_w, uk, eu and cm.")
    last_sale_cents: int | None


class ProductOut(BaseModel):
    slug: str
    name: str
    brand: str
    model: str
    colorway: str
    style_code: str
    description: str
    image_url: str
    retail_price_cents: int
    release_date: date
    size_chart: Literal["men", "women", "gs"] | str
    last_sale_cents: int | None
    sales_count: int
    variants: list[SizeOut]


class LastSaleOut(BaseModel):
    price_cents: int
    executed_at: datetime


class MarketOut(BaseModel):
    variant_id: int
    product_slug: str
    size: str
    lowest_ask_cents: int | None
    lowest_ask_quantity: int
    highest_bid_cents: int | None
    highest_bid_quantity: int
    last_sale: LastSaleOut | None
    sell_faster_cents: int | None = Field(
        description="An ask at this price sells at once (the highest bid)."
    )
    earn_more_cents: int | None = Field(
        description="An ask at this price is first in line (the lowest ask less $1) without "
        "selling to the highest bid."
    )
    minimum_ask_cents: int = Field(description="Below this the fees would exceed the payout.")
    seq: int = Field(description="The book's sequence these prices were read at.")


class BookOut(BaseModel):
    variant_id: int
    seq: int = Field(description="The book's sequence the levels were read at.")
    bids: list[tuple[int, int]] = Field(description="[price_cents, quantity], highest first.")
    asks: list[tuple[int, int]] = Field(description="[price_cents, quantity], lowest first.")


class TradeOut(BaseModel):
    id: int
    price_cents: int
    quantity: int = 1
    executed_at: datetime


class TradeList(BaseModel):
    items: list[TradeOut]
    next_cursor: str | None


class CandleOut(BaseModel):
    day: date
    open_cents: int
    high_cents: int
    low_cents: int
    close_cents: int
    volume: int


class HistoryOut(BaseModel):
    variant_id: int
    days: list[CandleOut]


class ListingOut(BaseModel):
    id: int
    side: Literal["bid", "ask"]
    variant_id: int
    product_slug: str
    product_name: str
    size: str
    price_cents: int
    highest_bid_cents: int | None
    lowest_ask_cents: int | None
    leads: bool = Field(description="Highest bid (a bid) or lowest ask (an ask) right now.")
    paused: bool = Field(description="A bid off the book until its card or address is chosen.")
    expires_at: datetime | None
    created_at: datetime


class OrderOut(BaseModel):
    id: int
    role: Literal["buying", "selling"]
    variant_id: int
    product_slug: str
    product_name: str
    size: str
    status: str
    status_label: str
    price_cents: int
    amount_cents: int = Field(description="Paid net of refunds (buying) or the payout (selling).")
    amount_label: str
    created_at: datetime
    updated_at: datetime


class NewListing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: int = Field(ge=1, le=MAX_ID)
    price_cents: int = Field(ge=1, le=10**9, description="Whole cents; $1 steps are not required.")
    expiry_days: int | None = Field(
        default=None,
        description="Bids: 1, 3, 7, 14 or 30; asks: 7, 14, 30, 60 or 90 (default 30). "
        "Not with `immediate`.",
    )
    immediate: bool = Field(
        default=False,
        description="Buy Now / Sell Now: trade at once at `price_cents` or better, or not at all.",
    )
    address_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="One of yours; default: your default address."
    )
    payment_card_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Bids only: one of your cards; default: yours."
    )


class Placement(BaseModel):
    id: int = Field(description="The bid's or ask's id (for PATCH and DELETE).")
    side: Literal["bid", "ask"]
    status: str = Field(description="open, filled or cancelled (an immediate order that missed).")
    filled_quantity: int
    resting_quantity: int
    message: str


class BatchAsks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asks: list[NewListing] = Field(min_length=1, max_length=100)


class BatchItem(BaseModel):
    index: int
    ok: bool
    placement: Placement | None = None
    error: ErrorBody | None = None


class BatchResult(BaseModel):
    placed: int
    refused: int
    results: list[BatchItem]


class Reprice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_cents: int = Field(ge=1, le=10**9)


class Shipped(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_number: str = Field(min_length=1, max_length=100)


class OrderStep(BaseModel):
    order_id: int
    status: str
    changed: bool
