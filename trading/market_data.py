"""Market data read straight from the books' Redis keys: top of book, depth, trades, updates.

Every book script keeps `{book:<v>}:top` (best bid/ask with sizes, last trade) and the per-price
level totals current, so these reads are plain hash/list reads: one round trip for one book, and
one pipelined round trip (per cluster node) for the top of many books.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trading.keys import book_keys


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, kw_only=True)
class LastTrade:
    trade_id: str
    price_cents: int
    quantity: int
    at: int


@dataclass(frozen=True, kw_only=True)
class TopOfBook:
    variant_id: str
    bid_cents: int | None
    bid_quantity: int
    ask_cents: int | None
    ask_quantity: int
    last_trade: LastTrade | None
    sequence: int

    @property
    def spread_cents(self) -> int | None:
        if self.bid_cents is None or self.ask_cents is None:
            return None
        return self.ask_cents - self.bid_cents


@dataclass(frozen=True, kw_only=True)
class PriceLevel:
    price_cents: int
    quantity: int
    orders: int


@dataclass(frozen=True, kw_only=True)
class Depth:
    variant_id: str
    bids: tuple[PriceLevel, ...]
    """Best (highest) first."""
    asks: tuple[PriceLevel, ...]
    """Best (lowest) first."""
    sequence: int = 0
    """The book's sequence the levels were read at (`snapshot`; 0 from `depth`)."""


@dataclass(frozen=True, kw_only=True)
class RecentTrade:
    trade_id: str
    price_cents: int
    quantity: int
    taker_side: str
    at: int


@dataclass(frozen=True, kw_only=True)
class Quote:
    """Best price of one side (None when the side is empty) and the quantity there."""

    price_cents: int | None
    quantity: int


@dataclass(frozen=True, kw_only=True)
class BookUpdate:
    """One message from a book's channel. `levels` holds only the levels the command changed
    (quantity 0 = the level is gone); `bid`/`ask` are the new best of a side the command
    changed (None: that side did not change); `reset` means reload the whole depth (after a
    rebuild)."""

    variant_id: str
    sequence: int
    at: int
    bid: Quote | None
    ask: Quote | None
    levels: tuple[tuple[str, PriceLevel], ...]
    last_trade: LastTrade | None
    reset: bool


def _top(variant_id: str, raw: Mapping[Any, Any]) -> TopOfBook:
    h = {_s(k): _s(v) for k, v in raw.items()}
    bid, ask = int(h.get("bid", "0")), int(h.get("ask", "0"))
    last = None
    if "last_trade" in h:
        last = LastTrade(
            trade_id=h["last_trade"],
            price_cents=int(h["last_price"]),
            quantity=int(h["last_qty"]),
            at=int(h["last_at"]),
        )
    return TopOfBook(
        variant_id=variant_id,
        bid_cents=bid or None,
        bid_quantity=int(h.get("bid_qty", "0")) if bid else 0,
        ask_cents=ask or None,
        ask_quantity=int(h.get("ask_qty", "0")) if ask else 0,
        last_trade=last,
        sequence=int(h.get("seq", "0")),
    )


def top_of_book(client: Any, variant_id: str) -> TopOfBook:
    return _top(variant_id, client.hgetall(book_keys(variant_id).top))


def tops(client: Any, variant_ids: Iterable[str]) -> dict[str, TopOfBook]:
    """Top of book of many variants in one pipelined round trip (the browse grid). On a
    RedisCluster client the non-transactional pipeline sends one batch per node."""
    ids = list(dict.fromkeys(variant_ids))
    pipe = client.pipeline(transaction=False)
    for v in ids:
        pipe.hgetall(book_keys(v).top)
    return {v: _top(v, raw) for v, raw in zip(ids, pipe.execute(), strict=True)}


def _levels(
    raw: Mapping[Any, Any], *, best_high: bool, limit: int | None
) -> tuple[PriceLevel, ...]:
    h = {_s(k): int(_s(v)) for k, v in raw.items()}
    prices = sorted((int(k) for k in h if ":" not in k), reverse=best_high)
    if limit is not None:
        prices = prices[:limit]
    return tuple(
        PriceLevel(price_cents=p, quantity=h[str(p)], orders=h.get(f"{p}:n", 0)) for p in prices
    )


def depth(client: Any, variant_id: str, *, levels: int | None = None) -> Depth:
    """Open quantity and order count per price level, best first (`levels` per side at most)."""
    keys = book_keys(variant_id)
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.depth_bids)
    pipe.hgetall(keys.depth_asks)
    bids, asks = pipe.execute()
    return Depth(
        variant_id=variant_id,
        bids=_levels(bids, best_high=True, limit=levels),
        asks=_levels(asks, best_high=False, limit=levels),
    )


def _as_map(raw: Any) -> Mapping[Any, Any]:
    """HGETALL's reply inside MULTI/EXEC comes back as a flat list of fields and values."""
    if isinstance(raw, list):
        return dict(zip(raw[::2], raw[1::2], strict=True))
    return dict(raw)


def snapshot(client: Any, variant_id: str) -> Depth:
    """Every level of both sides and the book's sequence, read in one MULTI/EXEC so that the
    levels are exactly the book at that sequence (a feed applies the updates after it). All of
    a book's keys share its hash tag, so this works on a cluster too."""
    keys = book_keys(variant_id)
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(keys.depth_bids)
    pipe.hgetall(keys.depth_asks)
    pipe.hget(keys.top, "seq")
    bids, asks, seq = pipe.execute()
    return Depth(
        variant_id=variant_id,
        bids=_levels(_as_map(bids), best_high=True, limit=None),
        asks=_levels(_as_map(asks), best_high=False, limit=None),
        sequence=int(_s(seq)) if seq is not None else 0,
    )


def recent_trades(client: Any, variant_id: str, limit: int = 20) -> list[RecentTrade]:
    """Newest first."""
    out = []
    for raw in client.lrange(book_keys(variant_id).trades, 0, max(limit, 1) - 1):
        at, trade_id, price, qty, side = _s(raw).split("|")
        out.append(
            RecentTrade(
                trade_id=trade_id,
                price_cents=int(price),
                quantity=int(qty),
                taker_side=side,
                at=int(at),
            )
        )
    return out


def last_trade(client: Any, variant_id: str) -> LastTrade | None:
    return top_of_book(client, variant_id).last_trade


def channel(variant_id: str) -> str:
    """The pub/sub channel a book's updates are published on."""
    return book_keys(variant_id).channel


def _quote(pair: Any) -> Quote | None:
    if not pair:
        return None
    price, qty = int(pair[0]), int(pair[1])
    return Quote(price_cents=price or None, quantity=qty if price else 0)


def parse_update(data: str | bytes) -> BookUpdate:
    d = json.loads(data)
    levels = d.get("levels") or []
    last = d.get("last")
    return BookUpdate(
        variant_id=str(d["book"]),
        sequence=int(d["seq"]),
        at=int(d["at"]),
        bid=_quote(d.get("bid")),
        ask=_quote(d.get("ask")),
        levels=tuple(
            (str(side), PriceLevel(price_cents=int(p), quantity=int(q), orders=int(n)))
            for side, p, q, n in (levels if isinstance(levels, list) else [])
        ),
        last_trade=(
            LastTrade(
                trade_id=str(last[0]),
                price_cents=int(last[1]),
                quantity=int(last[2]),
                at=int(last[3]),
            )
            if last
            else None
        ),
        reset=bool(d.get("reset")),
    )
