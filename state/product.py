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
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import plotly.graph_objects as go
import reflex as rx
from sqlmodel import Session

from sneakers_app import live, routes
from sneakers_app.db import session_scope
from sneakers_app.models import User
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.redis_client import get_engine, get_redis
from sneakers_app.services import (
    accounts,
    analytics,
    catalog,
    fees,
    market,
    orders,
    payments,
    watchlist,
)
from state.base import SessionState
from trading import market_data

log = logging.getLogger(__name__)
TradeKind = Literal["buy", "bid", "sell", "ask"]
KINDS: tuple[str, ...] = ("buy", "bid", "sell", "ask")
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
    key: str
    price: str
    quantity: int
    size: str
    mine: bool
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
    """Everything the live loop reloads, computed outside the state lock."""

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
    own: list[OwnOrderView]
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class TapeSnapshot:
    """What only a trade changes (from the `sales` table)."""

    points: list[analytics.DailyPoint]
    stats: analytics.Stats
    recent: list[analytics.SaleView]


# --- formatting -------------------------------------------------------------------------------


def percent_text(bp: int | None, *, signed: bool = True) -> str:
    if bp is None:
        return "\u2014"
    sign = ("+" if bp > 0 else "-" if bp < 0 else "") if signed else ("-" if bp < 0 else "")
    whole, frac = divmod(abs(bp), 100)
    return f"{sign}{whole}.{frac // 10}%"


def change_text(cents: int | None, bp: int | None) -> tuple[str, str]:
    """("+$20 (+8.3%)", "up") for a last-sale change."""
    if cents is None:
        return "No earlier sale", "flat"
    direction = "up" if cents > 0 else "down" if cents < 0 else "flat"
    sign = "+" if cents > 0 else "-" if cents < 0 else ""
    return f"{sign}{format_usd(abs(cents), whole=True)} ({percent_text(bp)})", direction


def when_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%b %-d, %Y %H:%M")


def _figure(points: list[analytics.DailyPoint], label: str) -> go.Figure:
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


