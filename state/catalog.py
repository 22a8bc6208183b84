"""Browse state: the query lives in the URL; the catalog service does the work."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import live, routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.services import catalog, sizes
from state.base import SessionState, client_connected, worker_stopping

LIVE_WAIT_SECONDS = 10.0
BROWSE_RELOAD_DELAY = 1.0

SORT_LABELS = {
    "most_active": "Most active",
    "price_low": "Price: low to high",
    "price_high": "Price: high to low",
    "newest": "Newest release",
    "biggest_change": "Biggest change (30 days)",
}


@dataclasses.dataclass
class CardView:
    slug: str
    name: str
    brand: str
    colorway: str
    image: str
    retail: str
    last_sale: str
    lowest_ask: str
    change_24h: str
    change_24h_dir: str
    change_30d: str
    change_30d_dir: str
    href: str


def format_change(bp: int | None) -> tuple[str, str]:
    """(text, direction) for a change in basis points: ("+4.2%", "up")."""
    if bp is None:
        return "\u2014", "flat"
    sign = "+" if bp > 0 else ("-" if bp < 0 else "")
    whole, frac = divmod(abs(bp), 100)
    return f"{sign}{whole}.{frac // 10}%", "up" if bp > 0 else ("down" if bp < 0 else "flat")


def card_view(card: catalog.ProductCard) -> CardView:
    day, day_dir = format_change(card.change_24h_bp)
    month, month_dir = format_change(card.change_30d_bp)
    return CardView(
        slug=card.slug,
        name=card.name,
        brand=card.brand,
        colorway=card.colorway,
        image=routes.product_image(card.image),
        retail=format_usd(card.retail_price_cents, whole=True),
        last_sale=format_usd(card.last_sale_cents, whole=True),
        lowest_ask=format_usd(card.lowest_ask_cents, whole=True),
        change_24h=day,
        change_24h_dir=day_dir,
        change_30d=month,
        change_30d_dir=month_dir,
        href=routes.product(card.slug),
    )


def _dollars(raw: str) -> tuple[int | None, str]:
    """(cents, error) for an optional price filter typed in dollars."""
    raw = (raw or "").strip()
    if not raw:
        return None, ""
    try:
        cents = parse_usd(raw)
    except ValueError as exc:
        return None, str(exc)
    if cents > 10_000_000:
        return None, "Prices go up to $100,000."
    return cents, ""


class BrowseState(SessionState):
    query: str = ""
    brand: str = ""
    size: str = ""
    min_price: str = ""
    max_price: str = ""
    year: str = ""
    sort: str = "most_active"
    price_error: str = ""
    size_error: str = ""
    brands: list[str] = []
    size_options: list[str] = []
    years: list[str] = []
    cards: list[CardView] = []
    loaded: bool = False
    _books: list[str] = []
    _live_gen: int = 0
    _live_running_gen: int = 0

    @rx.var
    def result_label(self) -> str:
        n = len(self.cards)
        what = "sneaker" if n == 1 else "sneakers"
        if self.size and not self.size_error:
            what += f" in size {self.size}"
        if self.query:
            return f'{n} {what} for "{self.query}"'
        return f"{n} {what}"

    @rx.var
    def filtered(self) -> bool:
        return bool(
            self.query or self.brand or self.size or self.min_price or self.max_price or self.year
        )

    def _size_filter(self) -> str:
        """The size box's text when it is a size in some system, else "" (and say so)."""
        wanted = sizes.parse(self.size, default_system=self.size_system) if self.size else None
        self.size_error = sizes.SIZE_HELP if self.size and wanted is None else ""
        return self.size if wanted is not None else ""

    def _filters(self) -> catalog.BrowseFilters:
        low, low_error = _dollars(self.min_price)
        high, high_error = _dollars(self.max_price)
        self.price_error = low_error or high_error
        if low is not None and high is not None and low > high:
            self.price_error = "The lowest price is above the highest."
            low = high = None
        year = int(self.year) if self.year.isdigit() else None
        return catalog.BrowseFilters(
            query=self.query,
            brand=self.brand,
            size=self._size_filter(),
            size_system=self.size_system,
            min_price_cents=None if self.price_error else low,
            max_price_cents=None if self.price_error else high,
            release_year=year,
            sort=self.sort if self.sort in SORT_LABELS else "most_active",
        )

    def _load(self) -> None:
        with session_scope() as session:
            self.brands = catalog.list_brands(session=session)
            self.years = [str(y) for y in catalog.release_years(session=session)]
            if self.brand not in self.brands:
                self.brand = ""
            if self.year not in self.years:
                self.year = ""
            found = catalog.browse(session=session, filters=self._filters())
            self._books = [
                str(v)
                for v in catalog.variant_ids_for(session=session, product_ids=[c.id for c in found])
            ]
        self.cards = [card_view(c) for c in found]
        self.size_options = sizes.suggestions(self.size_system)
        self.loaded = True

    def _url(self) -> str:
        pairs = (
            ("q", self.query),
            ("brand", self.brand),
            ("size", self.size),
            ("min", self.min_price),
            ("max", self.max_price),
            ("year", self.year),
            ("sort", "" if self.sort == "most_active" else self.sort),
        )
        params = {k: v for k, v in pairs if v}
        return routes.BROWSE + (f"?{urlencode(params)}" if params else "")

    def _push_url(self) -> EventSpec:
        return rx.call_script(f"window.history.replaceState(null, '', {self._url()!r})")

    @rx.event
    def on_load(self) -> EventSpec:
        params = self.router.url.query_parameters
        self.query = str(params.get("q", "")).strip()[: catalog.MAX_QUERY_CHARS]
        self.brand = str(params.get("brand", ""))[:60]
        self.size = str(params.get("size", "")).strip()[:20]
        self.min_price = str(params.get("min", ""))[:20]
        self.max_price = str(params.get("max", ""))[:20]
        self.year = str(params.get("year", ""))[:4]
        sort = str(params.get("sort", "most_active"))
        self.sort = sort if sort in SORT_LABELS else "most_active"
        self._load()
        self._live_gen += 1
        return BrowseState.watch_prices

    def _forget_user(self) -> None:
        """Browse holds the public catalog and the search in the URL: nothing of the user."""

    @rx.event
    def search(self, form: dict[str, str]) -> EventSpec:
        self.query = str(form.get("q", "")).strip()[: catalog.MAX_QUERY_CHARS]
        self.size = str(form.get("size", "")).strip()[:20]
        self.min_price = str(form.get("min", "")).strip()[:20]
        self.max_price = str(form.get("max", "")).strip()[:20]
        self._load()
        return self._push_url()

    @rx.event
    def set_filter(self, name: str, value: str) -> EventSpec:
        value = "" if value == "all" else str(value)
        if name == "brand":
            self.brand = value[:60]
        elif name == "year":
            self.year = value[:4]
        elif name == "sort":
            self.sort = value if value in SORT_LABELS else "most_active"
        self._load()
        return self._push_url()

    @rx.event
    def clear_filters(self) -> EventSpec:
        self.query = self.brand = self.size = self.min_price = self.max_price = self.year = ""
        self.sort = "most_active"
        self._load()
        return self._push_url()

    @rx.event(background=True)
    async def watch_prices(self) -> None:
        """Keep the grid's prices live while this tab shows it: wait for any shown book to
        change (one pub/sub subscriber per process wakes us), then reload, at most once a
        second. Stops when the tab leaves the page or disconnects."""
        async with self:
            gen = self._live_gen
            if self._live_running_gen == gen:
                return
            self._live_running_gen = gen
            token = self.router.session.client_token
            sid = self.router.session.session_id
        hub = live.get_hub()
        try:
            while True:
                async with self:
                    if self._live_gen != gen or (self.router.url.path or "/") != routes.BROWSE:
                        break
                    books = list(self._books)
                if not client_connected(token, sid):
                    break
                seen = hub.versions(books)
                _seen, changed = await hub.wait(seen, LIVE_WAIT_SECONDS)
                if not changed:
                    continue
                # Let the journal consumer record the change, and fold bursts into one reload.
                await asyncio.sleep(BROWSE_RELOAD_DELAY)
                async with self:
                    if self._live_gen != gen:
                        break
                    self._load()
        finally:
            if not worker_stopping():  # see ProductState.watch_market
                async with self:
                    if self._live_running_gen == gen:
                        self._live_running_gen = 0
