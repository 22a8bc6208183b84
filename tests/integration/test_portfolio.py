"""Portfolio service on SQLite and PostgreSQL: adding pairs, valuing them, bids' standing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import redis
from sqlmodel import Session, select

from sneakers_app.models import Order, PortfolioItem, ProductVariant, Sale, User
from sneakers_app.services import listings, market, orders, portfolio
from tests.support import factories
from tests.support.servers import RedisServer
from trading.engine import RedisEngine

TODAY = date(2025, 6, 15)


def _product_of(session: Session, variant_id: int) -> int:
    variant = session.get(ProductVariant, variant_id)
    assert variant is not None
    return variant.product_id


def _sale(session: Session, variant_id: int, price: int, when: datetime) -> None:
    session.add(
        Sale(
            product_id=_product_of(session, variant_id),
            variant_id=variant_id,
            price_cents=price,
            executed_at=when,
        )
    )
    session.flush()


def _completed_order(session: Session, buyer: int, seller: int, variant_id: int) -> Order:
    trade = factories.trade(
        session, buyer_id=buyer, seller_id=seller, variant_id=variant_id, price_cents=21_000
    )
    order, _ = orders.create_from_trade(session=session, trade=trade)
    for status in (
        "paid",
        "awaiting_shipment",
        "shipped_to_verification",
        "received",
        "authenticating",
        "authenticated",
        "shipped_to_buyer",
        "delivered",
        "completed",
    ):
        orders.transition(session=session, order=order, to_status=status)
    return order


def test_record_purchase_adds_the_pair_once(session: Session) -> None:
    buyer, seller = factories.user(session, "Buyer"), factories.user(session, "Seller")
    variant_id = factories.variant(session, "10.5")
    order = _completed_order(session, buyer, seller, variant_id)
    assert order.id is not None
    first = portfolio.record_purchase(session, order.id)
    again = portfolio.record_purchase(session, order.id)
    session.commit()
    assert first is not None and again is not None and first.id == again.id
    rows = session.exec(select(PortfolioItem).where(PortfolioItem.user_id == buyer)).all()
    assert len(rows) == 1
    assert rows[0].source == "bought"
    assert rows[0].purchase_price_cents == 21_000
    assert rows[0].order_id == order.id
    assert session.exec(select(PortfolioItem).where(PortfolioItem.user_id == seller)).all() == []


def test_record_purchase_ignores_orders_that_did_not_complete(session: Session) -> None:
    buyer, seller = factories.user(session, "Buyer"), factories.user(session, "Seller")
    trade = factories.trade(session, buyer_id=buyer, seller_id=seller)
    order, _ = orders.create_from_trade(session=session, trade=trade)
    assert order.id is not None
    assert portfolio.record_purchase(session, order.id) is None
    assert portfolio.record_purchase(session, 999_999) is None


def test_add_item_validates_every_field(session: Session) -> None:
    user = factories.user(session)
    variant_id = factories.variant(session, "9")
    product_id = _product_of(session, variant_id)

    def add(**overrides: object) -> PortfolioItem:
        args: dict[str, object] = {
            "product_id": product_id,
            "size": "9",
            "purchase_price_cents": 18_000,
            "purchased_on": TODAY,
        }
        args.update(overrides)
        return portfolio.add_item(session=session, user_id=user, today=TODAY, **args)  # type: ignore[arg-type]

    cases: list[tuple[dict[str, object], str, str]] = [
        ({"purchase_price_cents": -500}, "price", "at least $1"),
        ({"purchase_price_cents": 0}, "price", "at least $1"),
        ({"purchase_price_cents": "180"}, "price", "in dollars"),
        ({"purchase_price_cents": 18_000.5}, "price", "in dollars"),
        ({"purchase_price_cents": True}, "price", "in dollars"),
        ({"purchase_price_cents": 10**12}, "price", "at most"),
        ({"size": "19"}, "size", "does not come in size 19"),
        ({"size": "  "}, "size", "Enter the size"),
        ({"product_id": 10**9}, "product", "Choose a sneaker"),
        ({"product_id": "1"}, "product", "Choose a sneaker"),
        ({"purchased_on": TODAY + timedelta(days=1)}, "date", "future"),
        ({"purchased_on": date(1970, 1, 1)}, "date", "after 1985"),
    ]
    for overrides, field, message in cases:
        with pytest.raises(portfolio.PortfolioError) as refused:
            add(**overrides)
        assert refused.value.field == field, overrides
        assert message in refused.value.message, overrides
    assert session.exec(select(PortfolioItem).where(PortfolioItem.user_id == user)).all() == []

    item = add(size="us 9")
    session.commit()
    assert item.variant_id == variant_id
    assert item.source == "manual"
    assert item.purchased_on == TODAY
    # A size typed in any system is the same pair (Nike's men's 9 is EU 42.5, UK 8, 27 cm); a
    # bare number reads in the member's system.
    for typed, system in (("EU 42.5", "us_m"), ("27 cm", "eu"), ("8", "uk"), ("uk 8", "us_m")):
        found = portfolio.resolve_variant(
            session, product_id=product_id, size=typed, size_system=system
        )
        assert found.id == variant_id, typed
    for typed, system in (("8", "us_m"), ("EU 44", "eu"), ("UK 9", "uk")):
        with pytest.raises(portfolio.PortfolioError, match="does not come in size"):
            portfolio.resolve_variant(
                session, product_id=product_id, size=typed, size_system=system
            )


def test_parse_purchase_date() -> None:
    assert portfolio.parse_purchase_date("2024-05-31", today=TODAY) == date(2024, 5, 31)
    for text, message in (
        ("", "Enter the date"),
        ("yesterday", "like 2024-05-31"),
        ("2024-13-01", "like 2024-05-31"),
        ("2025-06-16", "future"),
    ):
        with pytest.raises(portfolio.PortfolioError) as refused:
            portfolio.parse_purchase_date(text, today=TODAY)
        assert message in refused.value.message
        assert refused.value.field == "date"


def test_remove_item_only_own_manual_items(session: Session) -> None:
    owner, other, seller = (factories.user(session, n) for n in ("Owner", "Other", "Seller"))
    variant_id = factories.variant(session, "10")
    product_id = _product_of(session, variant_id)
    manual = portfolio.add_item(
        session=session,
        user_id=owner,
        product_id=product_id,
        size="10",
        purchase_price_cents=15_000,
        purchased_on=TODAY,
        today=TODAY,
    )
    order = _completed_order(session, owner, seller, variant_id)
    bought = portfolio.record_purchase(session, order.id or 0)
    assert bought is not None
    with pytest.raises(portfolio.PortfolioError, match="not found"):
        portfolio.remove_item(session=session, user_id=other, item_id=manual.id)
    with pytest.raises(portfolio.PortfolioError, match="stay"):
        portfolio.remove_item(session=session, user_id=owner, item_id=bought.id)
    with pytest.raises(portfolio.PortfolioError, match="not found"):
        portfolio.remove_item(session=session, user_id=owner, item_id="1")
    portfolio.remove_item(session=session, user_id=owner, item_id=manual.id)
    session.commit()
    left = session.exec(select(PortfolioItem).where(PortfolioItem.user_id == owner)).all()
    assert [i.source for i in left] == ["bought"]


def test_holdings_value_at_last_sale_of_the_size(session: Session) -> None:
    user = factories.user(session)
    size_9 = factories.variant(session, "9")
    product_id = _product_of(session, size_9)
    size_10 = ProductVariant(product_id=product_id, size="10", sort_order=1)
    session.add(size_10)
    session.flush()
    assert size_10.id is not None
    t0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
    _sale(session, size_9, 20_000, t0)
    _sale(session, size_9, 30_000, t0 + timedelta(days=2))
    _sale(session, size_10.id, 99_000, t0 + timedelta(days=3))  # another size: not ours
    for size, price in (("9", 24_000), ("10", 50_000)):
        portfolio.add_item(
            session=session,
            user_id=user,
            product_id=product_id,
            size=size,
            purchase_price_cents=price,
            purchased_on=date(2025, 5, 1),
            today=TODAY,
        )
    session.commit()
    held = {h.product.size: h for h in portfolio.holdings(session=session, user_id=user)}
    assert held["9"].market_value_cents == 30_000
    assert held["9"].gain_cents == 6_000
    assert held["9"].gain_bp == 2_500
    assert held["9"].has_market_value
    assert held["10"].market_value_cents == 99_000
    assert held["10"].gain_bp == 9_800
    summary = portfolio.summarize(list(held.values()))
    assert summary.cost_cents == 74_000
    assert summary.value_cents == 129_000
    assert summary.gain_cents == 55_000
    assert summary.gain_bp == 7_432  # 55000/74000 = 74.324%


def test_item_without_sales_is_valued_at_cost(session: Session) -> None:
    user = factories.user(session)
    variant_id = factories.variant(session, "8")
    portfolio.add_item(
        session=session,
        user_id=user,
        product_id=_product_of(session, variant_id),
        size="8",
        purchase_price_cents=12_345,
        purchased_on=TODAY,
        today=TODAY,
    )
    (held,) = portfolio.holdings(session=session, user_id=user)
    assert held.market_value_cents == 12_345
    assert not held.has_market_value
    assert held.gain_cents == 0 and held.gain_bp == 0


def test_gain_bp_rounds_half_away_from_zero() -> None:
    assert portfolio.gain_bp(10_001, 10_000) == 1
    assert portfolio.gain_bp(3, 2) == 5_000
    assert portfolio.gain_bp(1, 3) == -6_667
    assert portfolio.gain_bp(5, 0) == 0


def test_value_series_counts_items_from_their_purchase_day(session: Session) -> None:
    user = factories.user(session)
    variant_id = factories.variant(session, "11")
    product_id = _product_of(session, variant_id)
    _sale(session, variant_id, 10_000, datetime(2025, 5, 1, tzinfo=UTC))  # before the window
    _sale(session, variant_id, 11_000, datetime(2025, 6, 13, 9, tzinfo=UTC))
    _sale(session, variant_id, 12_000, datetime(2025, 6, 13, 20, tzinfo=UTC))  # same day, later
    for bought_on in (date(2025, 6, 1), date(2025, 6, 14)):
        portfolio.add_item(
            session=session,
            user_id=user,
            product_id=product_id,
            size="11",
            purchase_price_cents=9_000,
            purchased_on=bought_on,
            today=TODAY,
        )
    series = portfolio.value_series(session=session, user_id=user, days=30, today=TODAY)
    assert len(series) == 30
    assert series[-1].day == TODAY
    by_day = {p.day: p for p in series}
    assert by_day[date(2025, 5, 31)].value_cents == 0  # nothing owned yet
    assert by_day[date(2025, 6, 1)].value_cents == 10_000
    assert by_day[date(2025, 6, 12)].value_cents == 10_000
    assert by_day[date(2025, 6, 13)].value_cents == 12_000
    assert by_day[date(2025, 6, 14)].value_cents == 24_000
    assert by_day[date(2025, 6, 14)].cost_cents == 18_000
    assert portfolio.value_series(session=session, user_id=factories.user(session)) == []


@pytest.fixture
def book_redis(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


def _bidder(session: Session) -> int:
    user_id = factories.user(session, "Bidder")
    user = session.get(User, user_id)
    assert user is not None
    # A saved card and an address are all placing a bid checks (charging happens after a match).
    user.stripe_customer_id = f"cus_{uuid.uuid4().hex[:12]}"
    user.default_payment_method_id = f"pm_{uuid.uuid4().hex[:12]}"
    session.add(user)
    factories.address(session, user_id)
    session.commit()
    return user_id


def test_active_bids_show_highest_or_outbid(session: Session, book_redis: redis.Redis) -> None:
    engine = RedisEngine(book_redis)
    variant_id = factories.variant(session, "10")
    session.commit()
    first, second = _bidder(session), _bidder(session)

    def bid(user: int, price: int) -> int:
        placed = market.place(
            session=session,
            engine=engine,
            user_id=user,
            side="bid",
            variant_id=variant_id,
            price_cents=price,
            client_key=uuid.uuid4().hex,
        )
        return placed.row_id

    def open_bids(user: int) -> list[listings.OwnListing]:
        return listings.open_listings(
            session=session, redis_client=book_redis, user_id=user, side="bid"
        )

    bid(first, 20_000)
    (only,) = open_bids(first)
    assert only.leads  # the highest bid
    assert only.highest_bid_cents == 20_000
    bid(second, 21_000)
    (mine,) = open_bids(first)
    (theirs,) = open_bids(second)
    assert not mine.leads and mine.highest_bid_cents == 21_000  # outbid
    assert theirs.leads
    market.cancel(session=session, engine=engine, user_id=first, side="bid", row_id=mine.id)
    assert open_bids(first) == []


def test_purchase_history_and_choices(session: Session) -> None:
    buyer, seller = factories.user(session, "Buyer"), factories.user(session, "Seller")
    variant_id = factories.variant(session, "12")
    order = _completed_order(session, buyer, seller, variant_id)
    history = portfolio.purchase_history(session=session, user_id=buyer)
    assert [r.id for r in history] == [order.id]
    assert history[0].status_label == "Completed"
    assert portfolio.purchase_history(session=session, user_id=seller) == []
    choices = {c.id: c for c in portfolio.product_choices(session=session)}
    assert choices[_product_of(session, variant_id)].sizes == ["US M 12"]
    # In the member's size system (Nike's men's 12 is EU 46).
    in_eu = {c.id: c for c in portfolio.product_choices(session=session, size_system="eu")}
    assert in_eu[_product_of(session, variant_id)].sizes == ["EU 46"]
