"""The product page's read model: what a product page shows of a product's market, as plain
view dataclasses and already-formatted text (no Reflex here).

`load_public_market` is what every viewer of one size (or all sizes) sees alike: top of book of
every size, the book's depth and the last sale, read from the engine's book (Redis) and the
tape; `load_own_listings` is one viewer's resting listings; `load_tape` is what only a trade
changes (chart points, stats, recent sales). `market_snapshot` puts them together for one
viewer, marking their own listings in the book.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from sneakers_app import vocabulary
from sneakers_app.db import session_scope
from sneakers_app.models import Product
from sneakers_app.money import format_usd
from sneakers_app.redis_client import get_redis
from sneakers_app.services import accounts, analytics, catalog, market, sizes
from trading import market_data

BOOK_LEVELS = 8
RECENT_SALES = 8
FACTS_SECONDS = 60.0
"""How long a process keeps a product's listed facts (name, sizes, ...) for the next page
loads: they do not change while it trades, so a page load reads only its market."""
FACTS_KEPT = 1024


@dataclasses.dataclass
class SizeView:
    size: str
    ask: str
    has_ask: bool


@dataclasses.dataclass
class LevelView:
    """One price level of the book as every viewer sees it (the viewer's own are marked by
    `MarketSnapshot.own_levels`, which holds their keys)."""

    key: str
    price: str
    quantity: int
    size: str
    bar: str


@dataclasses.dataclass
class SaleRow:
    key: str
    size: str
    price: str
    when: str


@dataclasses.dataclass
class OwnListingView:
    key: str
    side: str
    row_id: int
    size: str
    price: str
    expires: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TapeSnapshot:
    """What only a trade changes (from the `sales` table)."""

    points: list[analytics.DailyPoint]
    stats: analytics.Stats
    recent: list[analytics.SaleView]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicMarket:
    """What every viewer of a product page (one size, or all) sees alike: read once per book
    update per process and shared (`live.BookHub.shared`); the own listings are per viewer."""

    size_asks: dict[int, int | None]
    size_bids: dict[int, int | None]
    bid_cents: int | None
    ask_cents: int | None
    last_price_cents: int | None
    last_change_cents: int | None
    last_change_bp: int | None
    newest_trade_at: int
    tape_pending: bool
    bids: list[LevelView]
    asks: list[LevelView]
    bid_size: str = ""
    ask_size: str = ""
    """All sizes: the size the highest bid / lowest ask is in ("" for one size, or none). The
    two are often in different sizes, and a bid above an ask then is no crossed market: each
    size has its own book."""
    bid_size_in: dict[str, str] = dataclasses.field(default_factory=dict)
    ask_size_in: dict[str, str] = dataclasses.field(default_factory=dict)
    """Those sizes in every size system ("eu" -> "EU 44"), for each viewer's own."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class MarketSnapshot:
    """Everything a reload shows, computed outside the state lock: the market every viewer
    sees alike (`public`, with its state vars) and the viewer's own listings and chart."""

    public: PublicMarket
    public_vars: dict[str, Any]
    own: list[OwnListingView]
    own_levels: list[str]
    tape: TapeSnapshot | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TapeView:
    """A `TapeSnapshot` as the page shows it (the chart's points stay for the figure)."""

    points: list[analytics.DailyPoint]
    empty: bool
    high: str
    low: str
    average: str
    volatility: str
    premium: str
    premium_dir: str
    sales: str
    sales_total: str
    recent: list[SaleRow]


# --- formatting -------------------------------------------------------------------------------


def change_text(cents: int | None, bp: int | None) -> tuple[str, str]:
    """("+$20 (+8.3%)", "up") for a last-sale change."""
    if cents is None:
        return "No earlier sale", "flat"
    direction = "up" if cents > 0 else "down" if cents < 0 else "flat"
    sign = "+" if cents > 0 else "-" if cents < 0 else ""
    return f"{sign}{format_usd(abs(cents), whole=True)} ({vocabulary.percent_text(bp)})", direction


def when_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%b %-d, %Y %H:%M")


