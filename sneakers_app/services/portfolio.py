"""A member's collection: pairs bought here and pairs added by hand, valued at the market.

Market value of an item is the last sale of its size (the public tape in `sales`); an item whose
size never sold is valued at what was paid for it, so it neither gains nor loses. The value over
time is the same rule applied day by day: each day's value counts the items owned that day at
the last sale known at the end of that day.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from sneakers_app.models import Order, PortfolioItem, Product, ProductVariant, Sale, utcnow
from sneakers_app.services import market, orders, sizes
from sneakers_app.services.order_views import (
    OrderRow,
    VariantLabel,
    list_orders,
    variant_labels,
)
from sneakers_app.services.tape import is_public as is_public_sale
from sneakers_app.vocabulary import OrderStatus, ratio_bp

MIN_PURCHASE_CENTS = 100
MAX_PURCHASE_CENTS = market.MAX_PRICE_CENTS
EARLIEST_PURCHASE = date(1985, 1, 1)
MAX_ITEMS = 500
SERIES_DAYS = (30, 90, 365)


class PortfolioError(Exception):
    """Refused input, with the field it belongs to (for the message next to it)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- adding -------------------------------------------------------------------------------


def record_purchase(session: Session, order_id: int) -> PortfolioItem | None:
    """Add the pair of a completed order to its buyer's portfolio, once (idempotent by order).

    Called by the saga when an order completes; the purchase price is the trade price.
    """
    order = session.get(Order, order_id)
    if order is None or order.status != OrderStatus.COMPLETED:
        return None
    existing = session.exec(select(PortfolioItem).where(PortfolioItem.order_id == order_id)).first()
    if existing is not None:
        return existing
    item = PortfolioItem(
        user_id=order.buyer_id,
        variant_id=order.variant_id,
        purchase_price_cents=order.price_cents,
        purchased_on=orders.aware(order.created_at).date(),
        source="bought",
        order_id=order_id,
    )
    session.add(item)
    session.flush()
    return item


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def parse_purchase_date(text: str, *, today: date | None = None) -> date:
    """A purchase date typed as YYYY-MM-DD (what a date input sends): not in the future."""
    raw = (text or "").strip()
    if not raw:
        raise PortfolioError("Enter the date you bought the pair.", "date")
    try:
        when = date.fromisoformat(raw[:10]) if len(raw) <= 10 else None
    except ValueError:
        when = None
    if when is None:
        raise PortfolioError("Enter a date like 2024-05-31.", "date")
    return check_purchase_date(when, today=today)


def check_purchase_date(when: date, *, today: date | None = None) -> date:
    today = today or utcnow().date()
    if when > today:
        raise PortfolioError("The purchase date cannot be in the future.", "date")
    if when < EARLIEST_PURCHASE:
        raise PortfolioError("Enter a purchase date after 1985.", "date")
    return when


def check_purchase_price(price_cents: object) -> int:
    cents = _int(price_cents)
    if cents is None:
        raise PortfolioError("Enter the price you paid in dollars, like 180.", "price")
    if cents < MIN_PURCHASE_CENTS:
        raise PortfolioError("The price must be at least $1.", "price")
    if cents > MAX_PURCHASE_CENTS:
        raise PortfolioError(f"The price must be at most ${MAX_PURCHASE_CENTS // 100:,}.", "price")
    return cents


def resolve_variant(
    session: Session, *, product_id: object, size: str, size_system: str = sizes.DEFAULT_SYSTEM
) -> ProductVariant:
    """The sneaker's size the member typed: as stored ("10", "US 10", "8W") or in any size
    system ("EU 44", "28 cm"; a bare US or UK number reads in the member's system)."""
    pid = _int(product_id)
    product = session.get(Product, pid) if pid is not None and pid > 0 else None
    if product is None:
        raise PortfolioError("Choose a sneaker from the list.", "product")
    wanted = (size or "").strip().upper().removeprefix("US").strip()[:10]
    if not wanted:
        raise PortfolioError("Enter the size, like 10.5.", "size")
    variants = session.exec(
        select(ProductVariant)
        .where(ProductVariant.product_id == product.id)
        .order_by(col(ProductVariant.sort_order))
    ).all()
    for variant in variants:
        if variant.size.upper() == wanted:
            return variant
    query = sizes.parse(size, default_system=size_system)
    if query is not None:
        found = sizes.matching_sizes(
            query, brand=product.brand, chart=product.size_chart, sizes=[v.size for v in variants]
        )
        for variant in variants:
            if variant.size in found:
                return variant
    raise PortfolioError(f"This sneaker does not come in size {wanted}.", "size")


