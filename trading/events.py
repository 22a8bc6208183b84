"""Outcome events: what a command did to a book, in order.

The Lua scripts build these as JSON objects (short keys, see `docs/trading.md`), return them to the
caller and append them, in the same atomic step, to the book's journal stream. The reference
engine produces the same events, so the two engines can be compared event by event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Accepted:
    order_id: str
    user_id: str
    side: str
    price_cents: int
    quantity: int
    time_in_force: str
    expires_at: int
    """0 for IOC orders."""
    sequence: int


@dataclass(frozen=True, kw_only=True)
class Trade:
    """One fill. `trade_id` is `<variant_id>-<book sequence>`: unique, and the same on every
    delivery of the journal entry, so consumers deduplicate by it."""

    trade_id: str
    variant_id: str
    at: int
    price_cents: int
    """Always the resting (maker) order's price."""
    quantity: int
    maker_order_id: str
    maker_user_id: str
    taker_order_id: str
    taker_user_id: str
    taker_side: str
    maker_remaining: int
    taker_remaining: int
    sequence: int

    @property
    def bid_order_id(self) -> str:
        return self.taker_order_id if self.taker_side == "bid" else self.maker_order_id

    @property
    def ask_order_id(self) -> str:
        return self.maker_order_id if self.taker_side == "bid" else self.taker_order_id

    @property
    def buyer_user_id(self) -> str:
        return self.taker_user_id if self.taker_side == "bid" else self.maker_user_id

    @property
    def seller_user_id(self) -> str:
        return self.maker_user_id if self.taker_side == "bid" else self.taker_user_id


@dataclass(frozen=True, kw_only=True)
class Rested:
    order_id: str
    user_id: str
    side: str
    price_cents: int
    quantity: int
    sequence: int
    expires_at: int


@dataclass(frozen=True, kw_only=True)
class Cancelled:
    order_id: str
    user_id: str
    side: str
    price_cents: int
    quantity: int
    reason: str
    """"user" (cancel command), "ioc" (unfilled IOC remainder) or "self_trade"."""


@dataclass(frozen=True, kw_only=True)
class Expired:
    order_id: str
    user_id: str
    side: str
    price_cents: int
    quantity: int


@dataclass(frozen=True, kw_only=True)
class Modified:
    order_id: str
    user_id: str
    side: str
    old_price_cents: int
    new_price_cents: int
    old_quantity: int
    new_quantity: int
    """Open quantity after the change; old_quantity - new_quantity was cancelled."""
    priority_kept: bool
    sequence: int


Event = Accepted | Trade | Rested | Cancelled | Expired | Modified


def event_from_json(d: Mapping[str, Any], *, variant_id: str, at: int) -> Event:
    """One event from the scripts' short-key JSON object."""
    kind = d["type"]
    if kind == "trade":
        return Trade(
            trade_id=str(d["trade"]),
            variant_id=variant_id,
            at=at,
            price_cents=int(d["price"]),
            quantity=int(d["qty"]),
            maker_order_id=str(d["maker"]),
            maker_user_id=str(d["maker_user"]),
            taker_order_id=str(d["taker"]),
            taker_user_id=str(d["taker_user"]),
            taker_side=str(d["side"]),
            maker_remaining=int(d["maker_left"]),
            taker_remaining=int(d["taker_left"]),
            sequence=int(d["seq"]),
        )
    common = {"order_id": str(d["order"]), "user_id": str(d["user"]), "side": str(d["side"])}
    if kind == "accepted":
        return Accepted(
            **common,
            price_cents=int(d["price"]),
            quantity=int(d["qty"]),
            time_in_force=str(d["tif"]),
            expires_at=int(d["exp"]),
            sequence=int(d["seq"]),
        )
    if kind == "rested":
        return Rested(
            **common,
            price_cents=int(d["price"]),
            quantity=int(d["qty"]),
            sequence=int(d["seq"]),
            expires_at=int(d["exp"]),
        )
    if kind == "cancelled":
        return Cancelled(
            **common, price_cents=int(d["price"]), quantity=int(d["qty"]), reason=str(d["reason"])
        )
    if kind == "expired":
        return Expired(**common, price_cents=int(d["price"]), quantity=int(d["qty"]))
    if kind == "modified":
        return Modified(
            **common,
            old_price_cents=int(d["old_price"]),
            new_price_cents=int(d["price"]),
            old_quantity=int(d["old_qty"]),
            new_quantity=int(d["qty"]),
            priority_kept=bool(int(d["kept"])),
            sequence=int(d["seq"]),
        )
    raise ValueError(f"unknown event type {kind!r}")
