"""Browse and product page state: read the URL, call the catalog service, hold view rows."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import reflex as rx

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import catalog
from state.base import SessionState


@dataclasses.dataclass
class CardView:
    slug: str
    name: str
    brand: str
    colorway: str
    image: str
    retail: str
    last_sale: str
    href: str


@dataclasses.dataclass
class SizeView:
    size: str
    last_sale: str


def _card(card: catalog.ProductCard) -> CardView:
    return CardView(
        slug=card.slug,
        name=card.name,
        brand=card.brand,
        colorway=card.colorway,
        image=f"/products/{card.image}",
        retail=format_usd(card.retail_price_cents, whole=True),
        last_sale=format_usd(card.last_sale_cents, whole=True),
        href=routes.product(card.slug),
    )


class BrowseState(SessionState):
    query: str = ""
    brand: str = ""
    brands: list[str] = []
    cards: list[CardView] = []
    loaded: bool = False

    @rx.var
    def result_label(self) -> str:
        n = len(self.cards)
        what = "sneaker" if n == 1 else "sneakers"
        if self.query:
            return f'{n} {what} for "{self.query}"'
        return f"{n} {what}"

    def _load(self) -> None:
        with session_scope() as session:
            self.brands = catalog.list_brands(session=session)
            if self.brand not in self.brands:
                self.brand = ""
            found = catalog.search_products(session=session, query=self.query, brand=self.brand)
        self.cards = [_card(c) for c in found]
        self.loaded = True

    @rx.event
    def on_load(self) -> None:
        params = self.router.url.query_parameters
        self.query = str(params.get("q", ""))[: catalog.MAX_QUERY_CHARS]
        self.brand = str(params.get("brand", ""))[:60]
        self._load()

    def _url(self) -> str:
        params = {k: v for k, v in (("q", self.query), ("brand", self.brand)) if v}
        return routes.BROWSE + (f"?{urlencode(params)}" if params else "")

    @rx.event
    def search(self, form: dict[str, str]) -> rx.event.EventSpec:
        self.query = str(form.get("q", "")).strip()[: catalog.MAX_QUERY_CHARS]
        self._load()
        return rx.call_script(f"window.history.replaceState(null, '', {self._url()!r})")

    @rx.event
    def set_brand_filter(self, brand: str) -> rx.event.EventSpec:
        self.brand = "" if brand == "all" else str(brand)[:60]
        self._load()
        return rx.call_script(f"window.history.replaceState(null, '', {self._url()!r})")

    @rx.event
    def clear_filters(self) -> rx.event.EventSpec:
        self.query = ""
        self.brand = ""
        self._load()
        return rx.call_script("window.history.replaceState(null, '', '/')")


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
    last_sale: str = ""
    sales_count: int = 0
    sizes: list[SizeView] = []
    selected_size: str = ""

    @rx.event
    def on_load(self) -> None:
        path = self.router.url.path or ""
        slug = path.rstrip("/").rsplit("/", 1)[-1] if path.startswith("/product/") else ""
        with session_scope() as session:
            detail = catalog.get_product(session=session, slug=slug)
        self.loaded = True
        self.selected_size = ""
        if detail is None:
            self.found = False
            self.name = ""
            self.sizes = []
            return
        self.found = True
        self.name = detail.name
        self.brand = detail.brand
        self.model = detail.model
        self.colorway = detail.colorway
        self.style_code = detail.style_code
        self.description = detail.description
        self.image = f"/products/{detail.image}"
        self.retail = format_usd(detail.retail_price_cents, whole=True)
        self.release_date = detail.release_date.strftime("%b %-d, %Y")
        self.last_sale = format_usd(detail.last_sale_cents, whole=True)
        self.sales_count = detail.sales_count
        self.sizes = [
            SizeView(size=v.size, last_sale=format_usd(v.last_sale_cents, whole=True))
            for v in detail.variants
        ]

    @rx.event
    def select_size(self, size: str) -> None:
        if any(s.size == size for s in self.sizes):
            self.selected_size = size