def add_item(
    *,
    session: Session,
    user_id: int,
    product_id: object,
    size: str,
    purchase_price_cents: object,
    purchased_on: date,
    today: date | None = None,
    size_system: str = sizes.DEFAULT_SYSTEM,
) -> PortfolioItem:
    """A pair the member owns but did not buy here, with what they paid and when."""
    price = check_purchase_price(purchase_price_cents)
    variant = resolve_variant(session, product_id=product_id, size=size, size_system=size_system)
    when = check_purchase_date(purchased_on, today=today)
    count = session.exec(
        select(func.count()).select_from(PortfolioItem).where(PortfolioItem.user_id == user_id)
    ).one()
    if int(count) >= MAX_ITEMS:
        raise PortfolioError(f"A portfolio holds up to {MAX_ITEMS} pairs.")
    item = PortfolioItem(
        user_id=user_id,
        variant_id=variant.id or 0,
        purchase_price_cents=price,
        purchased_on=when,
        source="manual",
    )
    session.add(item)
    session.flush()
    return item


def remove_item(*, session: Session, user_id: int, item_id: object) -> None:
    """Remove a pair added by hand (pairs bought here stay: they are the purchase record)."""
    iid = _int(item_id)
    item = session.get(PortfolioItem, iid) if iid is not None else None
    if item is None or item.user_id != user_id:
        raise PortfolioError("That item was not found.")
    if item.source != "manual":
        raise PortfolioError("Pairs bought here stay in your portfolio.")
    session.delete(item)
    session.flush()


# --- valuing ------------------------------------------------------------------------------


def last_sales(session: Session, variant_ids: list[int]) -> dict[int, int]:
    """The latest sale price of each variant that ever sold."""
    if not variant_ids:
        return {}
    latest = (
        select(Sale.variant_id, func.max(Sale.executed_at).label("at"))
        .where(col(Sale.variant_id).in_(variant_ids), is_public_sale())
        .group_by(col(Sale.variant_id))
        .subquery()
    )
    rows = session.exec(
        select(Sale.variant_id, Sale.price_cents, Sale.id)
        .join(
            latest,
            (col(Sale.variant_id) == latest.c.variant_id) & (col(Sale.executed_at) == latest.c.at),
        )
        .where(is_public_sale())
        .order_by(col(Sale.id))
    ).all()
    return {variant_id: price for variant_id, price, _ in rows}


def gain_bp(value_cents: int, cost_cents: int) -> int:
    """Gain as basis points of cost, by the one ratio rule (`vocabulary.ratio_bp`); 0 at no cost."""
    if cost_cents <= 0:
        return 0
    return ratio_bp(value_cents - cost_cents, cost_cents)


@dataclass(frozen=True, kw_only=True)
class Holding:
    id: int
    product: VariantLabel
    source: str
    order_id: int | None
    purchase_price_cents: int
    purchased_on: date
    market_value_cents: int
    has_market_value: bool
    gain_cents: int
    gain_bp: int


@dataclass(frozen=True, kw_only=True)
class Summary:
    items: int
    cost_cents: int
    value_cents: int
    gain_cents: int
    gain_bp: int


def _items(session: Session, user_id: int) -> list[PortfolioItem]:
    return list(
        session.exec(
            select(PortfolioItem)
            .where(PortfolioItem.user_id == user_id)
            .order_by(col(PortfolioItem.purchased_on).desc(), col(PortfolioItem.id).desc())
            .limit(MAX_ITEMS)
        ).all()
    )


def holdings(
    *, session: Session, user_id: int, size_system: str = sizes.DEFAULT_SYSTEM
) -> list[Holding]:
    """The member's pairs with their value, sizes in the member's size system."""
    items = _items(session, user_id)
    variant_ids = [i.variant_id for i in items]
    labels = variant_labels(session, variant_ids, size_system=size_system)
    prices = last_sales(session, variant_ids)
    out = []
    for item in items:
        label = labels.get(item.variant_id)
        if label is None:
            continue
        last = prices.get(item.variant_id)
        value = last if last is not None else item.purchase_price_cents
        out.append(
            Holding(
                id=item.id or 0,
                product=label,
                source=item.source,
                order_id=item.order_id,
                purchase_price_cents=item.purchase_price_cents,
                purchased_on=item.purchased_on,
                market_value_cents=value,
                has_market_value=last is not None,
                gain_cents=value - item.purchase_price_cents,
                gain_bp=gain_bp(value, item.purchase_price_cents),
            )
        )
    return out


