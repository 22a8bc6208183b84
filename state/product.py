"""The product page's state: the product, its sizes and (later) its live book."""

from __future__ import annotations

import dataclasses

import reflex as rx

from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import catalog
from state.base import SessionState


@dataclasses.dataclass
class SizeView:
    size: str
    last_sale: str


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