def tape_view(tape: TapeSnapshot) -> TapeView:
    st = tape.stats
    return TapeView(
        points=tape.points,
        empty=not tape.points,
        high=format_usd(st.high_12m_cents, whole=True),
        low=format_usd(st.low_12m_cents, whole=True),
        average=format_usd(st.average_12m_cents, whole=True),
        volatility=vocabulary.percent_text(st.volatility_bp, signed=False),
        premium=vocabulary.percent_text(st.premium_bp),
        premium_dir=(
            "flat"
            if st.premium_bp is None or st.premium_bp == 0
            else ("up" if st.premium_bp > 0 else "down")
        ),
        sales=f"{st.sales_12m:,}",
        sales_total=f"{st.sales_total:,}",
        recent=[
            SaleRow(
                key=f"{i}-{s.executed_at.isoformat()}",
                size=s.size,
                price=format_usd(s.price_cents, whole=True),
                when=when_text(s.executed_at),
            )
            for i, s in enumerate(tape.recent)
        ],
    )


# --- loading (no state access: run in a worker thread by the live loop) --------------------


def level_key(side: str, size: str, price_cents: int) -> str:
    return f"{side}-{size}-{price_cents}"


def _levels(
    depths: list[tuple[str, tuple[market_data.PriceLevel, ...]]], side: str, *, best_high: bool
) -> list[LevelView]:
    rows = [(size, level) for size, levels in depths for level in levels]
    rows.sort(key=lambda r: -r[1].price_cents if best_high else r[1].price_cents)
    rows = rows[:BOOK_LEVELS]
    biggest = max([level.quantity for _, level in rows] + [1])
    return [
        LevelView(
            key=level_key(side, size, level.price_cents),
            price=format_usd(level.price_cents),
            quantity=level.quantity,
            size=size,
            bar=f"{max(8, level.quantity * 100 // biggest)}%",
        )
        for size, level in rows
    ]


def load_tape(
    session: Session, product_id: int, variant_id: int | None, range_: str
) -> TapeSnapshot:
    return TapeSnapshot(
        points=analytics.price_history(
            session=session, product_id=product_id, variant_id=variant_id, range_=range_
        ),
        stats=analytics.stats(session=session, product_id=product_id, variant_id=variant_id),
        recent=analytics.recent_sales(
            session=session, product_id=product_id, variant_id=variant_id, limit=RECENT_SALES
        ),
    )


_facts: dict[str, tuple[float, catalog.ProductFacts]] = {}
_facts_lock = threading.Lock()


def read_product_facts(slug: str) -> catalog.ProductFacts | None:
    """`catalog.product_facts` in a transaction of its own."""
    with session_scope() as session:
        return catalog.product_facts(session=session, slug=slug)


def product_facts(slug: str) -> catalog.ProductFacts | None:
    """`read_product_facts` as read at most `FACTS_SECONDS` ago by this process (for a web
    worker, which has one database; an unknown slug is read each time: a stranger's made-up
    addresses fill no memory)."""
    now = time.monotonic()
    with _facts_lock:
        kept = _facts.get(slug)
    if kept is not None and now - kept[0] < FACTS_SECONDS:
        return kept[1]
    facts = read_product_facts(slug)
    if facts is not None:
        with _facts_lock:
            _facts.pop(slug, None)
            _facts[slug] = (now, facts)
            while len(_facts) > FACTS_KEPT:
                del _facts[next(iter(_facts))]
    return facts