def summarize(items: list[Holding]) -> Summary:
    cost = sum(h.purchase_price_cents for h in items)
    value = sum(h.market_value_cents for h in items)
    return Summary(
        items=len(items),
        cost_cents=cost,
        value_cents=value,
        gain_cents=value - cost,
        gain_bp=gain_bp(value, cost),
    )


@dataclass(frozen=True, kw_only=True)
class ValuePoint:
    day: date
    value_cents: int
    cost_cents: int


def value_series(
    *, session: Session, user_id: int, days: int = 90, today: date | None = None
) -> list[ValuePoint]:
    """The portfolio's market value at the end of each of the last `days` days."""
    days = days if days in SERIES_DAYS else 90
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    items = _items(session, user_id)
    if not items:
        return []
    variant_ids = sorted({i.variant_id for i in items})
    start_at = datetime.combine(start, time.min, tzinfo=UTC)
    # Each variant's last sale before the window, then every sale inside it.
    before = (
        select(Sale.variant_id, func.max(Sale.executed_at).label("at"))
        .where(
            col(Sale.variant_id).in_(variant_ids),
            col(Sale.executed_at) < start_at,
            is_public_sale(),
        )
        .group_by(col(Sale.variant_id))
        .subquery()
    )
    opening = session.exec(
        select(Sale.variant_id, Sale.executed_at, Sale.price_cents)
        .join(
            before,
            (col(Sale.variant_id) == before.c.variant_id) & (col(Sale.executed_at) == before.c.at),
        )
        .where(is_public_sale())
    ).all()
    inside = session.exec(
        select(Sale.variant_id, Sale.executed_at, Sale.price_cents)
        .where(
            col(Sale.variant_id).in_(variant_ids),
            col(Sale.executed_at) >= start_at,
            is_public_sale(),
        )
        .order_by(col(Sale.executed_at), col(Sale.id))
    ).all()
    # Per variant: sorted (day, price) where a later sale of the same day wins.
    tape: dict[int, list[tuple[date, int]]] = {v: [] for v in variant_ids}
    for variant_id, at, price in [*opening, *inside]:
        tape[variant_id].append((orders.aware(at).date(), price))
    day_keys: dict[int, list[date]] = {}
    for variant_id, rows in tape.items():
        rows.sort(key=lambda r: r[0])
        day_keys[variant_id] = [d for d, _ in rows]
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        value = cost = 0
        for item in items:
            if item.purchased_on > day:
                continue
            rows = tape[item.variant_id]
            idx = bisect.bisect_right(day_keys[item.variant_id], day) - 1
            value += rows[idx][1] if idx >= 0 else item.purchase_price_cents
            cost += item.purchase_price_cents
        series.append(ValuePoint(day=day, value_cents=value, cost_cents=cost))
    return series


# --- purchases ----------------------------------------------------------------------------


def purchase_history(
    *, session: Session, user_id: int, size_system: str = sizes.DEFAULT_SYSTEM
) -> list[OrderRow]:
    return list_orders(session=session, user_id=user_id, role="buying", size_system=size_system)


@dataclass(frozen=True, kw_only=True)
class ProductChoice:
    id: int
    name: str
    sizes: list[str]


def product_choices(
    *, session: Session, size_system: str = sizes.DEFAULT_SYSTEM
) -> list[ProductChoice]:
    """Every sneaker in the catalog with its sizes (in the member's size system), for the
    add-a-pair form."""
    rows = session.exec(
        select(Product, ProductVariant.size)
        .join(ProductVariant, col(ProductVariant.product_id) == col(Product.id))
        .order_by(col(Product.brand), col(Product.name), col(ProductVariant.sort_order))
    ).all()
    choices: dict[int, ProductChoice] = {}
    for product, size in rows:
        pid, brand, name = product.id, product.brand, product.name
        if pid is None:
            continue
        label = name if name.lower().startswith(brand.lower()) else f"{brand} {name}"
        choice = choices.setdefault(pid, ProductChoice(id=pid, name=label, sizes=[]))
        choice.sizes.append(
            sizes.label(brand=brand, chart=product.size_chart, size=size, system=size_system)
        )
    return sorted(choices.values(), key=lambda c: c.name.lower())
