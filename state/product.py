"""The product page's state: product facts, the market of the chosen size (or all sizes), and
the live loop that keeps it current. The trade dialog (`state.product_trade.TradeState`) and
the watch button (`state.product_watch.WatchState`) are substates of it.

What the page shows is read by `sneakers_app.services.product_page` as already-formatted view
dataclasses; handlers parse and authorise, then call services. The live loop (`watch_market`)
waits on the process's book hub (sneakers_app.live) and reloads only what a book update can
change. A substate that shows something of the market follows it through two hooks:
`_market_changed` (after every reload of this viewer's part) and `_view_changed` (the page was
loaded, or another size chosen).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
import reflex as rx
from reflex.event import EventSpec

from sneakers_app import live, routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import (
    analytics,
    catalog,
    limits,
    listings,
    market,
    product_page,
    sizes,
)
from sneakers_app.services.product_page import (
    LevelView,
    MarketSnapshot,
    OwnListingView,
    SaleRow,
    SizeView,
    TapeSnapshot,
    market_feed_key,
)
from state import charts, live_push
from state.base import SessionState, client_connected, event_namespace, worker_stopping
from state.product_chart import figure

__all__ = ["USER_VARS", "LevelView", "OwnListingView", "ProductState", "SaleRow", "SizeView"]

log = logging.getLogger(__name__)
# What a product page holds for the logged-in user (cleared when they leave); the rest is public.
# The trade dialog's and the watch button's substates hold only the user's.
USER_VARS: tuple[str, ...] = ("own_listings", "own_levels", "dialog_open", "listing_message")
LIVE_WAIT_SECONDS = 10.0
# An idle tab's loop (nothing changed, no kick) looks at the tab's state this seldom: the handlers
# that change what it waits for kick it, so the look only ends a loop left behind by a navigation.
LIVE_LOOK_SECONDS = 60.0
LOAD_WAIT_SECONDS = 5.0
PENDING_TAPE_RETRY = 0.3
MAX_TAPE_RETRIES = 50
MIN_RELOAD_INTERVAL = 0.1
ALL_SIZES = "all"


SIZE_SYSTEMS = sizes.SYSTEMS


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
    its own listings are in the book) rather than only trades."""

    @property
    def feed_key(self) -> tuple[Any, ...]:
        return market_feed_key(self.product_id, self.variants, self.selected)


def load_shared_view(
    *, product_id: int, variants: dict[int, str], selected: int | None
) -> live_push.SharedView:
    public = product_page.load_public_market(
        product_id=product_id, variants=variants, selected=selected
    )
    return live_push.SharedView(market=public, vars=product_page.public_vars(public, variants))


def _topics(books: list[str], args: LiveArgs) -> list[str]:
    """What a tab's live loop waits for: every change of the books, or only their trades."""
    return books if args.every_change else [live.trade_topic(b) for b in books]


def _waits_for_other(args: LiveArgs, current: LiveArgs) -> bool:
    """Whether the loop now waits for other topics or another feed than it did."""
    return current.every_change != args.every_change or current.feed_key != args.feed_key


def _read_now(*, changed: bool, pending: bool, retries: int) -> bool:
    """Read after a change, or to retry a pending sale row (a bounded number of times)."""
    return changed or (pending and retries <= MAX_TAPE_RETRIES)


def _in_server() -> bool:
    return event_namespace() is not None


