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
