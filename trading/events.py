"""Outcome events: what a command did to a book, in order.

The Lua scripts build these as JSON arrays (the type, then the fields by position; see
`docs/trading.md`), return them to the caller and append them, in the same atomic step, to the
book's journal stream. Journal entries and idempotency records written before that encoding hold
JSON objects with short keys; both are read. The reference engine produces the same events (as
objects), so the two engines can be compared event by event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


# -- the scripts' positional encoding ------------------------------------------------------------
#
# An event array is built by the engine's own scripts, with every number an integer and every
# other field a string, so its values go into the object as they are: the object is created
# without running the (frozen) dataclass __init__, several times faster, and compares, prints and
# pickles exactly like one built by the constructor.

_new = object.__new__
_Reader = Callable[[Sequence[Any], str, int], Event]


def _row_reader(cls: type[Event], *fields: str, in_book: bool = False) -> _Reader:
    """A reader of one event type's array, whose fields follow the type in this order.
    `in_book`: the event also takes the book's variant id and the command's clock."""

    def read(row: Sequence[Any], variant_id: str, at: int) -> Event:
        e = _new(cls)
        d = e.__dict__
        d.update(zip(fields, row[1:], strict=True))
        if in_book:
            d["variant_id"] = variant_id
            d["at"] = at
        return e

    return read


_ORDER = ("order_id", "user_id", "side")
_ROWS: dict[Any, _Reader] = {
    "trade": _row_reader(
        Trade,
        "trade_id",
        "price_cents",
        "quantity",
        "maker_order_id",
        "maker_user_id",
        "taker_order_id",
        "taker_user_id",
        "taker_side",
        "maker_remaining",
        "taker_remaining",
        "sequence",
        in_book=True,
    ),
    "accepted": _row_reader(
        Accepted, *_ORDER, "price_cents", "quantity", "time_in_force", "expires_at", "sequence"
    ),
    "rested": _row_reader(Rested, *_ORDER, "price_cents", "quantity", "sequence", "expires_at"),
    "cancelled": _row_reader(Cancelled, *_ORDER, "price_cents", "quantity", "reason"),
    "expired": _row_reader(Expired, *_ORDER, "price_cents", "quantity"),
    "modified": _row_reader(
        Modified,
        *_ORDER,
        "old_price_cents",
        "new_price_cents",
        "old_quantity",
        "new_quantity",
        "priority_kept",  # true or false in the array
        "sequence",
    ),
}


def trade_row(t: Trade) -> list[Any]:
    """A trade in the journal's array form (what `events_from_data` reads back)."""
    return [
        "trade",
        t.trade_id,
        t.price_cents,
        t.quantity,
        t.maker_order_id,
        t.maker_user_id,
        t.taker_order_id,
        t.taker_user_id,
        t.taker_side,
        t.maker_remaining,
        t.taker_remaining,
        t.sequence,
    ]


def _unknown_row(row: Sequence[Any], variant_id: str, at: int) -> Event:
    raise ValueError(f"unknown event type {row[0]!r}")


def events_from_data(data: Any, *, variant_id: str, at: int) -> tuple[Event, ...]:
    """Events as JSON-decoded from a journal entry, a script's reply or an idempotency record:
    an array of arrays (the scripts' encoding) or of objects (the reference engine's, and what
    the scripts wrote before)."""
    if isinstance(data, dict):  # Lua's cjson encodes an empty table as {}
        return ()
    rows, unknown = _ROWS, _unknown_row
    return tuple(
        rows.get(d[0], unknown)(d, variant_id, at)
        if type(d) is list
        else event_from_json(d, variant_id=variant_id, at=at)
        for d in data
    )
