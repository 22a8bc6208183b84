"""The product page's state: product facts, the market of the chosen size (or all sizes), the
trade dialogs, the watch button, and the live loop that keeps it current.

Handlers parse and authorise, then call services (catalog, analytics, market, fees, watchlist);
everything shown is already-formatted text. The live loop (`watch_market`) waits on the
process's book hub (sneakers_app.live) and reloads only what a book update can change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import plotly.graph_objects as go
import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from sneakers_app import live, routes, vocabulary
from sneakers_app.db import session_scope
from sneakers_app.models import User
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.redis_client import get_engine, get_redis
from sneakers_app.services import (
    accounts,
    analytics,
    catalog,
    fees,
    limits,
    market,
    orders,
    payments,
    watchlist,
)
from state import live_push, own_orders
from state.base import SessionState, client_connected, event_namespace
from trading import market_data

log = logging.getLogger(__name__)
TradeKind = Literal["buy", "bid", "sell", "ask"]
KINDS: tuple[str, ...] = ("buy", "bid", "sell", "ask")
# What a product page holds for the logged-in user (cleared when they leave); the rest is public.
USER_VARS: tuple[str, ...] = (
    "own_orders",
    "own_levels",
    "watching",
    "watch_target",
    "watch_error",
    "watch_message",
    "dialog_open",
    "dialog_kind",
    "dialog_size",
    "price_input",
    "expiry_days",
    "expiry_choices",
    "price_error",
    "size_error",
    "form_error",
    "blocker",
    "submitting",
    "fee_lines",
    "total_label",
    "total",
    "hints",
    "fixed_price",
    "result_message",
    "order_message",
    "_client_key",
    "_fee_level",
)
BOOK_LEVELS = 8
RECENT_SALES = 8
LIVE_WAIT_SECONDS = 10.0
PENDING_TAPE_RETRY = 0.3
MAX_TAPE_RETRIES = 50
MIN_RELOAD_INTERVAL = 0.1
ALL_SIZES = "all"


@dataclasses.dataclass
class SizeView:
    size: str
    ask: str
    has_ask: bool


@dataclasses.dataclass
class LevelView:
    """One price level of the book as every viewer sees it (the viewer's own are marked by
    `ProductState.own_levels`, which holds their keys)."""

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
class FeeLine:
    label: str
    amount: str


@dataclasses.dataclass
class HintView:
    text: str
    price: str
    label: str


@dataclasses.dataclass
class OwnOrderView:
    key: str
    side: str
    row_id: int
    size: str
    price: str
    expires: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MarketSnapshot:
    """Everything a reload shows, computed outside the state lock: the market every viewer
    sees alike (`public`, with its state vars) and the viewer's own orders and chart."""

    public: PublicMarket
    public_vars: dict[str, Any]
    own: list[OwnOrderView]
    own_levels: list[str]
    tape: TapeSnapshot | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveArgs:
    """What the live loop's read depends on (compared before applying what it read)."""

    product_id: int
    variants: tuple[tuple[int, str], ...]
    selected: int | None
    auth_token: str
    range_: str
    known_trade_at: int
    every_change: bool
    """Whether the session needs every book change (its dialog shows the market's price, or
    its own orders are in the book) rather than only trades."""

    @property
    def feed_key(self) -> tuple[Any, ...]:
        return market_feed_key(self.product_id, self.variants, self.selected)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TapeSnapshot:
    """What only a trade changes (from the `sales` table)."""

    points: list[analytics.DailyPoint]
    stats: analytics.Stats
    recent: list[analytics.SaleView]


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


def _figure(points: list[analytics.DailyPoint], label: str) -> go.Figure:
    """The chart, shared by every session showing the same points (never changed once made:
    a plotly figure is a few thousand objects once serialised, and a thousand open pages each
    holding its own made the garbage collector's full passes take half a second)."""
    return _shared_figure(tuple(points), label)


@functools.lru_cache(maxsize=256)
def _shared_figure(points: tuple[analytics.DailyPoint, ...], label: str) -> go.Figure:
    days = [p.day.isoformat() for p in points]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=days,
            y=[p.volume for p in points],
            name="Pairs sold",
            yaxis="y2",
            marker={"color": "rgba(100, 116, 139, 0.45)"},
            hovertemplate="%{y} sold<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[p.average_cents / 100 for p in points],
            name=f"Average sale ({label})",
            mode="lines+markers" if len(points) < 40 else "lines",
            line={"color": "#30a46c", "width": 2.5, "shape": "spline", "smoothing": 0.4},
            marker={"size": 5},
            hovertemplate="%{x|%b %-d, %Y}<br><b>$%{y:,.0f}</b> average<extra></extra>",
        )
    )
    fig.update_layout(
        height=320,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="x unified",
        bargap=0.2,
        font={"family": "Inter, system-ui, sans-serif", "size": 12, "color": "#60646c"},
        xaxis={"showgrid": False, "type": "date", "fixedrange": True},
        yaxis={
            "side": "right",
            "tickprefix": "$",
            "tickformat": ",.0f",
            "gridcolor": "rgba(0,0,0,0.06)",
            "fixedrange": True,
            "zeroline": False,
        },
        yaxis2={
            "overlaying": "y",
            "side": "left",
            "showgrid": False,
            "showticklabels": False,
            "fixedrange": True,
            "range": [0, max([p.volume for p in points] + [1]) * 4],
        },
    )
    return fig


