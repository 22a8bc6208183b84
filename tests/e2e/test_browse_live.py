"""The browse grid's prices move live when someone lists a lower ask."""

from __future__ import annotations

import uuid

import redis
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from sneakers_app.db import make_engine
from sneakers_app.models import Ask, Product, ProductVariant, User
from sneakers_app.money import format_usd
from sneakers_app.seed import DEMO_ACCOUNTS
from sneakers_app.services import market
from tests.e2e.conftest import LiveApp, shoot
from trading.engine import RedisEngine


def test_a_lower_ask_reaches_the_open_grid_without_a_reload(page: Page, live_app: LiveApp) -> None:
    engine = make_engine(live_app.database_url)
    seller_email = next(a.email for a in DEMO_ACCOUNTS if a.role == "seller")
    with Session(engine) as s:
        product = s.exec(select(Product).order_by(col(Product.id))).first()
        assert product is not None
        variant_ids = list(
            s.exec(select(ProductVariant.id).where(ProductVariant.product_id == product.id))
        )
        # The size holding the product's lowest ask: its bids are below that ask, so an ask
        # one dollar lower rests instead of trading.
        lowest, variant_id = s.exec(
            select(Ask.price_cents, Ask.variant_id)
            .where(col(Ask.variant_id).in_(variant_ids), Ask.status == "open")
            .order_by(col(Ask.price_cents))
        ).first()  # type: ignore[misc]
        seller = s.exec(select(User.id).where(User.email == seller_email)).one()
        assert seller is not None
    page.goto(f"{live_app.url}/?q={product.style_code}")
    card = page.locator("#product-grid").get_by_role("link").first  # the grid has no name
    expect(card).to_contain_text(format_usd(lowest, whole=True))
    new_price = lowest - 100
    client = redis.Redis.from_url(live_app.redis_url)
    with Session(engine) as s:
        placed = market.place(
            session=s,
            engine=RedisEngine(client),
            user_id=seller,
            side="ask",
            variant_id=variant_id,
            price_cents=new_price,
            client_key=uuid.uuid4().hex,
        )
    assert placed.status == "open"
    expect(card).to_contain_text(format_usd(new_price, whole=True), timeout=10_000)
    shoot(page, "browse-live-desktop")
    client.close()
    engine.dispose()
