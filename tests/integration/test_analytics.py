"""Product analytics and watches on SQLite and PostgreSQL; per-size quotes on a real Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import redis
from sqlmodel import Session

from sneakers_app.models import ProductVariant, Sale
from sneakers_app.services import analytics, market, watchlist
from tests.support import factories
from tests.support.servers import RedisServer
from trading.engine import RedisEngine
from trading.orders import PlaceOrder, Side, TimeInForce

NOW = datetime(2025, 6, 30, 18, 0, tzinfo=UTC)


def _product(session: Session) -> tuple[int, int, int]:
    """A product (retail $180) with sizes 9 and 10; returns (product, size 9, size 10)."""
    v10 = factories.variant(session, size="10")
    product_id = session.get(ProductVariant, v10).product_id  # type: ignore[union-attr]
    v9 = ProductVariant(product_id=product_id, size="9", sort_order=1)
    session.add(v9)
    session.flush()
    assert v9.id is not None
    return product_id, v9.id, v10


def _sale(session: Session, product_id: int, variant_id: int, price: int, at: datetime) -> None:
    session.add(
        Sale(product_id=product_id, variant_id=variant_id, price_cents=price, executed_at=at)
    )


def _tape(session: Session) -> tuple[int, int, int]:
    product_id, v9, v10 = _product(session)
    # 400 days ago: outside 1Y and the 12-month stats.
    _sale(session, product_id, v10, 50_000, NOW - timedelta(days=400))
    # 100 days ago (inside 6M, outside 3M): two sales on one day.
    _sale(session, product_id, v10, 20_000, NOW - timedelta(days=100, hours=1))
    _sale(session, product_id, v9, 30_000, NOW - timedelta(days=100))
    # 10 days ago and today.
    _sale(session, product_id, v10, 24_000, NOW - timedelta(days=10))
    _sale(session, product_id, v10, 26_000, NOW - timedelta(hours=2))
    session.commit()
    return product_id, v9, v10


def test_price_history_per_day_by_range_and_size(session: Session) -> None:
    product_id, v9, v10 = _tape(session)

    def history(range_: str, variant_id: int | None = None) -> list[tuple[date, int, int]]:
        points = analytics.price_history(
            session=session, product_id=product_id, variant_id=variant_id, range_=range_, now=NOW
        )
        return [(p.day, p.average_cents, p.volume) for p in points]

    day100 = (NOW - timedelta(days=100)).date()
    assert history("1M") == [
        ((NOW - timedelta(days=10)).date(), 24_000, 1),
        (NOW.date(), 26_000, 1),
    ]
    assert history("3M") == history("1M")
    six = analytics.price_history(session=session, product_id=product_id, range_="6M", now=NOW)
    assert (six[0].day, six[0].average_cents, six[0].volume) == (day100, 25_000, 2)
    assert (six[0].low_cents, six[0].high_cents) == (20_000, 30_000)
    assert history("1Y") == history("6M")
    assert len(history("All")) == 4
    assert history("All")[0] == ((NOW - timedelta(days=400)).date(), 50_000, 1)
    assert history("6M", v9) == [(day100, 30_000, 1)]
    assert [v for _, _, v in history("All", v10)] == [1, 1, 1, 1]
    with pytest.raises(analytics.AnalyticsError):
        analytics.price_history(session=session, product_id=product_id, range_="2W", now=NOW)


def test_stats_last_sale_and_recent_sales(session: Session) -> None:
    product_id, v9, _ = _tape(session)
    stats = analytics.stats(session=session, product_id=product_id, now=NOW)
    assert (stats.sales_12m, stats.sales_total) == (4, 5)
    assert (stats.low_12m_cents, stats.high_12m_cents) == (20_000, 30_000)
    assert stats.average_12m_cents == 25_000
    # prices 200, 300, 240, 260: mean 250, population stdev sqrt(1300) = 36.06 -> 14.42%
    assert stats.volatility_bp == 1442
    # last sale $260 over retail $180: +44.44%
    assert stats.premium_bp == 4444
    assert stats.last_sale is not None
    assert stats.last_sale.price_cents == 26_000
    assert stats.last_sale.change_cents == 2_000
    assert stats.last_sale.change_bp == 833

    size9 = analytics.stats(session=session, product_id=product_id, variant_id=v9, now=NOW)
    assert (size9.sales_12m, size9.volatility_bp) == (1, 0)
    assert size9.last_sale is not None and size9.last_sale.change_cents is None

    recent = analytics.recent_sales(session=session, product_id=product_id, limit=3)
    assert [(s.size, s.price_cents) for s in recent] == [
        ("10", 26_000),
        ("10", 24_000),
        ("9", 30_000),
    ]
    assert recent[0].executed_at == NOW - timedelta(hours=2)
    only9 = analytics.recent_sales(session=session, product_id=product_id, variant_id=v9)
    assert [s.price_cents for s in only9] == [30_000]


def test_no_sales_gives_empty_history_and_blank_stats(session: Session) -> None:
    product_id, v9, _ = _product(session)
    session.commit()
    assert analytics.price_history(session=session, product_id=product_id, range_="All") == []
    stats = analytics.stats(session=session, product_id=product_id, variant_id=v9)
    assert stats.sales_12m == 0 and stats.last_sale is None
    assert stats.volatility_bp is None and stats.premium_bp is None and stats.high_12m_cents is None
    assert analytics.recent_sales(session=session, product_id=product_id) == []
    assert analytics.last_sale(session=session, product_id=product_id) is None


def test_watch_target_and_unwatch(session: Session) -> None:
    product_id, v9, _ = _product(session)
    other_product = factories.variant(session)
    user = factories.user(session)
    session.commit()
    assert watchlist.get_watch(session=session, user_id=user, product_id=product_id) is None
    first = watchlist.watch(session=session, user_id=user, product_id=product_id)
    again = watchlist.watch(
        session=session, user_id=user, product_id=product_id, target_price_cents=19_000
    )
    assert again.id == first.id and again.target_price_cents == 19_000
    sized = watchlist.watch(session=session, user_id=user, product_id=product_id, variant_id=v9)
    assert sized.id != first.id
    session.commit()
    with pytest.raises(watchlist.WatchError, match="size"):
        watchlist.watch(
            session=session, user_id=user, product_id=product_id, variant_id=other_product
        )
    with pytest.raises(watchlist.WatchError, match="target"):
        watchlist.watch(session=session, user_id=user, product_id=product_id, target_price_cents=5)
    assert watchlist.unwatch(session=session, user_id=user, product_id=product_id)
    assert not watchlist.unwatch(session=session, user_id=user, product_id=product_id)
    session.commit()
    assert watchlist.get_watch(session=session, user_id=user, product_id=product_id) is None
    left = watchlist.get_watch(session=session, user_id=user, product_id=product_id, variant_id=v9)
    assert left is not None and left.target_price_cents is None


def test_size_quotes_in_one_round_trip(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    engine = RedisEngine(client, clock=lambda: 1_000)
    base = 900_000 + int(uuid.uuid4().int % 10_000) * 10
    a, b, empty = base, base + 1, base + 2
    for v in (a, b, empty):
        engine.open_book(str(v))
    for v, side, price, oid in (
        (a, Side.ASK, 30_000, "a1"),
        (a, Side.ASK, 29_000, "a2"),
        (a, Side.BID, 25_000, "b1"),
        (b, Side.ASK, 27_500, "a3"),
    ):
        engine.place(
            PlaceOrder(
                variant_id=str(v),
                order_id=oid,
                user_id="u1",
                side=side,
                price_cents=price,
                quantity=1,
                time_in_force=TimeInForce.GTC,
                expires_at=10_000_000,
            )
        )
    quotes = analytics.size_quotes(client, [a, b, empty])
    assert (quotes[a].ask_cents, quotes[a].bid_cents) == (29_000, 25_000)
    assert (quotes[b].ask_cents, quotes[b].bid_cents) == (27_500, None)
    assert (quotes[empty].ask_cents, quotes[empty].bid_cents) == (None, None)
    assert analytics.best_of(list(quotes.values())) == (25_000, 27_500)
    assert analytics.best_of([]) == (None, None)


def test_own_orders_and_self_crossing_prices(session: Session) -> None:
    from sneakers_app.models import Ask, Bid

    product_id, v9, v10 = _product(session)
    me, other = factories.user(session), factories.user(session)
    later = NOW + timedelta(days=30)

    def row(table: type[Bid] | type[Ask], user: int, variant: int, price: int, **kw: Any) -> None:
        session.add(
            table(
                user_id=user,
                variant_id=variant,
                price_cents=price,
                client_key=uuid.uuid4().hex,
                expires_at=later,
                **kw,
            )
        )

    row(Ask, me, v10, 30_000)
    row(Ask, me, v10, 28_000)
    row(Bid, me, v10, 20_000)
    row(Bid, me, v9, 21_000, status="cancelled")
    row(Ask, other, v10, 25_000)
    row(Bid, me, v10, 22_000, time_in_force="ioc", status="cancelled")
    session.commit()
    own = analytics.own_open_orders(session=session, user_id=me, variant_ids=[v9, v10])
    assert [(o.side, o.price_cents) for o in own] == [
        ("ask", 28_000),
        ("ask", 30_000),
        ("bid", 20_000),
    ]
    assert analytics.own_open_orders(session=session, user_id=me, variant_ids=[]) == []

    def crossing(side: str, price: int, variant: int = v10) -> int | None:
        return market.own_crossing_price(
            session=session, user_id=me, side=side, variant_id=variant, price_cents=price
        )

    assert crossing("bid", 27_999) is None  # another user's $250 ask is not ours
    assert crossing("bid", 28_000) == 28_000
    assert crossing("bid", 40_000) == 28_000
    assert crossing("ask", 20_001) is None
    assert crossing("ask", 19_000) == 20_000
    assert crossing("ask", 19_000, v9) is None  # the size 9 bid is cancelled
    assert product_id
