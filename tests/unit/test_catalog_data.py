"""The demo catalog, its generated trade history and resting orders, and the product images."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sneakers_app.catalog_data import CATALOG, CatalogSneaker, brands, by_slug, slugify
from sneakers_app.price_history import (
    HistoricalTrade,
    generate_trade_history,
    history_start,
    months_before,
    size_number,
    size_premium,
    suggest_open_orders,
)

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = ROOT / "assets" / "products"
END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def history(sneaker: CatalogSneaker, end: datetime = END) -> list[HistoricalTrade]:
    return generate_trade_history(
        style_code=sneaker.style_code,
        retail_cents=sneaker.retail_cents,
        hype=sneaker.hype,
        sizes=list(sneaker.sizes),
        release_date=sneaker.release_date,
        end=end,
    )


@pytest.fixture(scope="module")
def histories() -> dict[str, list[HistoricalTrade]]:
    return {sneaker.style_code: history(sneaker) for sneaker in CATALOG}


# --- catalog ----------------------------------------------------------------------------------


def test_catalog_is_large_and_varied() -> None:
    assert len(CATALOG) >= 40
    assert len(brands()) >= 6
    assert {"Nike", "Jordan", "adidas", "New Balance"} <= set(brands())


def test_style_codes_and_slugs_are_unique() -> None:
    codes = Counter(s.style_code for s in CATALOG)
    slugs = Counter(s.slug for s in CATALOG)
    assert [c for c, n in codes.items() if n > 1] == []
    assert [s for s, n in slugs.items() if n > 1] == []
    assert len(by_slug()) == len(CATALOG)


def test_slugs_are_lowercase_ascii_words() -> None:
    for sneaker in CATALOG:
        assert _SLUG.match(sneaker.slug), sneaker.slug
        assert len(sneaker.slug) <= 160
        assert sneaker.image == f"/products/{sneaker.slug}.svg"


def test_slugify_drops_a_brand_the_model_already_names() -> None:
    assert slugify("Jordan", "Air Jordan 1 Retro High OG", "Chicago Lost & Found") == (
        "air-jordan-1-retro-high-og-chicago-lost-and-found"
    )
    assert slugify("Nike", "Air Force 1 Low '07", "Triple White") == (
        "nike-air-force-1-low-07-triple-white"
    )


def test_every_record_is_complete_and_plain_ascii() -> None:
    for s in CATALOG:
        texts = (s.brand, s.model, s.colorway, s.style_code, s.description, s.name)
        assert all(t.isascii() and t.strip() for t in texts), s.style_code
        assert isinstance(s.retail_cents, int) and s.retail_cents > 0
        assert s.retail_cents % 100 == 0 or s.retail_cents % 100 == 99
        assert 3000 <= s.retail_cents <= 50000
        assert isinstance(s.release_date, date) and date(2010, 1, 1) <= s.release_date
        assert s.release_date <= date(2026, 1, 1)
        assert 0.7 <= s.hype <= 3.0
        assert 3 <= len(s.palette) <= 4
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in s.palette)
        sentences = [p for p in re.split(r"[.!?](?:\s|$)", s.description) if p.strip()]
        assert 1 <= len(sentences) <= 3, s.description


def test_size_runs_are_full_ordered_and_parseable() -> None:
    for s in CATALOG:
        # Grade-school runs are 3.5Y to 7Y; every other run has at least 12 sizes.
        assert len(s.sizes) >= (8 if s.size_chart == "gs" else 12), s.style_code
        assert len(set(s.sizes)) == len(s.sizes)
        numbers = [size_number(size) for size in s.sizes]
        assert numbers == sorted(numbers), s.style_code
        assert all(len(size) <= 10 for size in s.sizes)


def test_size_charts_follow_the_size_runs() -> None:
    charts = Counter(s.size_chart for s in CATALOG)
    assert charts["women"] >= 2 and charts["gs"] >= 2
    for s in CATALOG:
        suffix = {"men": "", "women": "W", "gs": "Y"}[s.size_chart]
        assert all(size.rstrip("WY") + suffix == size for size in s.sizes), s.style_code


def test_collaborations_trade_above_general_releases() -> None:
    hype = {s.style_code: s.hype for s in CATALOG}
    assert hype["DM7866-162"] > 2.0  # Travis Scott low
    assert hype["CW2288-111"] < 1.1  # white Air Force 1


def test_every_model_has_a_small_square_svg_image() -> None:
    for s in CATALOG:
        image = PRODUCTS / f"{s.slug}.svg"
        assert image.is_file(), f"missing {image.name}"
        text = image.read_text(encoding="ascii")
        assert text.startswith("<svg") and 'viewBox="0 0 800 800"' in text
        assert len(text.encode()) < 8 * 1024, image.name
        assert "<text" not in text and "href" not in text


def test_images_are_up_to_date_with_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "make_product_images", ROOT / "scripts" / "make_product_images.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    for s in CATALOG:
        assert module.render(s) == (PRODUCTS / f"{s.slug}.svg").read_text(encoding="ascii"), s.slug


# --- trade history ----------------------------------------------------------------------------


def test_history_is_deterministic() -> None:
    sneaker = CATALOG[0]
    assert history(sneaker) == history(sneaker)
    other = CATALOG[1]
    assert [t.price_cents for t in history(sneaker)] != [t.price_cents for t in history(other)]


def test_history_covers_at_least_twelve_months(histories: dict[str, list[HistoricalTrade]]) -> None:
    for s in CATALOG:
        trades = histories[s.style_code]
        start = history_start(release_date=s.release_date, end=END, months=14)
        assert start == months_before(END, 14)  # every model was released before the window
        assert trades[0].executed_at - start < timedelta(days=3)
        assert END - trades[-1].executed_at < timedelta(days=3)
        assert trades[-1].executed_at - trades[0].executed_at >= timedelta(days=365)
        months = {(t.executed_at.year, t.executed_at.month) for t in trades}
        assert len(months) >= 13


def test_history_starts_at_release_for_a_new_model() -> None:
    released = date(2026, 3, 14)
    trades = generate_trade_history(
        style_code="TEST-001",
        retail_cents=20000,
        hype=1.2,
        sizes=["9", "10", "11"],
        release_date=released,
        end=END,
    )
    assert trades[0].executed_at.date() >= released
    assert trades[0].executed_at.date() - released < timedelta(days=3)


def test_history_is_ordered_utc_and_in_the_size_run(
    histories: dict[str, list[HistoricalTrade]],
) -> None:
    for s in CATALOG:
        trades = histories[s.style_code]
        times = [t.executed_at for t in trades]
        assert times == sorted(times)
        assert all(t.utcoffset() == timedelta(0) for t in times)
        assert {t.size for t in trades} <= set(s.sizes)


def test_prices_are_whole_dollars_within_sane_bounds(
    histories: dict[str, list[HistoricalTrade]],
) -> None:
    for s in CATALOG:
        prices = [t.price_cents for t in histories[s.style_code]]
        assert all(isinstance(p, int) and p % 100 == 0 for p in prices)
        assert min(prices) >= 0.4 * s.retail_cents
        assert max(prices) <= 2.5 * s.retail_cents * s.hype
        median = sorted(prices)[len(prices) // 2]
        assert 0.6 * s.retail_cents * s.hype <= median <= 1.6 * s.retail_cents * s.hype


def test_trade_volume_is_a_few_a_day(histories: dict[str, list[HistoricalTrade]]) -> None:
    total = 0
    for trades in histories.values():
        days = (trades[-1].executed_at - trades[0].executed_at).days
        assert 1.2 <= len(trades) / days <= 4.5
        total += len(trades)
    assert 30_000 <= total <= 70_000


def test_mid_sizes_are_most_liquid_and_edge_sizes_dearer(
    histories: dict[str, list[HistoricalTrade]],
) -> None:
    counts: Counter[str] = Counter()
    prices: dict[str, list[int]] = defaultdict(list)
    for s in CATALOG:
        if s.is_womens:
            continue
        for t in histories[s.style_code]:
            counts[t.size] += 1
            prices[t.size].append(round(t.price_cents / (s.retail_cents * s.hype) * 1000))
    assert counts["10"] > 3 * counts["7"]
    assert counts["10"] > 3 * counts["14"]

    def mean(size: str) -> float:
        return sum(prices[size]) / len(prices[size])

    assert mean("7") > mean("10")
    assert mean("14") > mean("10")
    assert size_premium("15") > size_premium("13") > size_premium("10")
    assert size_premium("4") > size_premium("7") > size_premium("10")


def test_history_needs_an_aware_end() -> None:
    with pytest.raises(ValueError):
        generate_trade_history(
            style_code="X",
            retail_cents=10000,
            hype=1.0,
            sizes=["10"],
            release_date=date(2020, 1, 1),
            end=datetime(2026, 1, 1),
        )


def test_months_before_clamps_to_month_end() -> None:
    moment = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
    assert months_before(moment, 1) == datetime(2026, 2, 28, 8, 0, tzinfo=UTC)
    assert months_before(moment, 14) == datetime(2025, 1, 31, 8, 0, tzinfo=UTC)


# --- open orders ------------------------------------------------------------------------------


def test_open_orders_never_cross_and_stay_near_the_market(
    histories: dict[str, list[HistoricalTrade]],
) -> None:
    for s in CATALOG:
        trades = histories[s.style_code]
        orders = suggest_open_orders(
            style_code=s.style_code,
            retail_cents=s.retail_cents,
            hype=s.hype,
            sizes=s.sizes,
            trades=trades,
        )
        assert orders == suggest_open_orders(
            style_code=s.style_code,
            retail_cents=s.retail_cents,
            hype=s.hype,
            sizes=s.sizes,
            trades=trades,
        )
        asks: dict[str, list[int]] = defaultdict(list)
        bids: dict[str, list[int]] = defaultdict(list)
        for order in orders:
            assert order.size in s.sizes
            assert order.price_cents % 100 == 0 and order.price_cents >= 0.4 * s.retail_cents
            (asks if order.side == "ask" else bids)[order.size].append(order.price_cents)
        assert set(asks) == set(s.sizes)  # every size can be bought
        assert len(bids) >= len(s.sizes) // 2
        last = trades[-1].price_cents
        for size in s.sizes:
            if bids[size]:
                assert max(bids[size]) < min(asks[size]), (s.style_code, size)
            assert min(asks[size]) < 3 * last


def test_open_orders_without_history_centre_on_retail_times_hype() -> None:
    orders = suggest_open_orders(
        style_code="NEW-1", retail_cents=20000, hype=1.5, sizes=["9", "10", "11"]
    )
    assert orders
    for order in orders:
        assert 20000 <= order.price_cents <= 40000
