"""Deterministic demo market data: past trades and resting orders for a catalog model.

Pure functions of their arguments (each model seeds its own `random.Random` from its style code), so
the seed step, the tests and a re-seed all see exactly the same history.

The model of the market, kept deliberately simple:
- a daily "fair price" walks in log space around retail x hype, mean-reverting, with a per-model
  drift (hyped pairs creep up, general releases sag towards retail) and per-model volatility;
- each size trades at the fair price times a size premium (small and very large sizes are scarcer
  and dearer) and its own noise; mid sizes get most of the trades;
- a few trades a day per model (1.5 to 4 on average), prices in whole dollars, never below 40% of
  retail.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

FLOOR_SHARE_OF_RETAIL = 0.4
"""No demo trade or order is priced below this share of retail."""

Side = Literal["ask", "bid"]


@dataclass(frozen=True, kw_only=True, slots=True)
class HistoricalTrade:
    size: str
    price_cents: int
    executed_at: datetime
    """Timezone-aware, UTC."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OpenOrderSuggestion:
    """A resting order a demo seller (ask) or buyer (bid) places so the book is not empty."""

    size: str
    side: Side
    price_cents: int


def size_number(size: str) -> float:
    """US men's equivalent of a size string: "10.5" -> 10.5, women's "8W" -> 6.5."""
    text = size.strip().upper()
    if text.endswith("W"):
        return float(text[:-1]) - 1.5
    if text.endswith("Y"):  # grade school sizes run alongside small men's sizes
        return float(text[:-1])
    return float(text)


def size_premium(size: str) -> float:
    """Price multiple of a size relative to the model's mid-size market price.

    Sizes 8.5 to 11.5 trade at the market; each half size below 8.5 adds about 2.5%, each half size
    above 12 about 3% (14 and 15 are made in small numbers), a mild discount in the most produced
    sizes 9.5 to 10.5 where supply is deepest.
    """
    n = size_number(size)
    premium = 1.0
    if n < 8.5:
        premium += 0.05 * (8.5 - n)
    if n > 12.0:
        premium += 0.06 * (n - 12.0)
    if 9.5 <= n <= 10.5:
        premium -= 0.02
    return premium


def size_weights(sizes: Sequence[str]) -> list[float]:
    """Relative liquidity of each size: a bell around US men's 10, never zero."""
    return [0.08 + math.exp(-(((size_number(s) - 10.0) / 1.6) ** 2)) for s in sizes]


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` calendar months earlier (day clamped to month end)."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def history_start(*, release_date: date, end: datetime, months: int) -> datetime:
    """First instant of the history window: the release day or `months` before `end`."""
    released = datetime.combine(release_date, time(0, 0), tzinfo=UTC)
    return max(released, months_before(_utc(end), months))


def generate_trade_history(
    *,
    style_code: str,
    retail_cents: int,
    hype: float,
    sizes: list[str],
    release_date: date,
    end: datetime,
    months: int = 14,
) -> list[HistoricalTrade]:
    """Plausible past trades for one model from `history_start(...)` up to `end`, oldest first."""
    if retail_cents <= 0 or not sizes or hype <= 0:
        raise ValueError("need a positive retail price, a positive hype and at least one size")
    rng = random.Random(style_code)
    end = _utc(end)
    start = history_start(release_date=release_date, end=end, months=months)
    floor = _floor_cents(retail_cents)

    target = math.log(retail_cents * hype)
    # Hyped pairs keep appreciating slowly, general releases sag; per year, in log space.
    drift_per_day = rng.uniform(-0.04, 0.10) * (hype - 0.95) / 365.0
    volatility = rng.uniform(0.006, 0.012) * (1.0 + 0.25 * (hype - 1.0))
    reversion = rng.uniform(0.01, 0.03)
    trades_per_day = rng.uniform(1.3, 3.0)
    weights = size_weights(sizes)
    # Start somewhere near the long-run level, a touch high if the window begins at release.
    level = target + rng.gauss(0.0, 0.06) + (0.08 if start.date() == release_date else 0.0)

    trades: list[HistoricalTrade] = []
    day_start = start
    days = 0
    while day_start < end:
        day_end = min(day_start + timedelta(days=1), end)
        fraction = (day_end - day_start) / timedelta(days=1)
        level += reversion * (target + drift_per_day * days - level) + rng.gauss(0.0, volatility)
        busy = 1.35 if day_start.weekday() >= 5 else 1.0  # weekends trade more
        count = _poisson(rng, trades_per_day * busy * fraction)
        seconds = sorted(rng.uniform(0.0, fraction * 86400.0) for _ in range(count))
        for offset in seconds:
            size = rng.choices(sizes, weights=weights)[0]
            price = math.exp(level) * size_premium(size) * math.exp(rng.gauss(0.0, 0.035))
            trades.append(
                HistoricalTrade(
                    size=size,
                    price_cents=max(floor, _whole_dollars(price)),
                    executed_at=day_start + timedelta(seconds=int(offset)),
                )
            )
        day_start = day_end
        days += 1
    return [trade for trade in trades if start <= trade.executed_at < end]


def suggest_open_orders(
    *,
    style_code: str,
    retail_cents: int,
    hype: float,
    sizes: Sequence[str],
    trades: Sequence[HistoricalTrade] = (),
) -> list[OpenOrderSuggestion]:
    """A few resting asks and bids per size around the recent market, for demo traders.

    The reference price of a size is its last trade, else the last trade of the model scaled by the
    size premium, else retail x hype. Every size gets one to three asks; most sizes also get one or
    two bids. Within a size every ask is at least $5 above every bid, so nothing crosses.
    """
    rng = random.Random(f"{style_code}:book")
    floor = _floor_cents(retail_cents)
    last_by_size: dict[str, int] = {}
    for trade in sorted(trades, key=lambda t: t.executed_at):
        last_by_size[trade.size] = trade.price_cents
    if trades:
        last = max(trades, key=lambda t: t.executed_at)
        market = last.price_cents / size_premium(last.size)
    else:
        market = retail_cents * hype

    orders: list[OpenOrderSuggestion] = []
    for size in sizes:
        reference = last_by_size.get(size) or market * size_premium(size)
        asks = sorted(
            {
                max(floor + 1000, _whole_dollars(reference * rng.uniform(1.02, 1.14)))
                for _ in range(rng.randint(1, 3))
            }
        )
        bid_count = 0 if rng.random() < 0.2 else rng.randint(1, 2)
        ceiling = asks[0] - 500
        bids = sorted(
            {
                min(ceiling, max(floor, _whole_dollars(reference * rng.uniform(0.84, 0.97))))
                for _ in range(bid_count)
            },
            reverse=True,
        )
        orders.extend(OpenOrderSuggestion(size=size, side="ask", price_cents=p) for p in asks)
        orders.extend(OpenOrderSuggestion(size=size, side="bid", price_cents=p) for p in bids)
    return orders


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    return moment.astimezone(UTC)


def _floor_cents(retail_cents: int) -> int:
    return math.ceil(retail_cents * FLOOR_SHARE_OF_RETAIL / 100) * 100


def _whole_dollars(cents: float) -> int:
    return round(cents / 100) * 100


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    if mean <= 0:
        return 0
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
