"""The market-data feed's wire format (docs/asyncapi.yaml): requests, messages, the checksum, and
a local order book that applies them. Pure code: the feed, its tests, the benchmark and any
Python client use the same definitions.

Every message is one JSON object in a text frame with a `type`. A client sends
`{"op": "subscribe" | "unsubscribe" | "resync", "channel": "book" | "trades" | "ticker", ...}`;
a request it gets wrong is answered with an `error` and changes nothing.

The checksum of a book is CRC32 (zlib.crc32, unsigned) of its top `CHECKSUM_LEVELS` levels per
side written as text: the bids best (highest) first, then ";", then the asks best (lowest)
first; each level is "<price_cents>:<quantity>" and the levels of a side are joined by "|".
Bids 20000 x 2 and 19500 x 1 with asks 21000 x 3: "20000:2|19500:1;21000:3"
(crc32 = `checksum([(20000, 2), (19500, 1)], [(21000, 3)])`); an empty book is ";".
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

STREAM_PATH = "/api/v1/stream"
CHECKSUM_LEVELS = 10
MAX_VARIANT_ID = 2**53 - 1
"""The largest id a JSON number carries exactly (in every client's language)."""
MAX_TICKER_IDS = 1000
"""Variant ids one ticker request may name (the subscription limit applies as well)."""
CHANNELS = ("book", "trades", "ticker")
OPS = ("subscribe", "unsubscribe", "resync")

Op = Literal["subscribe", "unsubscribe", "resync"]
Channel = Literal["book", "trades", "ticker"]
Level = tuple[int, int]
"""(price_cents, quantity)"""
Change = tuple[str, int, int]
"""(side "bid" | "ask", price_cents, quantity): the level's new quantity, 0 when it is gone."""

# Error codes: stable, for programs (the message is for people).
BAD_JSON = "bad_json"
BAD_MESSAGE = "bad_message"
UNKNOWN_OP = "unknown_op"
UNKNOWN_CHANNEL = "unknown_channel"
BAD_VARIANT_ID = "bad_variant_id"
UNKNOWN_VARIANT = "unknown_variant"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
ALREADY_SUBSCRIBED = "already_subscribed"
NOT_SUBSCRIBED = "not_subscribed"
MESSAGE_TOO_LARGE = "message_too_large"
UNAVAILABLE = "unavailable"
ERROR_CODES = (
    BAD_JSON,
    BAD_MESSAGE,
    UNKNOWN_OP,
    UNKNOWN_CHANNEL,
    BAD_VARIANT_ID,
    UNKNOWN_VARIANT,
    TOO_MANY_SUBSCRIPTIONS,
    ALREADY_SUBSCRIBED,
    NOT_SUBSCRIBED,
    MESSAGE_TOO_LARGE,
    UNAVAILABLE,
)


class FeedError(Exception):
    """A request the feed refuses: answered with an `error` message, nothing changes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Request:
    op: Op
    channel: Channel
    variant_ids: tuple[int, ...]
    """One id for the book and trades channels; one or more (distinct) for the ticker."""


def _variant_id(value: Any, name: str = "variant_id") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FeedError(BAD_VARIANT_ID, f"{name} must be a positive integer, not {value!r:.40}")
    if not 1 <= value <= MAX_VARIANT_ID:
        raise FeedError(BAD_VARIANT_ID, f"{name} must be between 1 and {MAX_VARIANT_ID}")
    return value


def parse_request(data: str | bytes, max_bytes: int) -> Request:
    """The client's request in `data` (a frame's payload), or FeedError saying what is wrong."""
    if isinstance(data, bytes):
        raise FeedError(BAD_MESSAGE, "send requests as JSON text frames, not binary ones")
    if len(data) > max_bytes or (not data.isascii() and len(data.encode()) > max_bytes):
        raise FeedError(MESSAGE_TOO_LARGE, f"a request may be at most {max_bytes} bytes")
    try:
        body = json.loads(data)
    except ValueError:
        raise FeedError(BAD_JSON, "the request is not valid JSON") from None
    if not isinstance(body, dict):
        raise FeedError(BAD_MESSAGE, 'a request is a JSON object such as {"op": "subscribe", ...}')
    op = body.get("op")
    if op not in OPS:
        raise FeedError(UNKNOWN_OP, f"op must be one of {', '.join(OPS)}, not {op!r:.40}")
    channel = body.get("channel", "book" if op == "resync" else None)
    if channel not in CHANNELS:
        raise FeedError(
            UNKNOWN_CHANNEL, f"channel must be one of {', '.join(CHANNELS)}, not {channel!r:.40}"
        )
    if op == "resync" and channel != "book":
        raise FeedError(UNKNOWN_CHANNEL, "resync applies to the book channel only")
    if channel != "ticker":
        return Request(op=op, channel=channel, variant_ids=(_variant_id(body.get("variant_id")),))
    ids = body.get("variant_ids")
    if not isinstance(ids, list) or not ids:
        raise FeedError(BAD_VARIANT_ID, "variant_ids must be a non-empty list of variant ids")
    if len(ids) > MAX_TICKER_IDS:
        raise FeedError(BAD_VARIANT_ID, f"variant_ids may name at most {MAX_TICKER_IDS} variants")
    parsed = tuple(dict.fromkeys(_variant_id(v, "each of variant_ids") for v in ids))
    return Request(op=op, channel="ticker", variant_ids=parsed)


# -- the checksum and a local book ----------------------------------------------------------


def checksum_text(bids: Iterable[Level], asks: Iterable[Level]) -> str:
    """The text the checksum is taken of: the given levels (best first; the caller takes the
    top CHECKSUM_LEVELS of each side)."""
    return "|".join(f"{p}:{q}" for p, q in bids) + ";" + "|".join(f"{p}:{q}" for p, q in asks)


def checksum(bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """CRC32 (unsigned) of the top CHECKSUM_LEVELS levels of each side, best first."""
    text = checksum_text(bids[:CHECKSUM_LEVELS], asks[:CHECKSUM_LEVELS])
    return zlib.crc32(text.encode()) & 0xFFFFFFFF


@dataclass
class LocalBook:
    """Open quantity per price on each side, and the sequence it is at: what a client keeps
    from a snapshot and the updates after it (and the feed keeps of every book it serves)."""

    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    def from_snapshot(cls, message: Mapping[str, Any]) -> LocalBook:
        return cls(
            bids={int(p): int(q) for p, q in message["bids"]},
            asks={int(p): int(q) for p, q in message["asks"]},
            seq=int(message["seq"]),
        )

    def apply(self, changes: Iterable[Sequence[Any]]) -> None:
        for side, price, quantity in changes:
            levels = self.bids if side == "bid" else self.asks
            if quantity:
                levels[int(price)] = int(quantity)
            else:
                levels.pop(int(price), None)

    def side(self, side: str, limit: int | None = None) -> list[Level]:
        """A side's levels, best first (`limit` of them at most)."""
        levels = self.bids if side == "bid" else self.asks
        best_high = side == "bid"
        if limit is None:
            prices = sorted(levels, reverse=best_high)
        elif best_high:
            prices = heapq.nlargest(limit, levels)
        else:
            prices = heapq.nsmallest(limit, levels)
        return [(p, levels[p]) for p in prices]

    def checksum(self) -> int:
        return checksum(
            self.side("bid", CHECKSUM_LEVELS),
            self.side("ask", CHECKSUM_LEVELS),
        )


