"""The seller dashboard's "New ask": find the product to sell, then go on to its ask form (the
product page opened with `?trade=ask`, `TradeState.open_from_link`). Thin: the catalog's own
search (services/catalog.py) answers; the handler re-checks the user like every other."""

from __future__ import annotations

import dataclasses

import reflex as rx
from reflex.event import EventSpec

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.money import format_usd
from sneakers_app.services import catalog
from state.base import SessionState

HITS = 8
"""How many products the search shows: enough to pick from, few enough for a phone screen."""
MAX_QUERY = 100


@dataclasses.dataclass
class AskSearchHit:
    slug: str
    name: str
    colorway: str
    image: str
    lowest_ask: str
    href: str


class AskSearchState(SessionState):
    open: bool = False
    query: str = ""
    hits: list[AskSearchHit] = []
    searched: bool = False

    def _forget_user(self) -> None:
        self.open = False
        self.query = ""
        self.hits = []
        self.searched = False

    @rx.event
    def set_open(self, open_: bool) -> EventSpec | None:
        if open_ and self._current_user() is None:
            return self._login_redirect()
        self._forget_user()
        self.open = bool(open_)
        return None

    @rx.event
    def search(self, query: str) -> EventSpec | None:
        if self._current_user() is None:
            return self._login_redirect()
        self.query = str(query)[:MAX_QUERY]
        if not catalog.search_tokens(self.query):
            self.hits = []
            self.searched = False
            return None
        with session_scope() as session:
            found = catalog.search_products(session=session, query=self.query, limit=HITS)
        self.hits = [
            AskSearchHit(
                slug=card.slug,
                name=card.name,
                colorway=card.colorway,
                image=routes.product_image(card.image),
                lowest_ask=format_usd(card.lowest_ask_cents, whole=True),
                href=routes.place_ask(card.slug),
            )
            for card in found
        ]
        self.searched = True
        return None