# --- loading (no state access: run in a worker thread by the live loop) --------------------


def _level_key(side: str, size: str, price_cents: int) -> str:
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
            key=_level_key(side, size, level.price_cents),
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicMarket:
    """What every viewer of a product page (one size, or all) sees alike: read once per book
    update per process and shared (`live.BookHub.shared`); the own orders are per viewer."""

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
        # A trade the database already has (e.g. voided, never paid) is the tape's to show.
        if newer and newest is not None:
            newer = not analytics.trade_recorded(session=session, trade_id=newest.trade_id)
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
    )


def market_feed_key(
    product_id: int, variants: tuple[tuple[int, str], ...], selected: int | None
) -> tuple[Any, ...]:
    """One shared view per product and size (or all sizes) per process."""
    return ("product-market", product_id, variants, selected)


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
        "last_sale": format_usd(public.last_price_cents),
        "last_change": change,
        "last_change_dir": direction,
        "book_bids": public.bids,
        "book_asks": public.asks,
        "live_at": datetime.now(UTC).strftime("%H:%M:%S"),
    }


def load_shared_view(
    *, product_id: int, variants: dict[int, str], selected: int | None
) -> live_push.SharedView:
    public = load_public_market(product_id=product_id, variants=variants, selected=selected)
    return live_push.SharedView(market=public, vars=public_vars(public, variants))


