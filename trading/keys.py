"""Redis key layout of one order book. Every key carries the hash tag `{book:<variant_id>}`, so a
book lives in one Redis Cluster slot and each command runs as one script on one node."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


def book_tag(variant_id: str) -> str:
    return f"{{book:{variant_id}}}"


@dataclass(frozen=True, slots=True)
class BookKeys:
    variant_id: str
    meta: str
    """HASH state (open | rebuilding), seq (last sequence used), created_at, forgotten (1 once a
    rebuild forgot order records: idempotency records may then outlive their order's record),
    and the top of book: bid, bid_qty, ask, ask_qty (0 = none), last_trade, last_price,
    last_qty, last_at."""
    bids: str
    """ZSET score = -price, member = '<15-digit sequence>|<order id>'."""
    asks: str
    """ZSET score = price, member as for bids."""
    depth_bids: str
    """HASH '<price>' -> open quantity, '<price>:n' -> order count."""
    depth_asks: str
    orders: str
    """HASH order id -> 'status|side|user|price|submitted|remaining|filled|cancelled|expired|seq|
    expires_at|tif|at' (at: when it was placed; older records end at tif)."""
    outcomes: str
    """HASH order id -> '<at>|<events json>' of the first place: the idempotency record. An
    order that was accepted and rested whole has none: its record implies it."""
    expiry: str
    """ZSET score = expires_at, member = order id (resting GTC orders)."""
    done: str
    """LIST, oldest first, one entry per command that finished orders: '<at>|<id>,<id>,...' in
    the order they finished (for pruning after the retention period)."""
    journal: str
    """STREAM, one entry per command: cmd, seq, at, ev (JSON events)."""
    trades: str
    """LIST of recent trades, newest first: '<at>|<trade id>|<price>|<qty>|<taker side>'."""
    channel: str
    """Pub/sub channel of book updates."""

    @property
    def top(self) -> str:
        """The hash holding the top of book (the meta hash: one write per command)."""
        return self.meta

    @property
    def script_keys(self) -> tuple[str, ...]:
        """The KEYS every book script receives, in the order trading/lua/common.lua expects."""
        return (
            self.meta,
            self.bids,
            self.asks,
            self.depth_bids,
            self.depth_asks,
            self.orders,
            self.outcomes,
            self.expiry,
            self.done,
            self.journal,
            self.trades,
        )


@lru_cache(maxsize=4096)
def book_keys(variant_id: str) -> BookKeys:
    """The keys of one book (cached: every command needs them, and they never change)."""
    t = book_tag(variant_id)
    return BookKeys(
        variant_id=variant_id,
        meta=f"{t}:meta",
        bids=f"{t}:bids",
        asks=f"{t}:asks",
        depth_bids=f"{t}:depth:bids",
        depth_asks=f"{t}:depth:asks",
        orders=f"{t}:orders",
        outcomes=f"{t}:outcomes",
        expiry=f"{t}:expiry",
        done=f"{t}:finished",
        journal=f"{t}:journal",
        trades=f"{t}:trades",
        channel=f"{t}:updates",
    )


def variant_of_key(key: str) -> str:
    """The variant id inside a book key or channel name ('{book:42}:journal' -> '42')."""
    start = key.index("{book:") + 6
    return key[start : key.index("}", start)]