# -- messages the feed sends ------------------------------------------------------------------


def _dump(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def snapshot_message(variant_id: int, book: LocalBook) -> str:
    bids, asks = book.side("bid"), book.side("ask")
    return _dump(
        {
            "type": "snapshot",
            "channel": "book",
            "variant_id": variant_id,
            "seq": book.seq,
            "bids": bids,
            "asks": asks,
            "checksum": checksum(bids, asks),
        }
    )


def update_message(
    variant_id: int, *, seq: int, prev_seq: int, at: int, changes: Iterable[Change], check: int
) -> str:
    return _dump(
        {
            "type": "update",
            "channel": "book",
            "variant_id": variant_id,
            "seq": seq,
            "prev_seq": prev_seq,
            "time": at,
            "changes": list(changes),
            "checksum": check,
        }
    )


def trade_message(
    variant_id: int, *, trade_id: str, price_cents: int, quantity: int, taker_side: str, at: int
) -> str:
    return _dump(
        {
            "type": "trade",
            "channel": "trades",
            "variant_id": variant_id,
            "trade_id": trade_id,
            "price_cents": price_cents,
            "quantity": quantity,
            "taker_side": taker_side,
            "time": at,
        }
    )


@dataclass(frozen=True)
class Ticker:
    """Top of book and last sale of one variant, as the ticker channel carries them."""

    seq: int
    bid: Level | None
    ask: Level | None
    last_trade: tuple[str, int, int, int] | None
    """(trade id, price_cents, quantity, time in epoch ms)"""


def ticker_message(variant_id: int, ticker: Ticker) -> str:
    last = ticker.last_trade
    return _dump(
        {
            "type": "ticker",
            "channel": "ticker",
            "variant_id": variant_id,
            "seq": ticker.seq,
            "bid_cents": ticker.bid[0] if ticker.bid else None,
            "bid_quantity": ticker.bid[1] if ticker.bid else 0,
            "ask_cents": ticker.ask[0] if ticker.ask else None,
            "ask_quantity": ticker.ask[1] if ticker.ask else 0,
            "last_trade": (
                {
                    "trade_id": last[0],
                    "price_cents": last[1],
                    "quantity": last[2],
                    "time": last[3],
                }
                if last
                else None
            ),
        }
    )


def heartbeat_message(counter: int, at: int) -> str:
    return f'{{"type":"heartbeat","counter":{counter},"time":{at}}}'


def subscribed_message(request: Request) -> str:
    return _ack("subscribed", request)


def unsubscribed_message(request: Request) -> str:
    return _ack("unsubscribed", request)


def _ack(kind: str, request: Request) -> str:
    body: dict[str, Any] = {"type": kind, "channel": request.channel}
    if request.channel == "ticker":
        body["variant_ids"] = list(request.variant_ids)
    else:
        body["variant_id"] = request.variant_ids[0]
    return _dump(body)


def error_message(code: str, message: str) -> str:
    return _dump({"type": "error", "code": code, "message": message})
