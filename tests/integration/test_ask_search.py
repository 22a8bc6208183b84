"""The seller dashboard's New ask search (state/ask_search.py) through Reflex's own event
processing, on a real database: members only, the catalog's search, and on to the ask form."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from sneakers_app import db
from sneakers_app.models import Product, ProductVariant
from state.ask_search import HITS, MAX_QUERY, AskSearchState
from state.auth import AuthFormState
from state.base import SessionState
from tests.integration.test_tab_privacy import PASSWORD, _email
from tests.support import factories
from tests.support.reflex_events import Tab


def _product() -> tuple[int, str, str]:
    """A member and a product (its slug and its colorway, unique to it)."""
    with db.session_scope() as s:
        member = factories.user(s, "Seller")
        variant = s.get(ProductVariant, factories.variant(s))
        assert variant is not None
        product = s.exec(select(Product).where(Product.id == variant.product_id)).one()
        return member, product.slug, product.colorway


@pytest.mark.usefixtures("app_db")
def test_new_ask_search_finds_the_product_and_links_to_its_ask_form() -> None:
    member, slug, colorway = _product()

    async def scenario() -> None:
        tab = Tab()
        search = await tab.state(AskSearchState)

        # A visitor is sent to log in and finds nothing.
        await tab.send(AskSearchState, "search", query=colorway)
        assert search.hits == [] and not search.searched
        assert "/login" in str(tab.emitted)

        await tab.send(
            AuthFormState, "log_in", form={"email": _email(member), "password": PASSWORD}
        )
        assert (await tab.state(SessionState)).user_id == member
        await tab.send(AskSearchState, "set_open", open_=True)
        assert search.open

        await tab.send(AskSearchState, "search", query=colorway)
        assert [(h.slug, h.href) for h in search.hits] == [(slug, f"/product/{slug}?trade=ask")]
        assert search.searched

        await tab.send(AskSearchState, "search", query="qqzzxx")
        assert search.hits == [] and search.searched

        # No words: nothing searched. Hostile or huge text: capped, answered, nothing found.
        await tab.send(AskSearchState, "search", query="  !!  ")
        assert search.hits == [] and not search.searched
        await tab.send(AskSearchState, "search", query="'; DROP TABLE products; --" * 50)
        assert len(search.query) == MAX_QUERY and len(search.hits) <= HITS

        # Closing (or logging out) forgets the search.
        await tab.send(AskSearchState, "set_open", open_=False)
        assert (search.open, search.query, search.hits) == (False, "", [])

    asyncio.run(scenario())