def market_snapshot(
    view: live_push.SharedView,
    *,
    variants: dict[int, str],
    own: list[analytics.OwnOrder],
    tape: TapeSnapshot | None,
) -> MarketSnapshot:
    """The page's view: the shared market, and the viewer's own orders (marked in it)."""
    return MarketSnapshot(
        public=view.market,
        public_vars=view.vars,
        own=[
            OwnOrderView(
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
            {_level_key(o.side, variants.get(o.variant_id, ""), o.price_cents) for o in own}
        ),
        tape=tape,
    )


def load_own_orders(
    *, auth_token: str, variants: dict[int, str], selected: int | None
) -> list[analytics.OwnOrder]:
    """The viewer's resting orders in the shown sizes (none when logged out)."""
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
    own resting orders, and (with_tape, or when a trade is newer than `known_trade_at`) the
    chart, stats and recent sales."""
    view = load_shared_view(product_id=product_id, variants=variants, selected=selected)
    own = load_own_orders(auth_token=auth_token, variants=variants, selected=selected)
    tape = None
    if with_tape or view.market.newest_trade_at > known_trade_at:
        with session_scope() as session:
            tape = load_tape(session, product_id, selected, range_)
    return market_snapshot(view, variants=variants, own=own, tape=tape)


def _load_tape(product_id: int, selected: int | None, range_: str) -> TapeSnapshot:
    with session_scope() as session:
        return load_tape(session, product_id, selected, range_)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _topics(books: list[str], args: LiveArgs) -> list[str]:
    """What a tab's live loop waits for: every change of the books, or only their trades."""
    return books if args.every_change else [live.trade_topic(b) for b in books]


def _in_server() -> bool:
    return event_namespace() is not None


@functools.cache
def _transport() -> live_push.StateRoomTransport:
    return live_push.StateRoomTransport(ProductState.get_full_name())


Top = tuple[int | None, int | None]
"""(highest bid, lowest ask) in cents, None for an empty side."""


class ProductState(SessionState):
    found: bool = True
    loaded: bool = False
    name: str = ""
    brand: str = ""
    model: str = ""
    colorway: str = ""
    style_code: str = ""
    description: str = ""
    image: str = ""
    retail: str = ""
    release_date: str = ""
    slug: str = ""

    sizes: list[SizeView] = []
    size_names: list[str] = []
    all_sizes_ask: str = "\u2014"
    selected_size: str = ""
    lowest_ask: str = "\u2014"
    highest_bid: str = "\u2014"
    last_sale: str = "\u2014"
    last_change: str = ""
    last_change_dir: str = "flat"
    book_bids: list[LevelView] = []
    book_asks: list[LevelView] = []
    own_orders: list[OwnOrderView] = []
    own_levels: list[str] = []
    live_at: str = ""

    chart_range: str = "1Y"
    figure: go.Figure = go.Figure()
    chart_empty: bool = True
    stat_high: str = "\u2014"
    stat_low: str = "\u2014"
    stat_volatility: str = "\u2014"
    stat_premium: str = "\u2014"
    stat_premium_dir: str = "flat"
    stat_sales: str = "0"
    stat_sales_total: str = "0"
    stat_average: str = "\u2014"
    recent: list[SaleRow] = []

    watching: bool = False
    watch_target: str = ""
    watch_error: str = ""
    watch_message: str = ""

    dialog_open: bool = False
    dialog_kind: str = "bid"
    dialog_size: str = ""
    price_input: str = ""
    expiry_days: str = "30"
    expiry_choices: list[str] = []
    price_error: str = ""
    size_error: str = ""
    form_error: str = ""
    blocker: str = ""
    submitting: bool = False
    fee_lines: list[FeeLine] = []
    total_label: str = "Total"
    total: str = ""
    hints: list[HintView] = []
    fixed_price: str = ""
    result_message: str = ""
    order_message: str = ""

    _product_id: int = 0
    _retail_cents: int = 0
    _variants: dict[int, str] = {}
    _feed_view: tuple[Any, ...] = ()
    """The key of the feed this tab follows (`market_feed_key`), () for none."""
    _tape_pending: bool = False
    _known_trade_at: int = 0
    _client_key: str = ""
    _fee_level: int = 1
    _live_gen: int = 0
    _live_running_gen: int = 0
    _size_request: int = 0
    _range_request: int = 0

    # --- helpers (not callable from the browser) -----------------------------------------------

    def _variant_for(self, size: str) -> int | None:
        for variant_id, name in self._variants.items():
            if name == size:
                return variant_id
        return None

    def _selected_variant(self) -> int | None:
        return self._variant_for(self.selected_size) if self.selected_size else None

    def _scope_label(self) -> str:
        return f"US {self.selected_size}" if self.selected_size else "all sizes"

    def _apply_public(self, values: dict[str, Any]) -> None:
        """The vars every viewer of this view shows alike. Assigned unconditionally (so sent):
        the view's feed pushes them to the browser without passing through this state, so what
        this state holds may be older than what the browser shows."""
        for name, value in values.items():
            setattr(self, name, value)

    def _apply_private(self, snap: MarketSnapshot) -> None:
        """This viewer's own orders, the prices its dialog quotes, and the chart."""
        public = snap.public
        if self.own_orders != snap.own:
            self.own_orders = snap.own
        if self.own_levels != snap.own_levels:
            self.own_levels = snap.own_levels
        if snap.tape is not None:
            self._apply_tape(snap.tape)
            self._known_trade_at = max(self._known_trade_at, public.newest_trade_at)
        self._tape_pending = public.tape_pending
        if public.tape_pending:
            # Show the trade now; the chart catches up once its sale row exists (the live
            # loop retries while `_tape_pending`).
            self._known_trade_at = min(self._known_trade_at, public.newest_trade_at - 1)
        self._refresh_dialog_prices()

    def _apply_tape(self, tape: TapeSnapshot) -> None:
        self.figure = _figure(tape.points, self._scope_label())
        self.chart_empty = not tape.points
        st = tape.stats
        self.stat_high = format_usd(st.high_12m_cents, whole=True)
        self.stat_low = format_usd(st.low_12m_cents, whole=True)
        self.stat_average = format_usd(st.average_12m_cents, whole=True)
        self.stat_volatility = vocabulary.percent_text(st.volatility_bp, signed=False)
        self.stat_premium = vocabulary.percent_text(st.premium_bp)
        self.stat_premium_dir = (
            "flat"
            if st.premium_bp is None or st.premium_bp == 0
            else ("up" if st.premium_bp > 0 else "down")
        )
        self.stat_sales = f"{st.sales_12m:,}"
        self.stat_sales_total = f"{st.sales_total:,}"
        self.recent = [
            SaleRow(
                key=f"{i}-{s.executed_at.isoformat()}",
                size=s.size,
                price=format_usd(s.price_cents, whole=True),
                when=when_text(s.executed_at),
            )
            for i, s in enumerate(tape.recent)
        ]

    def _reload(self, *, with_tape: bool) -> None:
        """Read the market of the chosen size now (a handler's own answer), and follow that
        view's feed from here on."""
        if not self._product_id:
            return
        self._show_reload(self._market_loader(with_tape=with_tape)())

    def _market_loader(self, *, with_tape: bool) -> functools.partial[MarketSnapshot]:
        """`load_market` for the view shown now, to call outside the state lock."""
        return functools.partial(
            load_market,
            product_id=self._product_id,
            variants=dict(self._variants),
            selected=self._selected_variant(),
            auth_token=self.auth_token,
            range_=self.chart_range,
            with_tape=with_tape,
            known_trade_at=self._known_trade_at,
        )

    def _show_reload(self, snap: MarketSnapshot) -> None:
        self._apply_public(snap.public_vars)
        self._apply_private(snap)
        self._follow_feed()
        self._kick_live()

    def _follow_feed(self) -> None:
        """Be a member of the feed of the view shown now (and of no other)."""
        key = market_feed_key(
            self._product_id, tuple(self._variants.items()), self._selected_variant()
        )
        if self._feed_view != key:
            self._leave_feed()
        self._feed_view = ()
        sid = self.router.session.session_id
        if not sid or not _in_server():
            return
        feed = live.get_hub().feed(
            key,
            [str(v) for v in self._variants],
            functools.partial(
                load_shared_view,
                product_id=self._product_id,
                variants=dict(self._variants),
                selected=self._selected_variant(),
            ),
            _transport(),
        )
        feed.join(sid, self._live_gen)
        self._feed_view = key

    def _leave_feed(self, generation: int | None = None) -> None:
        sid = self.router.session.session_id
        feed = live.get_hub().find_feed(self._feed_view) if self._feed_view else None
        if feed is not None and sid:
            feed.leave(sid, generation)
        self._feed_view = ()

    def _on_this_product(self) -> bool:
        path = (self.router.url.path or "").rstrip("/")
        return bool(self.slug) and path == routes.product(self.slug)

    # --- page load and navigation ----------------------------------------------------------

    @rx.event
    def on_load(self) -> EventSpec | None:
        path = self.router.url.path or ""
        slug = routes.slug_in(path)
        self._live_gen += 1
        with session_scope() as session:
            detail = catalog.get_product(session=session, slug=slug)
        self.loaded = True
        self.selected_size = ""
        self.dialog_open = False
        self.order_message = ""
        self.watch_message = ""
        self.chart_range = "1Y"
        if detail is None:
            self.found = False
            self.name = ""
            self.slug = ""
            self.sizes = []
            self._product_id = 0
            return None
        self.found = True
        self.slug = detail.slug
        self.name = detail.name
        self.brand = detail.brand
        self.model = detail.model
        self.colorway = detail.colorway
        self.style_code = detail.style_code
        self.description = detail.description
        self.image = routes.product_image(detail.image)
        self.retail = format_usd(detail.retail_price_cents, whole=True)
        self.release_date = detail.release_date.strftime("%b %-d, %Y")
        self._product_id = detail.id
        self._retail_cents = detail.retail_price_cents
        self._variants = {v.id: v.size for v in detail.variants}
        self.size_names = [v.size for v in detail.variants]
        self._known_trade_at = 0
        wanted = str(self.router.url.query_parameters.get("size", ""))[:10]
        if wanted in self.size_names:
            self.selected_size = wanted
        self._load_watch()
        self._reload(with_tape=True)
        return ProductState.watch_market

    # Background events (also `set_range`): the chart's price history is read in a worker
    # thread, so a slow query never holds up other tabs. A later choice of size (or range)
    # supersedes an earlier one still reading: only the latest is shown.
    @rx.event(background=True)
    async def select_size(self, size: str) -> EventSpec | None:
        size = str(size)[:10]
        async with self:
            if size == ALL_SIZES or size == "":
                self.selected_size = ""
            elif size in self._variants.values():
                self.selected_size = size
            else:
                return None
            self._size_request += 1
            request, range_request = self._size_request, self._range_request
            self._load_watch()
            if not self._product_id:
                return None
            load = self._market_loader(with_tape=True)
        snap = await asyncio.to_thread(load)
        async with self:
            if self._size_request != request:
                return None
            if self.auth_token != load.keywords["auth_token"]:
                return None  # logged out (or in) meanwhile: this read holds another user's view
            if self._range_request != range_request:
                # Another range was chosen meanwhile; its own read shows that chart.
                snap = dataclasses.replace(snap, tape=None)
            self._show_reload(snap)
            return self._size_in_url()

    def _size_in_url(self) -> EventSpec:
        """Keep the chosen size in the address (shareable) without a navigation."""
        url = routes.product(self.slug)
        if self.selected_size:
            url += "?" + urlencode({"size": self.selected_size})
        return rx.call_script(f"window.history.replaceState(null, '', {json.dumps(url)})")

    @rx.event(background=True)
    async def set_range(self, range_: str | list[str]) -> None:
        value = range_ if isinstance(range_, str) else (range_[0] if range_ else "")
        async with self:
            if value not in analytics.RANGES or not self._product_id:
                return
            self.chart_range = value
            self._range_request += 1
            request, size_request = self._range_request, self._size_request
            load = functools.partial(_load_tape, self._product_id, self._selected_variant(), value)
        tape = await asyncio.to_thread(load)
        async with self:
            # A size chosen since reads the chart in this range itself.
            if self._range_request == request and self._size_request == size_request:
                self._apply_tape(tape)

    # --- live -------------------------------------------------------------------------------

    @rx.event(background=True)
    async def watch_market(self) -> None:
        """Keep this tab's own part of the page current while it shows this product.

        What every viewer sees alike (book, top of book, sizes, last sale) reaches the tab
        through the view's feed (`_follow_feed`): one read and one socket.io room message per
        update for all tabs of the process, not a loop per tab. This loop is for what is the
        tab's own: its orders marked in the book, the prices its open dialog quotes, and the
        chart, stats and recent sales after a trade (per chart range). So it sleeps through
        book changes that are not trades, unless the tab has its own orders in the book or a
        dialog open (`LiveArgs.every_change`); a handler that changes that kicks it awake.

        Stops when the tab navigates to another page or product (on_load bumps `_live_gen`;
        Reflex also cancels the page-load chain this task belongs to), or its websocket is gone
        (checked every pass). Leaving also leaves the feed.
        """
        async with self:
            gen = self._live_gen
            if not self._product_id or self._live_running_gen == gen:
                return
            self._live_running_gen = gen
            books = [str(v) for v in self._variants]
            token = self.router.session.client_token
            sid = self.router.session.session_id
            args = self._live_args()
        hub = live.get_hub()
        seen = hub.versions(_topics(books, args))
        timeout = LIVE_WAIT_SECONDS
        retries = 0
        stopped = "navigated away"
        try:
            while True:
                if not client_connected(token, sid):
                    stopped = "disconnected"
                    break
                seen, changed = await hub.wait(seen, timeout, kick_key=sid)
                async with self:
                    if self._live_gen != gen or not self._on_this_product():
                        break
                    current = self._live_args()
                    pending = self._tape_pending
                if current.every_change != args.every_change or current.feed_key != args.feed_key:
                    # Another size, a dialog opened or closed, own orders came or went: wait
                    # for what the tab needs now, after one read (nothing missed in between).
                    seen = hub.versions(_topics(books, current))
                    changed = True
                args = current
                retries = retries + 1 if pending and not changed else 0
                if not changed and (not pending or retries > MAX_TAPE_RETRIES):
                    timeout = LIVE_WAIT_SECONDS
                    continue
                # A retry for a sale row the database lacked: a read started since half the
                # retry interval ago is new enough (so retrying sessions still share reads).
                not_before = None if changed else time.monotonic() - PENDING_TAPE_RETRY / 2
                snap = await self._live_snapshot(hub, args, not_before=not_before)
                async with self:
                    if self._live_gen != gen or not self._on_this_product():
                        break
                    if self._live_args() == args:
                        if {o.key for o in snap.own} != {o.key for o in self.own_orders}:
                            # One of the viewer's orders filled or expired: the note is stale.
                            self.order_message = ""
                        self._apply_private(snap)
                    pending = self._tape_pending
                timeout = PENDING_TAPE_RETRY if pending else LIVE_WAIT_SECONDS
                await asyncio.sleep(MIN_RELOAD_INTERVAL)
        except asyncio.CancelledError:
            stopped = "cancelled by Reflex (page left or socket closed)"
            raise
        finally:
            log.info("product live loop stopped: %s", stopped)
            async with self:
                if self._live_running_gen == gen:
                    self._live_running_gen = 0
                if self._live_gen == gen:
                    self._leave_feed(gen)

    def _live_args(self) -> LiveArgs:
        return LiveArgs(
            product_id=self._product_id,
            variants=tuple(self._variants.items()),
            selected=self._selected_variant(),
            auth_token=self.auth_token,
            range_=self.chart_range,
            known_trade_at=self._known_trade_at,
            every_change=self.dialog_open or bool(self.own_orders),
        )

    def _kick_live(self) -> None:
        """Wake this tab's live loop to look again at what it waits for."""
        live.get_hub().kick(self.router.session.session_id)

    @staticmethod
    async def _live_snapshot(
        hub: live.BookHub, args: LiveArgs, *, not_before: float | None
    ) -> MarketSnapshot:
        """The market for one session: the shared part from the hub, the rest for it alone."""
        variants = dict(args.variants)
        # As new as the books are now (the session may have slept through their changes).
        books = hub.versions([str(v) for v in variants])
        view = await hub.shared(
            args.feed_key,
            books,
            functools.partial(
                load_shared_view,
                product_id=args.product_id,
                variants=variants,
                selected=args.selected,
            ),
            not_before=not_before,
        )
        tape = None
        if view.market.newest_trade_at > args.known_trade_at:
            tape = await hub.shared(
                ("product-tape", args.product_id, args.selected, args.range_),
                books,
                functools.partial(_load_tape, args.product_id, args.selected, args.range_),
                not_before=not_before,
            )
        own: list[analytics.OwnOrder] = []
        if args.auth_token:
            own = await asyncio.to_thread(
                load_own_orders,
                auth_token=args.auth_token,
                variants=variants,
                selected=args.selected,
            )
        return market_snapshot(view, variants=variants, own=own, tape=tape)

    # --- watch button -----------------------------------------------------------------------

    def _load_watch(self) -> None:
        self.watch_error = ""
        user = self._current_user()
        if user is None or not self._product_id:
            self.watching = False
            self.watch_target = ""
            return
        with session_scope() as session:
            found = watchlist.get_watch(
                session=session,
                user_id=user.id,
                product_id=self._product_id,
                variant_id=self._selected_variant(),
            )
        self.watching = found is not None
        self.watch_target = (
            format_usd(found.target_price_cents).removeprefix("$")
            if found and found.target_price_cents
            else ""
        )

    @rx.event
    def set_watch_target(self, value: str) -> None:
        self.watch_target = str(value)[:20]
        self.watch_error = ""

    @rx.event
    def save_watch(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        target: int | None = None
        text = self.watch_target.strip()
        if text:
            try:
                target = parse_usd(text)
            except ValueError as exc:
                self.watch_error = str(exc)
                return None
        try:
            limits.check(limits.WATCH, user=user.id, ip=self.router.session.client_ip)
        except limits.RateLimited as exc:
            self.watch_error = exc.message
            return None
        try:
            with session_scope() as session:
                watchlist.watch(
                    session=session,
                    user_id=user.id,
                    product_id=self._product_id,
                    variant_id=self._selected_variant(),
                    target_price_cents=target,
                )
        except watchlist.WatchError as exc:
            self.watch_error = exc.message
            return None
        self.watching = True
        self.watch_error = ""
        self.watch_message = (
            f"We'll tell you when an ask for {self._scope_label()} drops to "
            f"{format_usd(target)} or less."
            if target
            else f"Watching {self._scope_label()}."
        )
        return None

    @rx.event
    def remove_watch(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        try:
            limits.check(limits.WATCH, user=user.id, ip=self.router.session.client_ip)
        except limits.RateLimited as exc:
            self.watch_error = exc.message
            return None
        with session_scope() as session:
            watchlist.unwatch(
                session=session,
                user_id=user.id,
                product_id=self._product_id,
                variant_id=self._selected_variant(),
            )
        self.watching = False
        self.watch_target = ""
        self.watch_message = "No longer watching."
        return None

    # --- trade dialogs ----------------------------------------------------------------------

    def _forget_user(self) -> None:
        """The product and its market are public and stay (with the live feed); what was this
        user's goes: their orders in the book, their watch, the dialog and its quote."""
        fields = type(self).get_fields()
        for name in USER_VARS:
            setattr(self, name, fields[name].default_value())

    def _reset_dialog(self, kind: str) -> None:
        self.dialog_kind = kind
        self.dialog_size = self.selected_size
        self.price_input = ""
        self.price_error = ""
        self.size_error = ""
        self.form_error = ""
        self.blocker = ""
        self.result_message = ""
        self.submitting = False
        self.fee_lines = []
        self.total = ""
        self.fixed_price = ""
        self._client_key = uuid.uuid4().hex
        days = market.BID_EXPIRY_DAYS if kind == "bid" else market.ASK_EXPIRY_DAYS
        self.expiry_choices = [str(d) for d in days]
        self.expiry_days = str(market.DEFAULT_EXPIRY_DAYS)

    def _blocker_for(self, session: Session, user_id: int, kind: str) -> str:
        user = session.get(User, user_id)
        if kind in ("buy", "bid"):
            if user is None or not payments.has_payment_method(user):
                return "Add a card in your account before you bid or buy."
            return payments.card_blocked_reason(session=session, user_id=user_id)
        if payments.payout_account_for(session=session, user_id=user_id) is None:
            return "Add your payout details in your account before you sell."
        return ""

    @rx.event
    def open_trade(self, kind: str) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        if kind not in KINDS or not self._product_id:
            return None
        self._reset_dialog(kind)
        with session_scope() as session:
            self.blocker = self._blocker_for(session, user.id, kind)
            if kind in ("sell", "ask"):
                standing = orders.seller_standing(session=session, seller_id=user.id)
                self._fee_level = standing.level.level
        self.dialog_open = True
        self._refresh_dialog_prices()
        self._kick_live()  # the dialog's price follows every change of the book now
        return None

    @rx.event
    def set_dialog_open(self, open_: bool) -> None:
        if not open_ and self.submitting:
            return
        self.dialog_open = bool(open_)
        self._kick_live()

    @rx.event
    def set_dialog_size(self, size: str) -> EventSpec | None:
        size = str(size)[:10]
        if size not in self._variants.values():
            return None
        self.dialog_size = size
        self.size_error = ""
        self.form_error = ""
        if self.selected_size != size:
            # The page follows the dialog's size: its chart is read off the event loop.
            return ProductState.select_size(size)
        self._refresh_dialog_prices()
        return None

    @rx.event
    def set_expiry(self, days: str) -> None:
        if days in self.expiry_choices:
            self.expiry_days = days

    @rx.event
    def set_price(self, text: str) -> None:
        text = str(text)[:20]
        if text == self.price_input:
            # A late debounced keystroke after a submit: keep the submit's error visible.
            return
        self.price_input = text
        self.price_error = ""
        self.form_error = ""
        self._refresh_quote()

    def _dialog_variant(self) -> int | None:
        return self._variant_for(self.dialog_size) if self.dialog_size else None

    def _top(self) -> Top:
        """(highest bid, lowest ask) of the dialog's size, from the engine right now."""
        variant = self._dialog_variant()
        if variant is None:
            return None, None
        top = market_data.top_of_book(get_redis(), str(variant))
        return top.bid_cents, top.ask_cents

    def _now_price(self, top: Top | None = None) -> int | None:
        """Buy Now pays the lowest ask, Sell Now takes the highest bid, of the dialog's size
        (`top`: the `_top()` the caller already read, so one refresh quotes one book)."""
        bid, ask = top or self._top()
        return ask if self.dialog_kind == "buy" else bid

    def _price_cents(self, top: Top | None = None) -> int | None:
        if self.dialog_kind in ("buy", "sell"):
            return self._now_price(top)
        try:
            return parse_usd(self.price_input)
        except ValueError:
            return None

    def _refresh_dialog_prices(self) -> None:
        if not self.dialog_open:
            return
        top = self._top()
        if self.dialog_kind in ("buy", "sell"):
            price = self._now_price(top)
            self.fixed_price = format_usd(price) if price else ""
        self._refresh_hints(top)
        self._refresh_quote(top)

    def _refresh_quote(self, top: Top | None = None) -> None:
        price = self._price_cents(top)
        if price is None or price < market.MIN_PRICE_CENTS or price > market.MAX_PRICE_CENTS:
            self.fee_lines, self.total = [], ""
            return
        if self.dialog_kind in ("buy", "bid"):
            q = fees.quote_buyer(price)
            self.fee_lines = [
                FeeLine(label="Price", amount=format_usd(q.price_cents)),
                FeeLine(label="Processing fee (3%)", amount=format_usd(q.processing_fee_cents)),
                FeeLine(label="Shipping", amount=format_usd(q.shipping_cents)),
            ]
            self.total_label = "Total" if self.dialog_kind == "buy" else "Total if your bid matches"
            self.total = format_usd(q.total_cents)
            return
        level = next(
            (lv for lv in fees.DEFAULT_SCHEDULE.levels if lv.level == self._fee_level),
            fees.DEFAULT_SCHEDULE.levels[0],
        )
        s = fees.quote_seller(price, level)
        self.fee_lines = [
            FeeLine(label="Price", amount=format_usd(s.price_cents)),
            FeeLine(
                label=(
                    f"Transaction fee (level {s.level}, "
                    f"{vocabulary.percent_text(s.fee_bp, signed=False)})"
                ),
                amount="-" + format_usd(s.transaction_fee_cents),
            ),
            FeeLine(
                label="Payment processing (3%)", amount="-" + format_usd(s.processing_fee_cents)
            ),
            FeeLine(label="Shipping to verification", amount="-" + format_usd(s.shipping_cents)),
        ]
        self.total_label = "Your payout"
        self.total = format_usd(s.payout_cents)

    def _refresh_hints(self, top: Top | None = None) -> None:
        variant = self._dialog_variant()
        if variant is None or self.dialog_kind in ("buy", "sell"):
            self.hints = []
            return
        bid_cents, ask_cents = top or self._top()
        hints: list[HintView] = []
        if self.dialog_kind == "bid":
            if ask_cents:
                hints.append(
                    HintView(
                        text=f"Buy now: bid the lowest ask, {format_usd(ask_cents)}.",
                        price=f"{ask_cents / 100:.2f}",
                        label="Use",
                    )
                )
            if bid_cents:
                better = bid_cents + 100
                if not ask_cents or better < ask_cents:
                    hints.append(
                        HintView(
                            text=f"Be the highest bidder: {format_usd(better)} beats "
                            f"{format_usd(bid_cents)}.",
                            price=f"{better / 100:.2f}",
                            label="Use",
                        )
                    )
        else:
            if bid_cents and bid_cents >= fees.minimum_ask_cents():
                hints.append(
                    HintView(
                        text=f"Sell faster: ask the highest bid, {format_usd(bid_cents)}, "
                        "to sell now.",
                        price=f"{bid_cents / 100:.2f}",
                        label="Use",
                    )
                )
            if ask_cents:
                lower = ask_cents - 100
                if lower >= fees.minimum_ask_cents() and (not bid_cents or lower > bid_cents):
                    hints.append(
                        HintView(
                            text=f"First in line: {format_usd(lower)} undercuts the lowest ask, "
                            f"{format_usd(ask_cents)}.",
                            price=f"{lower / 100:.2f}",
                            label="Use",
                        )
                    )
            elif not bid_cents:
                hints.append(
                    HintView(
                        text="Earn more: no one is asking in this size yet, so you set the price.",
                        price="",
                        label="",
                    )
                )
        self.hints = hints

    def _field_error(self, exc: market.MarketError) -> None:
        if exc.field == "price":
            self.price_error = exc.message
        elif exc.field == "size":
            self.size_error = exc.message
        elif exc.field == "expiry":
            self.form_error = exc.message
        else:
            self.form_error = exc.message

    @rx.event
    def submit_trade(self, form_data: dict[str, Any]) -> EventSpec | None:
        """The dialog's form (confirm button or Enter in the price field)."""
        price = form_data.get("price") if isinstance(form_data, dict) else None
        if isinstance(price, str) and self.dialog_kind in ("bid", "ask"):
            self.price_input = price[:20]
        return self._confirm()

    def _confirm(self) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        if self.submitting or not self.dialog_open or self.dialog_kind not in KINDS:
            return None
        self.price_error = self.size_error = self.form_error = ""
        kind = self.dialog_kind
        variant = self._dialog_variant()
        if variant is None:
            self.size_error = "Choose a size."
            return None
        side: market.SideName = "bid" if kind in ("buy", "bid") else "ask"
        immediate = kind in ("buy", "sell")
        if immediate:
            top = self._top()
            price = self._now_price(top)
            if price is None:
                self.form_error = (
                    "No one is selling this size right now. Place a bid instead."
                    if kind == "buy"
                    else "No one is bidding on this size right now. Place an ask instead."
                )
                return None
            if format_usd(price) != self.fixed_price:
                self.fixed_price = format_usd(price)
                self._refresh_quote(top)
                self.form_error = (
                    f"The price just changed to {format_usd(price)}. Check the total and "
                    "confirm again."
                )
                return None
        else:
            try:
                price = parse_usd(self.price_input)
            except ValueError as exc:
                self.price_error = str(exc)
                return None
        try:
            days = int(self.expiry_days)
        except ValueError:
            self.form_error = "Choose an expiry."
            return None
        try:
            limits.check(limits.ORDERS, user=user.id, ip=self.router.session.client_ip)
        except limits.RateLimited as exc:
            self.form_error = exc.message
            return None
        self.submitting = True
        try:
            with session_scope() as session:
                try:
                    market.check_price(price, side=side)
                except market.MarketError as exc:
                    self._field_error(exc)
                    return None
                blocker = self._blocker_for(session, user.id, kind)
                if blocker:
                    self.blocker = blocker
                    return None
                crossing = analytics.own_crossing_price(
                    session=session,
                    user_id=user.id,
                    side=side,
                    variant_id=variant,
                    price_cents=price,
                )
                if immediate and crossing is not None and crossing == price:
                    self.form_error = (
                        "The best price in this size is your own listing. Cancel it first, "
                        "or wait for someone else's."
                    )
                    return None
                if crossing is not None and not immediate:
                    other = "ask" if side == "bid" else "bid"
                    self.price_error = (
                        f"You have an {other} at {format_usd(crossing)} in this size: "
                        f"this {side} would match your own listing. Cancel that {other} or "
                        f"choose a {'lower' if side == 'bid' else 'higher'} price."
                    )
                    return None
                placed = market.place(
                    session=session,
                    engine=get_engine(),
                    user_id=user.id,
                    side=side,
                    variant_id=variant,
                    price_cents=price,
                    client_key=self._client_key,
                    expiry_days=None if immediate else days,
                    immediate=immediate,
                )
        except market.MarketError as exc:
            self._field_error(exc)
            return None
        finally:
            self.submitting = False
        if placed.status == "cancelled":
            self.form_error = placed.message
            self._client_key = uuid.uuid4().hex
            return None
        self.dialog_open = False
        self.order_message = placed.message
        self._reload(with_tape=False)
        return rx.toast.success(placed.message)

    @rx.event
    def cancel_order(self, key: str) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        parsed = market.parse_engine_order_id(str(key)[:24])
        if parsed is None:
            return None
        side, row_id = parsed
        outcome = own_orders.cancel(
            user_id=user.id, side=side, row_id=row_id, ip=self.router.session.client_ip
        )
        if outcome is None:
            return None
        if not outcome.ok:
            self.order_message = outcome.message
            return None
        self.order_message = f"Your {side} was cancelled."
        self._reload(with_tape=False)
        return None