def _levels(
    depths: list[tuple[str, tuple[market_data.PriceLevel, ...]]],
    side: str,
    mine: set[tuple[str, str, int]],
    *,
    best_high: bool,
) -> list[LevelView]:
    rows = [(size, level) for size, levels in depths for level in levels]
    rows.sort(key=lambda r: -r[1].price_cents if best_high else r[1].price_cents)
    rows = rows[:BOOK_LEVELS]
    biggest = max([level.quantity for _, level in rows] + [1])
    return [
        LevelView(
            key=f"{side}-{size}-{level.price_cents}",
            price=format_usd(level.price_cents),
            quantity=level.quantity,
            size=size,
            mine=(side, size, level.price_cents) in mine,
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
    depths: list[tuple[str, market_data.Depth]]
    bids: list[LevelView]
    """The levels as seen by someone with no orders there (shared as they are)."""
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
    last_price = last.price_cents if last else None
    change, change_bp = (last.change_cents, last.change_bp) if last else (None, None)
    pending = False
    if newest is not None and (last is None or newest.at > _ms(last.executed_at)):
        # The engine traded; the journal consumer has not written the sale yet.
        pending = True
        change = newest.price_cents - last.price_cents if last else None
        change_bp = (change * 10_000) // last.price_cents if last and change is not None else None
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
        depths=depths,
        bids=_levels([(s, d.bids) for s, d in depths], "bid", set(), best_high=True),
        asks=_levels([(s, d.asks) for s, d in depths], "ask", set(), best_high=False),
    )


def market_snapshot(
    public: PublicMarket,
    *,
    variants: dict[int, str],
    own: list[analytics.OwnOrder],
    tape: TapeSnapshot | None,
) -> MarketSnapshot:
    """The page's view: the shared market, the viewer's own orders marked in it."""
    mine = {(o.side, variants.get(o.variant_id, ""), o.price_cents) for o in own}
    bids, asks = list(public.bids), list(public.asks)
    if mine:
        bids = _levels([(s, d.bids) for s, d in public.depths], "bid", mine, best_high=True)
        asks = _levels([(s, d.asks) for s, d in public.depths], "ask", mine, best_high=False)
    return MarketSnapshot(
        size_asks=public.size_asks,
        size_bids=public.size_bids,
        bid_cents=public.bid_cents,
        ask_cents=public.ask_cents,
        last_price_cents=public.last_price_cents,
        last_change_cents=public.last_change_cents,
        last_change_bp=public.last_change_bp,
        newest_trade_at=public.newest_trade_at,
        tape_pending=public.tape_pending,
        bids=bids,
        asks=asks,
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
    public = load_public_market(product_id=product_id, variants=variants, selected=selected)
    own = load_own_orders(auth_token=auth_token, variants=variants, selected=selected)
    tape = None
    if with_tape or public.newest_trade_at > known_trade_at:
        with session_scope() as session:
            tape = load_tape(session, product_id, selected, range_)
    return market_snapshot(public, variants=variants, own=own, tape=tape)


def _load_tape(product_id: int, selected: int | None, range_: str) -> TapeSnapshot:
    with session_scope() as session:
        return load_tape(session, product_id, selected, range_)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _client_connected(token: str, sid: str) -> bool:
    """Whether this tab's websocket is still connected to this backend process (the app's
    socket map: token -> socket id; a reload gets a new socket id, a closed tab none)."""
    from reflex.config import get_config

    module = sys.modules.get(get_config().module)
    namespace = getattr(getattr(module, "app", None), "event_namespace", None)
    if namespace is None:
        return True  # the loop runs outside a Reflex server (nothing to ask)
    # The token manager's own map: `token_to_sid` copies every connection's entry per call,
    # which a thousand live loops asking on every update turn into quadratic work.
    sockets = getattr(getattr(namespace, "_token_manager", None), "token_to_socket", None)
    if isinstance(sockets, dict):
        record = sockets.get(token)
        current = getattr(record, "sid", None)
    else:
        current = namespace.token_to_sid.get(token)
    return current is not None and (not sid or current == sid)


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
    live_updates: int = 0
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
    _size_asks: dict[int, int | None] = {}
    _size_bids: dict[int, int | None] = {}
    _ask_cents: int | None = None
    _bid_cents: int | None = None
    _known_trade_at: int = 0
    _client_key: str = ""
    _fee_level: int = 1
    _live_gen: int = 0
    _live_running_gen: int = 0

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

    def _put(self, name: str, value: Any) -> None:
        """Assign a view var only when its value changes: Reflex sends every assigned var to the
        browser, so a book update's delta then carries what changed and nothing else."""
        if getattr(self, name) != value:
            setattr(self, name, value)

    def _apply_market(self, snap: MarketSnapshot) -> None:
        self._size_asks = dict(snap.size_asks)
        self._size_bids = dict(snap.size_bids)
        self._put(
            "sizes",
            [
                SizeView(
                    size=size,
                    ask=format_usd(snap.size_asks.get(v), whole=True)
                    if snap.size_asks.get(v)
                    else "Bid",
                    has_ask=snap.size_asks.get(v) is not None,
                )
                for v, size in self._variants.items()
            ],
        )
        self._ask_cents, self._bid_cents = snap.ask_cents, snap.bid_cents
        asks = [a for a in snap.size_asks.values() if a is not None]
        self._put("all_sizes_ask", format_usd(min(asks), whole=True) if asks else "Bid")
        self._put("lowest_ask", format_usd(snap.ask_cents))
        self._put("highest_bid", format_usd(snap.bid_cents))
        self._put("last_sale", format_usd(snap.last_price_cents))
        if snap.last_price_cents is None:
            change, direction = "No sales yet", "flat"
        else:
            change, direction = change_text(snap.last_change_cents, snap.last_change_bp)
        self._put("last_change", change)
        self._put("last_change_dir", direction)
        self._put("book_bids", snap.bids)
        self._put("book_asks", snap.asks)
        self._put("own_orders", snap.own)
        if snap.tape is not None:
            self._apply_tape(snap.tape)
            self._known_trade_at = max(self._known_trade_at, snap.newest_trade_at)
        if snap.tape_pending:
            # Show the trade now; the chart catches up once its sale row exists.
            self._known_trade_at = min(self._known_trade_at, snap.newest_trade_at - 1)
        self._refresh_dialog_prices()

    def _apply_tape(self, tape: TapeSnapshot) -> None:
        self.figure = _figure(tape.points, self._scope_label())
        self.chart_empty = not tape.points
        st = tape.stats
        self.stat_high = format_usd(st.high_12m_cents, whole=True)
        self.stat_low = format_usd(st.low_12m_cents, whole=True)
        self.stat_average = format_usd(st.average_12m_cents, whole=True)
        self.stat_volatility = percent_text(st.volatility_bp, signed=False)
        self.stat_premium = percent_text(st.premium_bp)
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
        if not self._product_id:
            return
        snap = load_market(
            product_id=self._product_id,
            variants=self._variants,
            selected=self._selected_variant(),
            auth_token=self.auth_token,
            range_=self.chart_range,
            with_tape=with_tape,
            known_trade_at=self._known_trade_at,
        )
        self._apply_market(snap)

    def _on_this_product(self) -> bool:
        path = (self.router.url.path or "").rstrip("/")
        return bool(self.slug) and path == routes.product(self.slug)

    # --- page load and navigation ----------------------------------------------------------

    @rx.event
    def on_load(self) -> rx.event.EventSpec | None:
        path = self.router.url.path or ""
        slug = path.rstrip("/").rsplit("/", 1)[-1] if path.startswith("/product/") else ""
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
        self.image = f"/products/{detail.image}"
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

    @rx.event
    def select_size(self, size: str) -> rx.event.EventSpec | None:
        size = str(size)[:10]
        if size == ALL_SIZES or size == "":
            self.selected_size = ""
        elif size in self._variants.values():
            self.selected_size = size
        else:
            return None
        self._load_watch()
        self._reload(with_tape=True)
        return self._size_in_url()

    def _size_in_url(self) -> rx.event.EventSpec:
        """Keep the chosen size in the address (shareable) without a navigation."""
        url = routes.product(self.slug)
        if self.selected_size:
            url += "?" + urlencode({"size": self.selected_size})
        return rx.call_script(f"window.history.replaceState(null, '', {json.dumps(url)})")

    @rx.event
    def set_range(self, range_: str | list[str]) -> None:
        value = range_ if isinstance(range_, str) else (range_[0] if range_ else "")
        if value not in analytics.RANGES or not self._product_id:
            return
        self.chart_range = value
        with session_scope() as session:
            tape = load_tape(session, self._product_id, self._selected_variant(), value)
        self._apply_tape(tape)

    # --- live -------------------------------------------------------------------------------

    @rx.event(background=True)
    async def watch_market(self) -> None:
        """Keep the page current while this tab shows this product.

        Stops when: the tab navigates to another page or product (on_load bumps `_live_gen`;
        Reflex also cancels the page-load chain this task belongs to, raising CancelledError
        here), or the websocket disconnects (checked every pass against the app's socket map;
        Reflex 0.10 cancels the chain on disconnect as well).

        Each update costs the session one state lock: the market every viewer sees alike is read
        once per update per process and shared (`live.BookHub.shared`); only a logged-in
        viewer's own orders, and the chart after a trade, are read for the session.
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
        seen = hub.versions(books)
        timeout = LIVE_WAIT_SECONDS
        retries = 0
        again = False
        stopped = "navigated away"
        try:
            while True:
                if not _client_connected(token, sid):
                    stopped = "disconnected"
                    break
                if again:
                    changed, again = True, False
                else:
                    seen, changed = await hub.wait(seen, timeout)
                if not changed and timeout == LIVE_WAIT_SECONDS:
                    async with self:
                        if self._live_gen != gen or not self._on_this_product():
                            break
                        args = self._live_args()
                    continue
                # A retry for a sale row the database lacked: a read started since half the
                # retry interval ago is new enough (so retrying sessions still share reads).
                not_before = None if changed else time.monotonic() - PENDING_TAPE_RETRY / 2
                snap = await self._live_snapshot(hub, seen, args, not_before=not_before)
                async with self:
                    if self._live_gen != gen or not self._on_this_product():
                        break
                    current = self._live_args()
                    if current != args:
                        # The viewer chose another size or range meanwhile: read that instead.
                        args, again = current, True
                        continue
                    if {o.key for o in snap.own} != {o.key for o in self.own_orders}:
                        # One of the viewer's orders filled or expired: the note is stale.
                        self.order_message = ""
                    self._apply_market(snap)
                    self.live_updates += 1
                    self.live_at = datetime.now(UTC).strftime("%H:%M:%S")
                    args = dataclasses.replace(args, known_trade_at=self._known_trade_at)
                retries = retries + 1 if snap.tape_pending else 0
                pending = snap.tape_pending and retries <= MAX_TAPE_RETRIES
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

    def _live_args(self) -> LiveArgs:
        return LiveArgs(
            product_id=self._product_id,
            variants=tuple(self._variants.items()),
            selected=self._selected_variant(),
            auth_token=self.auth_token,
            range_=self.chart_range,
            known_trade_at=self._known_trade_at,
        )

    @staticmethod
    async def _live_snapshot(
        hub: live.BookHub, seen: dict[str, int], args: LiveArgs, *, not_before: float | None
    ) -> MarketSnapshot:
        """The market for one session: the shared part from the hub, the rest for it alone."""
        variants = dict(args.variants)
        public = await hub.shared(
            ("product-market", args.product_id, args.variants, args.selected),
            seen,
            functools.partial(
                load_public_market,
                product_id=args.product_id,
                variants=variants,
                selected=args.selected,
            ),
            not_before=not_before,
        )
        tape = None
        if public.newest_trade_at > args.known_trade_at:
            tape = await hub.shared(
                ("product-tape", args.product_id, args.selected, args.range_),
                seen,
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
        return market_snapshot(public, variants=variants, own=own, tape=tape)

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
    def save_watch(self) -> rx.event.EventSpec | None:
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
    def remove_watch(self) -> rx.event.EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
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
            return ""
        if payments.payout_account_for(session=session, user_id=user_id) is None:
            return "Add your payout details in your account before you sell."
        return ""

    @rx.event
    def open_trade(self, kind: str) -> rx.event.EventSpec | None:
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
        return None

    @rx.event
    def set_dialog_open(self, open_: bool) -> None:
        if not open_ and self.submitting:
            return
        self.dialog_open = bool(open_)

    @rx.event
    def set_dialog_size(self, size: str) -> rx.event.EventSpec | None:
        size = str(size)[:10]
        if size not in self._variants.values():
            return None
        self.dialog_size = size
        self.size_error = ""
        self.form_error = ""
        if self.selected_size != size:
            self.selected_size = size
            self._reload(with_tape=True)
            return self._size_in_url()
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

    def _top(self, *, fresh: bool = False) -> tuple[int | None, int | None]:
        """(highest bid, lowest ask) of the dialog's size: from the last load, or from the
        engine right now (`fresh`, when money is about to move)."""
        variant = self._dialog_variant()
        if variant is None:
            return None, None
        if fresh:
            top = market_data.top_of_book(get_redis(), str(variant))
            return top.bid_cents, top.ask_cents
        return self._size_bids.get(variant), self._size_asks.get(variant)

    def _now_price(self, *, fresh: bool = False) -> int | None:
        """Buy Now pays the lowest ask, Sell Now takes the highest bid, of the dialog's size."""
        bid, ask = self._top(fresh=fresh)
        return ask if self.dialog_kind == "buy" else bid

    def _price_cents(self) -> int | None:
        if self.dialog_kind in ("buy", "sell"):
            return self._now_price()
        try:
            return parse_usd(self.price_input)
        except ValueError:
            return None

    def _refresh_dialog_prices(self) -> None:
        if not self.dialog_open:
            return
        if self.dialog_kind in ("buy", "sell"):
            price = self._now_price()
            self.fixed_price = format_usd(price) if price else ""
        self._refresh_hints()
        self._refresh_quote()

    def _refresh_quote(self) -> None:
        price = self._price_cents()
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
                label=f"Transaction fee (level {s.level}, {percent_text(s.fee_bp, signed=False)})",
                amount="-" + format_usd(s.transaction_fee_cents),
            ),
            FeeLine(
                label="Payment processing (3%)", amount="-" + format_usd(s.processing_fee_cents)
            ),
            FeeLine(label="Shipping to verification", amount="-" + format_usd(s.shipping_cents)),
        ]
        self.total_label = "Your payout"
        self.total = format_usd(s.payout_cents)

    def _refresh_hints(self) -> None:
        variant = self._dialog_variant()
        if variant is None or self.dialog_kind in ("buy", "sell"):
            self.hints = []
            return
        bid_cents, ask_cents = self._top()
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
    def submit_trade(self, form_data: dict[str, Any]) -> rx.event.EventSpec | None:
        """The dialog's form (confirm button or Enter in the price field)."""
        price = form_data.get("price") if isinstance(form_data, dict) else None
        if isinstance(price, str) and self.dialog_kind in ("bid", "ask"):
            self.price_input = price[:20]
        return self._confirm()

    def _confirm(self) -> rx.event.EventSpec | None:
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
            price = self._now_price(fresh=True)
            if price is None:
                self.form_error = (
                    "No one is selling this size right now. Place a bid instead."
                    if kind == "buy"
                    else "No one is bidding on this size right now. Place an ask instead."
                )
                return None
            if format_usd(price) != self.fixed_price:
                self.fixed_price = format_usd(price)
                self._refresh_quote()
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
    def cancel_order(self, key: str) -> rx.event.EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        parsed = market.parse_engine_order_id(str(key)[:24])
        if parsed is None:
            return None
        side, row_id = parsed
        try:
            with session_scope() as session:
                market.cancel(
                    session=session, engine=get_engine(), user_id=user.id, side=side, row_id=row_id
                )
        except market.MarketError as exc:
            self.order_message = exc.message
            return None
        self.order_message = f"Your {side} was cancelled."
        self._reload(with_tape=False)
        return None
