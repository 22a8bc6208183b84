"""Rows for tests, made through the same models the app uses (no hand-written SQL)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime

from sqlmodel import Session

from sneakers_app.models import Ask, Bid, Product, ProductVariant, Trade
from sneakers_app.services import accounts, addresses

_counter = itertools.count(1)


def user(session: Session, name: str = "User", *, staff: bool = False) -> int:
    n = next(_counter)
    created = accounts.sign_up(
        session=session,
        email=f"{name.lower().replace(' ', '')}{n}-{uuid.uuid4().hex[:6]}@example.com",
        display_name=f"{name} {n}",
        password="a long enough password",
        is_staff=staff,
    )
    return created.id


def address_input(**overrides: str) -> addresses.AddressInput:
    """A valid US address as typed into the form, with any field given instead."""
    values = {
        "full_name": "Ada Lovelace",
        "line1": "12 Market Street",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
    }
    return addresses.AddressInput(**(values | overrides))


def address(session: Session, user_id: int, line1: str = "12 Market Street", **more: str) -> int:
    """A saved shipping address (the first one becomes the user's default)."""
    row = addresses.add_address(
        session=session, user_id=user_id, data=address_input(line1=line1, **more)
    )
    assert row.id is not None
    return row.id


def variant(session: Session, size: str = "10", *, brand: str = "Nike", chart: str = "men") -> int:
    """A new product (of `brand`, sold on its `chart` of sizes) with one size."""
    n = next(_counter)
    product = Product(
        slug=f"test-sneaker-{n}-{uuid.uuid4().hex[:6]}",
        brand=brand,
        size_chart=chart,
        model="Test Runner",
        colorway=f"Colorway {n}",
        name=f'Test Runner "Colorway {n}"',
        style_code=f"TS{n:04d}-{uuid.uuid4().hex[:4]}",
        retail_price_cents=18_000,
        release_date=date(2024, 1, 1),
        image="test.svg",
    )
    session.add(product)
    session.flush()
    v = ProductVariant(product_id=product.id or 0, size=size, sort_order=0)
    session.add(v)
    session.flush()
    assert v.id is not None
    return v.id


def trade(
    session: Session,
    *,
    buyer_id: int,
    seller_id: int,
    variant_id: int | None = None,
    price_cents: int = 25_000,
) -> Trade:
    variant_id = variant_id or variant(session)
    now = datetime.now(UTC)
    bid = Bid(
        user_id=buyer_id,
        variant_id=variant_id,
        price_cents=price_cents,
        filled_quantity=1,
        status="filled",
        client_key=uuid.uuid4().hex,
        expires_at=now,
    )
    ask = Ask(
        user_id=seller_id,
        variant_id=variant_id,
        price_cents=price_cents,
        filled_quantity=1,
        status="filled",
        client_key=uuid.uuid4().hex,
        expires_at=now,
    )
    session.add(bid)
    session.add(ask)
    session.flush()
    t = Trade(
        id=f"{variant_id}-{uuid.uuid4().hex[:10]}",
        variant_id=variant_id,
        bid_id=bid.id or 0,
        ask_id=ask.id or 0,
        buyer_id=buyer_id,
        seller_id=seller_id,
        price_cents=price_cents,
        quantity=1,
        maker_side="ask",
        executed_at=now,
    )
    session.add(t)
    session.flush()
    return t
