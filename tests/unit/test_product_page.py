"""The product page's read model as text (services/product_page.py): last-sale change, book
levels, the shared vars every viewer sees, the viewer's own orders, stats."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from sneakers_app.services import analytics, product_page, sizes
from trading import market_data
from trading.market_data import PriceLevel

AT = datetime(2026, 3, 4, 15, 6, tzinfo=UTC)


def test_change_text() -> None:
    assert product_page.change_text(2_000, 830) == ("+$20 (+8.3%)", "up")
    assert product_page.change_text(-1_050, -400) == ("-$11 (-4.0%)", "down")
    assert product_page.change_text(0, 0) == ("$0 (0.0%)", "flat")
    assert product_page.change_text(None, None) == ("No earlier sale", "flat")


def test_book_levels_best_first_across_sizes_with_bars() -> None:
    def level(price: int, quantity: int) -> PriceLevel:
        return PriceLevel(price_cents=price, quantity=quantity, orders=1)

    depths = [("9", (level(20_000, 1), level(19_000, 4))), ("10", (level(20_500, 2),))]
    bids = product_page._levels(depths, "bid", best_high=True)
    assert [(b.size, b.price, b.quantity, b.bar) for b in bids] == [
        ("10", "$205.00", 2, "50%"),
        ("9", "$200.00", 1, "25%"),
        ("9", "$190.00", 4, "100%"),
    ]
    assert bids[0].key == product_page.level_key("bid", "10", 20_500) == "bid-10-20500"
    asks = product_page._levels(depths, "ask", best_high=False)
    assert [a.price for a in asks] == ["$190.00", "$200.00", "$205.00"]
    many = [("9", tuple(level(10_000 + i, 1) for i in range(20)))]
    assert len(product_page._levels(many, "ask", best_high=False)) == product_page.BOOK_LEVELS


def _public(**kw: object) -> product_page.PublicMarket:
    values: dict[str, object] = {
        "size_asks": {1: 21_000, 2: None},
        "size_bids": {1: 20_000, 2: None},
        "bid_cents": 20_000,
        "ask_cents": 21_000,
        "last_price_cents": 20_500,
        "last_change_cents": 500,
        "last_change_bp": 250,
        "newest_trade_at": 0,
        "tape_pending": False,
        "bids": [],
        "asks": [],
    }
    values.update(kw)
    return product_page.PublicMarket(**values)  # type: ignore[arg-type]


def test_public_vars() -> None:
    shown = product_page.public_vars(_public(), {1: "9", 2: "10"})
    assert [(s.size, s.ask, s.has_ask) for s in shown["sizes"]] == [
        ("9", "$210", True),
        ("10", "Bid", False),
    ]
    assert (shown["all_sizes_ask"], shown["lowest_ask"], shown["highest_bid"]) == (
        "$210",
        "$210.00",
        "$200.00",
    )
    assert (shown["last_sale"], shown["last_change"], shown["last_change_dir"]) == (
        "$205.00",
        "+$5 (+2.5%)",
        "up",
    )
    empty = product_page.public_vars(
        _public(size_asks={1: None}, ask_cents=None, last_price_cents=None), {1: "9"}
    )
    assert (empty["all_sizes_ask"], empty["lowest_ask"], empty["last_change"]) == (
        "Bid",
        "\u2014",
        "No sales yet",
    )


def test_own_orders_are_marked_in_the_book() -> None:
    own = [
        analytics.OwnOrder(
            side="ask", row_id=7, variant_id=1, price_cents=21_000, remaining=1, expires_at=AT
        ),
        analytics.OwnOrder(
            side="bid", row_id=8, variant_id=2, price_cents=19_000, remaining=1, expires_at=None
        ),
    ]
    public = _public()
    snap = product_page.market_snapshot(public, {}, variants={1: "9", 2: "10"}, own=own, tape=None)
    assert [(o.key, o.size, o.price, o.expires) for o in snap.own] == [
        ("a7", "9", "$210.00", "Mar 4"),
        ("b8", "10", "$190.00", ""),
    ]
    assert snap.own_levels == ["ask-9-21000", "bid-10-19000"]


def test_tape_view() -> None:
    stats = analytics.Stats(
        sales_12m=1_234,
        sales_total=5_678,
        high_12m_cents=30_049,
        low_12m_cents=None,
        average_12m_cents=25_050,
        volatility_bp=1_234,
        premium_bp=-250,
        last_sale=None,
    )
    sale = analytics.SaleView(size="9", price_cents=20_050, executed_at=AT)
    point = analytics.DailyPoint(
        day=date(2026, 3, 4), average_cents=1, low_cents=1, high_cents=1, volume=1
    )
    view = product_page.tape_view(
        product_page.TapeSnapshot(points=[point], stats=stats, recent=[sale])
    )
    assert (view.high, view.low, view.average) == ("$300", "\u2014", "$251")
    assert (view.volatility, view.premium, view.premium_dir) == ("12.3%", "-2.5%", "down")
    assert (view.sales, view.sales_total, view.empty) == ("1,234", "5,678", False)
    assert [(r.size, r.price, r.when) for r in view.recent] == [("9", "$201", "Mar 4, 2026 15:06")]
    flat = product_page.tape_view(
        product_page.TapeSnapshot(
            points=[], stats=dataclasses.replace(stats, premium_bp=None), recent=[]
        )
    )
    assert (flat.premium_dir, flat.empty, flat.recent) == ("flat", True, [])


def _top(variant_id: int, bid: int | None, ask: int | None) -> market_data.TopOfBook:
    return market_data.TopOfBook(
        variant_id=str(variant_id),
        bid_cents=bid,
        bid_quantity=1 if bid else 0,
        ask_cents=ask,
        ask_quantity=1 if ask else 0,
        last_trade=None,
        sequence=1,
    )


def test_all_sizes_never_looks_crossed() -> None:
    """All sizes: the highest bid (US 12, $300) is above the lowest ask (US 9, $250), which no
    one size's book ever is. Each figure names its size and a note says why."""
    variants = {1: "9", 2: "10", 3: "12"}
    tops = {"1": _top(1, 20_000, 25_000), "2": _top(2, None, 28_000), "3": _top(3, 30_000, 32_000)}
    bid_size = product_page._size_of(variants, tops, "bid", 30_000)
    ask_size = product_page._size_of(variants, tops, "ask", 25_000)
    assert (bid_size, ask_size) == ("12", "9")
    public = _public(
        size_asks={1: 25_000, 2: 28_000, 3: 32_000},
        size_bids={1: 20_000, 2: None, 3: 30_000},
        bid_cents=30_000,
        ask_cents=25_000,
        bid_size=bid_size,
        ask_size=ask_size,
        bid_size_in=product_page._in_every_system("Nike", "men", bid_size),
        ask_size_in=product_page._in_every_system("Nike", "men", ask_size),
    )
    shown = product_page.public_vars(public, variants)
    assert (shown["highest_bid"], shown["highest_bid_where"]["us_m"]) == ("$300.00", "in US M 12")
    assert (shown["lowest_ask"], shown["lowest_ask_where"]["us_m"]) == ("$250.00", "in US M 9")
    assert shown["market_note"]["us_m"] == (
        "The highest bid (US M 12) and the lowest ask (US M 9) are for different sizes: each "
        "size has its own book. Pick a size to trade."
    )
    # Each viewer reads the sizes in their own system (Nike's men's 12 is EU 46, 9 is EU 42.5).
    assert (shown["highest_bid_where"]["eu"], shown["lowest_ask_where"]["eu"]) == (
        "in EU 46",
        "in EU 42.5",
    )
    assert "(EU 46) and the lowest ask (EU 42.5)" in shown["market_note"]["eu"]
    assert "(UK 11) and the lowest ask (UK 8)" in shown["market_note"]["uk"]
    assert set(shown["market_note"]) == set(sizes.SYSTEMS)

    # Not crossed across sizes: each figure still names its size, no note.
    calm = dataclasses.replace(
        public,
        bid_cents=20_000,
        bid_size="9",
        bid_size_in=product_page._in_every_system("Nike", "men", "9"),
    )
    shown = product_page.public_vars(calm, variants)
    assert shown["highest_bid_where"]["cm"] == "in 27 cm"
    assert all(note == "" for note in shown["market_note"].values())


def test_one_size_shows_its_own_quotes_as_buy_and_sell_now() -> None:
    shown = product_page.public_vars(_public(), {1: "9", 2: "10"})
    for system in sizes.SYSTEMS:
        assert shown["lowest_ask_where"][system] == "Buy now"
        assert shown["highest_bid_where"][system] == "Sell now"
        assert shown["market_note"][system] == ""
    assert product_page._in_every_system("", "men", "9") == {}
    assert product_page._in_every_system("Nike", "men", "") == {}
    assert product_page._size_of({1: "9"}, {"1": _top(1, None, None)}, "bid", None) == ""