@functools.cache
def _transport() -> live_push.StateRoomTransport:
    return live_push.StateRoomTransport(ProductState.get_full_name())


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
    size_labels: dict[str, str] = {}
    """"<size>|<system>" -> the size in that system ("10|eu" -> "EU 44"): the page shows each
    size in the viewer's `size_system` without asking the server."""
    size_lines: dict[str, str] = {}
    """Size -> all its systems on one line ("US M 10 · US W 11.5 · UK 9 · EU 44 · 28 cm")."""
    size_chart_name: str = ""
    all_sizes_ask: str = "\u2014"
    selected_size: str = ""
    lowest_ask: str = "\u2014"
    highest_bid: str = "\u2014"
    # Per size system ("eu" -> "in EU 44"): the page shows the viewer's `size_system`.
    lowest_ask_where: dict[str, str] = dict.fromkeys(SIZE_SYSTEMS, "Buy now")
    highest_bid_where: dict[str, str] = dict.fromkeys(SIZE_SYSTEMS, "Sell now")
    market_note: dict[str, str] = dict.fromkeys(SIZE_SYSTEMS, "")
    last_sale: str = "\u2014"
    last_change: str = ""
    last_change_dir: str = "flat"
    book_bids: list[LevelView] = []
    book_asks: list[LevelView] = []
    own_listings: list[OwnListingView] = []
    own_levels: list[str] = []
    live_at: str = ""

    chart_range: str = "1Y"
    figure: go.Figure = rx.field(default_factory=charts.empty_figure)
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

    dialog_open: bool = False
    """Whether the trade dialog (`TradeState`) is open: here, as the live loop follows every
    book change while it is."""
    listing_message: str = ""

    _product_id: int = 0
    _retail_cents: int = 0
    _variants: dict[int, str] = {}
    _feed_view: tuple[Any, ...] = ()
    """The key of the feed this tab follows (`market_feed_key`), () for none."""
    _tape_pending: bool = False
    _known_trade_at: int = 0
    _live_gen: int = 0
    _live_running_gen: int = 0
    _size_request: int = 0
    _range_request: int = 0
    _loaded_sid: str = ""
    """The connection (socket.io sid) the page last loaded on: a reconnect loads it again."""

    # --- helpers (not callable from the browser) -----------------------------------------------

    def _variant_for(self, size: str) -> int | None:
        for variant_id, name in self._variants.items():
            if name == size:
                return variant_id
        return None

    def _selected_variant(self) -> int | None:
        return self._variant_for(self.selected_size) if self.selected_size else None

    def _scope_label(self) -> str:
        if not self.selected_size:
            return "all sizes"
        key = f"{self.selected_size}|{self.size_system}"
        return self.size_labels.get(key) or sizes.stored_label(self.selected_size)

    def _apply_public(self, values: dict[str, Any]) -> None:
        """The vars every viewer of this view shows alike. Assigned unconditionally (so sent):
        the view's feed pushes them to the browser without passing through this state, so what
        this state holds may be older than what the browser shows."""
        for name, value in values.items():
            setattr(self, name, value)

    def _apply_private(self, snap: MarketSnapshot) -> None:
        """This viewer's own listings, the prices its dialog quotes, and the chart."""
        public = snap.public
        if self.own_listings != snap.own:
            self.own_listings = snap.own
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
        for part in self._parts():
            part._market_changed()

    def _apply_tape(self, tape: TapeSnapshot) -> None:
        view = product_page.tape_view(tape)
        self.figure = figure(view.points, self._scope_label())
        self.chart_empty = view.empty
        self.stat_high = view.high
        self.stat_low = view.low
        self.stat_average = view.average
        self.stat_volatility = view.volatility
        self.stat_premium = view.premium
        self.stat_premium_dir = view.premium_dir
        self.stat_sales = view.sales
        self.stat_sales_total = view.sales_total
        self.recent = view.recent

    def _reload(self, *, with_tape: bool) -> None:
        """Read the market of the chosen size now (a handler's own answer), and follow that
        view's feed from here on."""
        if not self._product_id:
            return
        self._show_reload(self._market_loader(with_tape=with_tape)())

    def _market_loader(self, *, with_tape: bool) -> functools.partial[MarketSnapshot]:
        """`load_market` for the view shown now, to call outside the state lock."""
        return functools.partial(
            product_page.load_market,
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

    def _refused_by_limit(self, action: str, user_id: int) -> str:
        """Count one attempt at `action` (`limits.ORDERS`, `limits.WATCH`): "" when allowed,
        else what to tell the user."""
        try:
            limits.check(action, user=user_id, ip=self.router.session.client_ip)
        except limits.RateLimited as exc:
            return exc.message
        return ""

    def _on_this_product(self) -> bool:
        path = (self.router.url.path or "").rstrip("/")
        return bool(self.slug) and path == routes.product(self.slug)

    # --- the substates' part ------------------------------------------------------------------

    def _page(self) -> ProductState:
        """The page's ProductState itself (also when called on one of its substates)."""
        state: Any = self
        while state.__class__ is not ProductState and state.parent_state is not None:
            state = state.parent_state
        page: ProductState = state
        return page

    def _parts(self) -> list[ProductState]:
        """The page's substates (the trade dialog, the watch button)."""
        return [s for s in self._page().substates.values() if isinstance(s, ProductState)]

    def _market_changed(self) -> None:
        """Hook: this viewer's part of the market was read again."""

    def _view_changed(self, *, page_load: bool) -> None:
        """Hook: the page was loaded (`page_load`), or another size chosen."""

    def _forget_user(self) -> None:
        """The product and its market are public and stay (with the live feed); what was this
        user's goes: their orders in the book, the dialog, and what the substates hold."""
        fields = type(self).get_fields()
        for name in USER_VARS:
            setattr(self, name, fields[name].default_value())
        for part in self._parts():
            part._forget_user()

    # --- page load and navigation ----------------------------------------------------------

    @rx.event
    async def on_load(self) -> EventSpec | None:
        path = self.router.url.path or ""
        slug = routes.slug_in(path)
        self._live_gen += 1
        self._loaded_sid = self.router.session.session_id
        # A web worker keeps the product's listed facts for the next page loads.
        read = product_page.product_facts if _in_server() else product_page.read_product_facts
        detail = await asyncio.to_thread(read, slug)
        self.loaded = True
        self.selected_size = ""
        self.dialog_open = False
        self.listing_message = ""
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
        self._variants = dict(detail.sizes)
        self.size_names = [size for _, size in detail.sizes]
        self._show_size_labels(detail)
        self._known_trade_at = 0
        wanted = str(self.router.url.query_parameters.get("size", ""))[:10]
        if wanted in self.size_names:
            self.selected_size = wanted
        for part in self._parts():
            part._view_changed(page_load=True)
        await self._load_market()
        return ProductState.watch_market

    async def _load_market(self) -> None:
        """A page load's read of the market, chart included. In a web worker the reads that
        every viewer of this view shares come from the process's latest read if it is as new
        as the books (a crowd arriving at a drop reads the market once, not once per tab);
        only the viewer's own listings are read for it alone. Outside the event loop's thread."""
        if not _in_server():
            snap = await asyncio.to_thread(self._market_loader(with_tape=True))
        else:
            hub = live.get_hub()
            hub.ensure_started()
            snap = await self._live_snapshot(hub, self._live_args(), not_before=None, tape=True)
        self._show_reload(snap)

    def _show_size_labels(self, detail: catalog.ProductFacts) -> None:
        shown = sizes.size_labels(
            brand=detail.brand, chart=detail.size_chart, sizes=self.size_names
        )
        self.size_labels = {
            f"{size}|{system}": text
            for size, by_system in shown.labels.items()
            for system, text in by_system.items()
        }
        self.size_lines = shown.lines
        self.size_chart_name = sizes.CHART_NAMES[sizes.chart_of(detail.size_chart)]

    @contextlib.asynccontextmanager
    async def loaded_here(self) -> AsyncIterator[None]:
        """`async with self`, once the page has loaded on this tab's connection. A tab that
        reconnects (a network blip, a web worker restarted) sends what was clicked meanwhile
        right after its hydrate, and a background event does not wait in the tab's queue: it
        would run before the page's load on the new connection, which then undid it (the
        address still holds the size from before). Waits at most `LOAD_WAIT_SECONDS`."""
        deadline = time.monotonic() + LOAD_WAIT_SECONDS
        while True:
            async with self:
                if (
                    self._loaded_sid == self.router.session.session_id
                    or time.monotonic() >= deadline
                ):
                    yield
                    return
            await asyncio.sleep(0.05)

    # Background events (also `set_range`): the chart's price history is read in a worker
    # thread, so a slow query never holds up other tabs. A later choice of size (or range)
    # supersedes an earlier one still reading: only the latest is shown.
    @rx.event(background=True)
    async def select_size(self, size: str) -> EventSpec | None:
        size = str(size)[:10]
        async with self.loaded_here():
            if size == ALL_SIZES or size == "":
                self.selected_size = ""
            elif size in self._variants.values():
                self.selected_size = size
            else:
                return None
            self._size_request += 1
            request, range_request = self._size_request, self._range_request
            for part in self._parts():
                part._view_changed(page_load=False)
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
        async with self.loaded_here():
            if value not in analytics.RANGES or not self._product_id:
                return
            self.chart_range = value
            self._range_request += 1
            request, size_request = self._range_request, self._size_request
            load = functools.partial(
                product_page.read_tape, self._product_id, self._selected_variant(), value
            )
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
        looked = time.monotonic()
        try:
            while True:
                if not client_connected(token, sid):
                    stopped = "disconnected"
                    break
                seen, changed, idle = await hub.wake(seen, timeout, kick_key=sid)
                if not client_connected(token, sid):
                    stopped = "disconnected"
                    break
                if (
                    idle
                    and timeout == LIVE_WAIT_SECONDS
                    and time.monotonic() - looked < LIVE_LOOK_SECONDS
                ):
                    # Nothing happened, so the tab's state is as it was. Loading it from the
                    # state manager for nothing (a thousand tabs every ten seconds) was a sixth
                    # of a web worker's time with sessions in Redis.
                    continue
                looked = time.monotonic()
                async with self:
                    if not self._live_here(gen):
                        break
                    current = self._live_args()
                    pending = self._tape_pending
                if _waits_for_other(args, current):
                    # Another size, a dialog opened or closed, own orders came or went: wait
                    # for what the tab needs now, after one read (nothing missed in between).
                    seen = hub.versions(_topics(books, current))
                    changed = True
                args = current
                retries = retries + 1 if pending and not changed else 0
                if not _read_now(changed=changed, pending=pending, retries=retries):
                    timeout = LIVE_WAIT_SECONDS
                    continue
                # A retry for a sale row the database lacked: a read started since half the
                # retry interval ago is new enough (so retrying sessions still share reads).
                not_before = None if changed else time.monotonic() - PENDING_TAPE_RETRY / 2
                snap = await self._live_snapshot(hub, args, not_before=not_before)
                async with self:
                    if not self._live_here(gen):
                        break
                    pending = self._apply_live(snap, args)
                timeout = PENDING_TAPE_RETRY if pending else LIVE_WAIT_SECONDS
                await asyncio.sleep(MIN_RELOAD_INTERVAL)
        except asyncio.CancelledError:
            stopped = "cancelled by Reflex (page left or socket closed)"
            raise
        finally:
            log.info("product live loop stopped: %s", stopped)
            # In a stopping worker the tab comes back on another worker, whose page load
            # starts its own loop there (this process's feeds go with it). Waiting here for
            # the tab's lock, which that worker holds while it serves the tab, held up this
            # worker's stop for its whole grace period with a hundred tabs moving at once.
            if not worker_stopping():
                async with self:
                    self._live_loop_ended(gen)

    def _live_here(self, gen: int) -> bool:
        """Whether the live loop of generation `gen` still serves this tab's product page."""
        return self._live_gen == gen and self._on_this_product()

    def _apply_live(self, snap: MarketSnapshot, args: LiveArgs) -> bool:
        """Show the tab's own part of `snap` if still current; whether a sale row is pending."""
        if self._live_args() == args:
            if {o.key for o in snap.own} != {o.key for o in self.own_listings}:
                # One of the viewer's listings filled or expired: the note is stale.
                self.listing_message = ""
            self._apply_private(snap)
        return self._tape_pending

    def _live_loop_ended(self, gen: int) -> None:
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
            every_change=self.dialog_open or bool(self.own_listings),
        )

    def _kick_live(self) -> None:
        """Wake this tab's live loop to look again at what it waits for."""
        live.get_hub().kick(self.router.session.session_id)

    @staticmethod
    async def _shared_view(
        hub: live.BookHub, args: LiveArgs, *, not_before: float | None, any_version: bool = False
    ) -> live_push.SharedView:
        """What every viewer of the view shows alike, from the process's latest read if that
        is as new as the books are now (the session may have slept through their changes), or
        (`any_version`) if it started after `not_before`."""
        variants = dict(args.variants)
        return await hub.shared(
            args.feed_key,
            hub.versions([str(v) for v in variants]),
            functools.partial(
                load_shared_view,
                product_id=args.product_id,
                variants=variants,
                selected=args.selected,
            ),
            not_before=not_before,
            any_version=any_version,
        )

    async def show_market_now(self, within: float) -> None:
        """Part of a tab's hydrate (`state.hydrate.MarketOnHydrate`), before its state goes to
        the browser: the market the page shows as of now. The tab's saved state holds the market
        of its last save, older than what its browser showed (the feed's pushes bypass the
        state), and the page's load, which reads it again, runs only after the hydrate: a tab
        coming back (a reconnect, a web worker restarted, a reload) would show stale prices
        until then, a second or more when a hundred tabs arrive at a worker at once. The view's
        latest read in this process will do if it started within `within` seconds: the feed
        reads it on every change, and a hundred tabs arriving while the books change must not
        each start a read of their own (they did, and the reads queued behind one another)."""
        if not (self._product_id and _in_server() and self._on_this_product()):
            return
        hub = live.get_hub()
        hub.ensure_started()
        view = await self._shared_view(
            hub, self._live_args(), not_before=time.monotonic() - within, any_version=True
        )
        self._apply_public(view.vars)
        self._follow_feed()

    @staticmethod
    async def _live_snapshot(
        hub: live.BookHub, args: LiveArgs, *, not_before: float | None, tape: bool = False
    ) -> MarketSnapshot:
        """The market for one session: the shared part from the hub, the rest for it alone;
        the chart when a trade is newer than the session's (or `tape`)."""
        variants = dict(args.variants)
        view = await ProductState._shared_view(hub, args, not_before=not_before)
        chart = None
        if tape or view.market.newest_trade_at > args.known_trade_at:
            # The chart moves with trades only: a read as new as the books' trades will do.
            trades = hub.versions([live.trade_topic(str(v)) for v in variants])
            chart = await hub.shared(
                product_page.tape_key(args.product_id, args.selected, args.range_),
                trades,
                functools.partial(
                    product_page.read_tape, args.product_id, args.selected, args.range_
                ),
                not_before=not_before,
            )
        own: list[analytics.OwnOrder] = []
        if args.auth_token:
            own = await asyncio.to_thread(
                product_page.load_own_listings,
                auth_token=args.auth_token,
                variants=variants,
                selected=args.selected,
            )
        return product_page.market_snapshot(
            view.market, view.vars, variants=variants, own=own, tape=chart
        )

    @rx.event
    def cancel_listing(self, key: str) -> EventSpec | None:
        user = self._current_user()
        if user is None:
            return self._login_redirect()
        parsed = market.parse_engine_order_id(str(key)[:24])
        if parsed is None:
            return None
        side, row_id = parsed
        with session_scope() as session:
            outcome = listings.cancel(
                session=session,
                user_id=user.id,
                side=side,
                listing_id=row_id,
                ip=self.router.session.client_ip,
            )
        if outcome is None:
            return None
        if not outcome.ok:
            self.listing_message = outcome.message
            return None
        self.listing_message = f"Your {side} was cancelled."
        self._reload(with_tape=False)
        return None