def read_tape(product_id: int, selected: int | None, range_: str) -> TapeSnapshot:
    """`load_tape` in a transaction of its own."""
    with session_scope() as session:
        return load_tape(session, product_id, selected, range_)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def load_public_market(
    *, product_id: int, variants: dict[int, str], selected: int | None
) -> PublicMarket:
    """Top of book of every size, depth and last sale of the chosen size (or all)."""
    client = get_redis()
    scope = [selected] if selected is not None else list(variants)
    tops = market_data.tops(client, [str(v) for v in variants])
    depths = [(variants[v], market_data.depth(client, str(v), levels=BOOK_LEVELS)) for v in scope]
    bid, ask = analytics.best_of(
        [
            analytics.SizeQuote(
                variant_id=v, bid_cents=tops[str(v)].bid_cents, ask_cents=tops[str(v)].ask_cents
            )
            for v in scope
        ]
    )
    trades = [t.last_trade for v in scope if (t := tops[str(v)]).last_trade is not None]
    newest = max(trades, key=lambda t: t.at) if trades else None
    with session_scope() as session:
        last = analytics.last_sale(session=session, product_id=product_id, variant_id=selected)
        newer = newest is not None and (last is None or newest.at > _ms(last.executed_at))
        if (
            newer
            and newest is not None
            and analytics.trade_recorded(session=session, trade_id=newest.trade_id)
        ):
            # A trade the database already has (e.g. voided, never paid) is the tape's to show.
            # The journal consumer may have recorded it just after the tape was read: read it
            # again (showing the tape before it, the page kept the sale before until the book
            # next changed).
            newer = False
            last = analytics.last_sale(session=session, product_id=product_id, variant_id=selected)
        product = session.get(Product, product_id) if selected is None else None
        brand, chart = (product.brand, product.size_chart) if product else ("", "")
    bid_size = _size_of(variants, tops, "bid", bid) if selected is None else ""
    ask_size = _size_of(variants, tops, "ask", ask) if selected is None else ""
    last_price = last.price_cents if last else None
    change, change_bp = (last.change_cents, last.change_bp) if last else (None, None)
    pending = False
    if newest is not None and newer:
        # The engine traded; the journal consumer has not written the sale yet.
        pending = True
        change = newest.price_cents - last.price_cents if last else None
        change_bp = vocabulary.change_bp(newest.price_cents, last.price_cents) if last else None
        last_price = newest.price_cents
    return PublicMarket(
        size_asks={v: tops[str(v)].ask_cents for v in variants},
        size_bids={v: tops[str(v)].bid_cents for v in variants},
        bid_cents=bid,
        ask_cents=ask,
        last_price_cents=last_price,
        last_change_cents=change,
        last_change_bp=change_bp,
        newest_trade_at=newest.at if newest else 0,
        tape_pending=pending,
        bids=_levels([(s, d.bids) for s, d in depths], "bid", best_high=True),
        asks=_levels([(s, d.asks) for s, d in depths], "ask", best_high=False),
        bid_size=bid_size,
        ask_size=ask_size,
        bid_size_in=_in_every_system(brand, chart, bid_size),
        ask_size_in=_in_every_system(brand, chart, ask_size),
    )


def _in_every_system(brand: str, chart: str, size: str) -> dict[str, str]:
    """A size of the brand's chart in every size system ({} for none)."""
    if not (brand and size):
        return {}
    return {s: sizes.label(brand=brand, chart=chart, size=size, system=s) for s in sizes.SYSTEMS}


def _size_of(
    variants: dict[int, str],
    tops: dict[str, market_data.TopOfBook],
    side: str,
    price_cents: int | None,
) -> str:
    """The first size (in size order) whose best bid / ask is this price."""
    if price_cents is None:
        return ""
    for variant_id, size in variants.items():
        top = tops[str(variant_id)]
        if (top.bid_cents if side == "bid" else top.ask_cents) == price_cents:
            return size
    return ""


def _named(size: str, in_systems: dict[str, str], system: str) -> str:
    """A size as a viewer reads it (as stored when its labels are missing)."""
    return in_systems.get(system) or size


def market_note(public: PublicMarket, system: str = sizes.DEFAULT_SYSTEM) -> str:
    """All sizes with the highest bid at or above the lowest ask: they are in different sizes
    (one size's book is never crossed), and the page says so rather than look crossed. Sizes
    in the viewer's size system."""
    bid, ask = public.bid_cents, public.ask_cents
    if bid is None or ask is None or bid < ask or not (public.bid_size and public.ask_size):
        return ""
    bid_size = _named(public.bid_size, public.bid_size_in, system)
    ask_size = _named(public.ask_size, public.ask_size_in, system)
    return (
        f"The highest bid ({bid_size}) and the lowest ask ({ask_size}) are "
        "for different sizes: each size has its own book. Pick a size to trade."
    )


def _where(size: str, in_systems: dict[str, str], otherwise: str) -> dict[str, str]:
    """Under a quote, per size system: the size it is in ("in EU 44"), or what it does."""
    return {s: f"in {_named(size, in_systems, s)}" if size else otherwise for s in sizes.SYSTEMS}


def market_feed_key(
    product_id: int, variants: tuple[tuple[int, str], ...], selected: int | None
) -> tuple[Any, ...]:
    """One shared view per product and size (or all sizes) per process."""
    return ("product-market", product_id, variants, selected)


def tape_key(product_id: int, selected: int | None, range_: str) -> tuple[Any, ...]:
    """One shared chart read per product, size and range per process."""
    return ("product-tape", product_id, selected, range_)


def public_vars(public: PublicMarket, variants: dict[int, str]) -> dict[str, Any]:
    """The page's vars that every viewer of this product and size shows alike (pushed as they
    are by the view's feed, see `state.live_push`; dataclasses serialise as objects)."""
    asks = [a for a in public.size_asks.values() if a is not None]
    if public.last_price_cents is None:
        change, direction = "No sales yet", "flat"
    else:
        change, direction = change_text(public.last_change_cents, public.last_change_bp)
    return {
        "sizes": [
            SizeView(
                size=size,
                ask=format_usd(ask, whole=True) if (ask := public.size_asks.get(v)) else "Bid",
                has_ask=ask is not None,
            )
            for v, size in variants.items()
        ],
        "all_sizes_ask": format_usd(min(asks), whole=True) if asks else "Bid",
        "lowest_ask": format_usd(public.ask_cents),
        "highest_bid": format_usd(public.bid_cents),
        "lowest_ask_where": _where(public.ask_size, public.ask_size_in, "Buy now"),
        "highest_bid_where": _where(public.bid_size, public.bid_size_in, "Sell now"),
        "market_note": {s: market_note(public, s) for s in sizes.SYSTEMS},
        "last_sale": format_usd(public.last_price_cents),
        "last_change": change,
        "last_change_dir": direction,
        "book_bids": public.bids,
        "book_asks": public.asks,
        "live_at": datetime.now(UTC).strftime("%H:%M:%S"),
    }


def market_snapshot(
    public: PublicMarket,
    public_vars_: dict[str, Any],
    *,
    variants: dict[int, str],
    own: list[analytics.OwnOrder],
    tape: TapeSnapshot | None,
) -> MarketSnapshot:
    """The page's view: the shared market, and the viewer's own listings (marked in it)."""
    return MarketSnapshot(
        public=public,
        public_vars=public_vars_,
        own=[
            OwnListingView(
                key=market.engine_order_id(o.side, o.row_id),
                side=o.side,
                row_id=o.row_id,
                size=variants.get(o.variant_id, ""),
                price=format_usd(o.price_cents),
                expires=o.expires_at.astimezone(UTC).strftime("%b %-d") if o.expires_at else "",
            )
            for o in own
        ],
        own_levels=sorted(
            {level_key(o.side, variants.get(o.variant_id, ""), o.price_cents) for o in own}
        ),
        tape=tape,
    )


def load_own_listings(
    *, auth_token: str, variants: dict[int, str], selected: int | None
) -> list[analytics.OwnOrder]:
    """The viewer's resting listings (bids and asks) in the shown sizes (none when logged out)."""
    if not auth_token:
        return []
    scope = [selected] if selected is not None else list(variants)
    with session_scope() as session:
        user = accounts.user_for_token(session=session, token=auth_token)
        if user is None:
            return []
        return analytics.own_open_orders(session=session, user_id=user.id, variant_ids=scope)


def load_market(
    *,
    product_id: int,
    variants: dict[int, str],
    selected: int | None,
    auth_token: str,
    range_: str,
    with_tape: bool,
    known_trade_at: int = 0,
) -> MarketSnapshot:
    """Top of book of every size, depth and last sale of the chosen size (or all), the caller's
    own resting listings, and (with_tape, or when a trade is newer than `known_trade_at`) the
    chart, stats and recent sales."""
    public = load_public_market(product_id=product_id, variants=variants, selected=selected)
    own = load_own_listings(auth_token=auth_token, variants=variants, selected=selected)
    tape = None
    if with_tape or public.newest_trade_at > known_trade_at:
        tape = read_tape(product_id, selected, range_)
    return market_snapshot(
        public, public_vars(public, variants), variants=variants, own=own, tape=tape
    )
