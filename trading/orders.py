"""Commands, results and rules shared by the Redis engine and the reference engine.

Money is integer cents, time is integer milliseconds since the epoch (passed in with every
command by the engine's clock), and every command and result is a frozen keyword-only dataclass,
so a test can compare two engines' outputs with `==`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from trading.events import Event, Trade

DAY_MS = 86_400_000

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class Side(StrEnum):
    BID = "bid"
    ASK = "ask"

    @property
    def opposite(self) -> Side:
        return Side.ASK if self is Side.BID else Side.BID


class TimeInForce(StrEnum):
    GTC = "gtc"
    """Good till cancelled or until `expires_at`: what does not fill rests on the book."""
    IOC = "ioc"
    """Immediate or cancel ("Buy Now" / "Sell Now"): fills what it can now, never rests."""


class OrderStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class RejectCode(StrEnum):
    UNKNOWN_BOOK = "unknown_book"
    BOOK_HALTED = "book_halted"
    BOOK_BEHIND = "book_behind"
    TOO_LATE = "too_late"
    INVALID_ID = "invalid_id"
    INVALID_SIDE = "invalid_side"
    INVALID_PRICE = "invalid_price"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_TIME_IN_FORCE = "invalid_time_in_force"
    INVALID_EXPIRY = "invalid_expiry"
    UNKNOWN_ORDER = "unknown_order"
    NOT_OWNER = "not_owner"
    ORDER_NOT_OPEN = "order_not_open"


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Limits both engines enforce. Prices in cents, durations in milliseconds."""

    min_price_cents: int = 100
    max_price_cents: int = 10_000_000
    max_quantity: int = 100
    max_expiry_ms: int = 400 * DAY_MS
    sweep_limit: int = 32
    """Expired orders removed at the start of every command (a full sweep is `expire`)."""
    retention_ms: int = 7 * DAY_MS
    """How long a finished order (and its idempotency record) is kept before `expire` prunes it."""
    recent_trades: int = 100
    """Length of the per-book recent trades list."""


DEFAULT_CONFIG = EngineConfig()


# ---------------------------------------------------------------------------------------------
# commands


@dataclass(frozen=True, kw_only=True)
class PlaceOrder:
    variant_id: str
    order_id: str
    """The caller's id for the order (the bid/ask row id): also the idempotency key."""
    user_id: str
    side: Side
    price_cents: int
    quantity: int
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None
    """Epoch ms from which the order no longer matches. Required for GTC, must be None for IOC."""
    deadline: int | None = None
    """IOC only: epoch ms from which the engine refuses the order (`too_late`) instead of
    executing it: a request that stalled or a late retry never buys or sells late."""
    min_sequence: int = 0
    """The last book sequence the caller's system of record saw: a book whose sequence is below
    it lost state and refuses the order (`book_behind`) until it is rebuilt."""


@dataclass(frozen=True, kw_only=True)
class CancelOrder:
    variant_id: str
    order_id: str
    user_id: str


@dataclass(frozen=True, kw_only=True)
class ModifyOrder:
    """Change an open order's price and/or lower its open quantity.

    A price change is a cancel/replace: the order takes a new sequence (loses time priority) and
    may trade at once. A quantity decrease at the same price keeps the order's place in the queue.
    Increasing the quantity is refused: place a new order instead.
    """

    variant_id: str
    order_id: str
    user_id: str
    price_cents: int
    quantity: int
    min_sequence: int = 0
    """As for PlaceOrder: a book behind this sequence refuses (`book_behind`)."""


@dataclass(frozen=True, kw_only=True)
class ExpireOrders:
    """Sweep every order whose `expires_at` has passed (up to `limit`) and prune finished orders
    older than the retention period."""

    variant_id: str
    limit: int = 1000


Command = PlaceOrder | CancelOrder | ModifyOrder | ExpireOrders


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, kw_only=True)
class Rejected:
    """A command refused before it changed anything."""

    variant_id: str
    order_id: str | None
    code: RejectCode
    message: str


@dataclass(frozen=True, kw_only=True)
class PlaceResult:
    variant_id: str
    order_id: str
    status: OrderStatus
    sequence: int
    """The book sequence the order took: its time priority."""
    fills: tuple[Trade, ...]
    filled_quantity: int
    resting_quantity: int
    cancelled_quantity: int
    cancel_reason: str | None
    """"ioc" (unfilled IOC remainder) or "self_trade" (see docs/trading.md), else None."""
    events: tuple[Event, ...]
    replayed: bool = False
    """True when this order id was placed before: this is its first outcome, nothing changed."""


@dataclass(frozen=True, kw_only=True)
class CancelResult:
    variant_id: str
    order_id: str
    cancelled_quantity: int
    events: tuple[Event, ...]


@dataclass(frozen=True, kw_only=True)
class ModifyResult:
    variant_id: str
    order_id: str
    status: OrderStatus
    priority_kept: bool
    sequence: int
    fills: tuple[Trade, ...]
    resting_quantity: int
    cancelled_quantity: int
    """Quantity cancelled by this command (the decrease plus any self-trade remainder)."""
    cancel_reason: str | None
    events: tuple[Event, ...]


@dataclass(frozen=True, kw_only=True)
class ExpireResult:
    variant_id: str
    expired_quantity: int
    pruned: int
    events: tuple[Event, ...]


PlaceOutcome = PlaceResult | Rejected
CancelOutcome = CancelResult | Rejected
ModifyOutcome = ModifyResult | Rejected
ExpireOutcome = ExpireResult | Rejected


# ---------------------------------------------------------------------------------------------
# state views (for market data, recovery and tests)


@dataclass(frozen=True, kw_only=True)
class RestingOrder:
    order_id: str
    user_id: str
    side: Side
    price_cents: int
    quantity: int
    sequence: int
    expires_at: int


@dataclass(frozen=True, kw_only=True)
class BookSnapshot:
    """Every resting order of a book in matching priority (best price first, then sequence)."""

    variant_id: str
    sequence: int
    bids: tuple[RestingOrder, ...]
    asks: tuple[RestingOrder, ...]


@dataclass(frozen=True, kw_only=True)
class OrderState:
    """What the engine knows of one order: filled + remaining + cancelled + expired = submitted."""

    order_id: str
    user_id: str
    side: Side
    status: OrderStatus
    price_cents: int
    submitted: int
    remaining: int
    filled: int
    cancelled: int
    expired: int
    sequence: int
    expires_at: int
    time_in_force: TimeInForce


# ---------------------------------------------------------------------------------------------
# validation: the shape of a command is checked in Python before anything is sent (so the
# scripts always get well-formed arguments); bounds and the book's state are checked by the
# engine itself after the idempotency check (see the Lua scripts and reference.py), so a
# replayed order id returns its first outcome even if its expiry has passed since.


def valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.match(value) is not None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reject(variant_id: str, order_id: str | None, code: RejectCode, message: str) -> Rejected:
    return Rejected(variant_id=variant_id, order_id=order_id, code=code, message=message)


def _check_ids(variant_id: str, order_id: str, user_id: str) -> Rejected | None:
    for name, value in (("variant_id", variant_id), ("order_id", order_id), ("user_id", user_id)):
        if not valid_id(value):
            return reject(
                str(variant_id),
                order_id if valid_id(order_id) else None,
                RejectCode.INVALID_ID,
                f"{name} must be 1-64 characters of A-Z a-z 0-9 _ . : -",
            )
    return None


_ID_MATCH = _ID.match
_SIDES = (Side.BID, Side.ASK)


def place_shape_error(cmd: PlaceOrder) -> Rejected | None:
    v, o, u = cmd.variant_id, cmd.order_id, cmd.user_id
    # the common case in one expression (str subclasses take the long way)
    if not (
        type(v) is str
        and type(o) is str
        and type(u) is str
        and _ID_MATCH(v)
        and _ID_MATCH(o)
        and _ID_MATCH(u)
    ):
        bad = _check_ids(v, o, u)
        if bad:
            return bad
    if type(cmd.price_cents) is int and type(cmd.quantity) is int and cmd.side in _SIDES:
        tif, exp = cmd.time_in_force, cmd.expires_at
        if tif == TimeInForce.GTC and type(exp) is int:
            return None
        if tif == TimeInForce.IOC and exp is None:
            return None
    return _place_fields_error(cmd)


def _place_fields_error(cmd: PlaceOrder) -> Rejected | None:
    """The long way, for an order whose side, price, quantity or expiry missed the fast path:
    which of them is wrong (None: they are all fine after all, e.g. int subclasses)."""
    v, o = cmd.variant_id, cmd.order_id
    if cmd.side not in _SIDES:
        return reject(v, o, RejectCode.INVALID_SIDE, "side must be bid or ask")
    if not _is_int(cmd.price_cents):
        return reject(v, o, RejectCode.INVALID_PRICE, "price must be int cents")
    if not _is_int(cmd.quantity):
        return reject(v, o, RejectCode.INVALID_QUANTITY, "quantity must be an int")
    if cmd.time_in_force == TimeInForce.GTC:
        if not _is_int(cmd.expires_at):
            return reject(v, o, RejectCode.INVALID_EXPIRY, "a GTC order needs int expires_at")
    elif cmd.time_in_force == TimeInForce.IOC:
        if cmd.expires_at is not None:
            return reject(v, o, RejectCode.INVALID_EXPIRY, "an IOC order takes no expires_at")
    else:
        return reject(v, o, RejectCode.INVALID_TIME_IN_FORCE, "time_in_force must be gtc or ioc")
    return None


def cancel_shape_error(cmd: CancelOrder) -> Rejected | None:
    return _check_ids(cmd.variant_id, cmd.order_id, cmd.user_id)


def modify_shape_error(cmd: ModifyOrder) -> Rejected | None:
    bad = _check_ids(cmd.variant_id, cmd.order_id, cmd.user_id)
    if bad:
        return bad
    v, o = cmd.variant_id, cmd.order_id
    if not _is_int(cmd.price_cents):
        return reject(v, o, RejectCode.INVALID_PRICE, "price must be int cents")
    if not _is_int(cmd.quantity):
        return reject(v, o, RejectCode.INVALID_QUANTITY, "quantity must be an int")
    return None


def expire_shape_error(cmd: ExpireOrders) -> Rejected | None:
    if not valid_id(cmd.variant_id):
        return reject(str(cmd.variant_id), None, RejectCode.INVALID_ID, "bad variant_id")
    if not _is_int(cmd.limit) or not 1 <= cmd.limit <= 10_000:
        return reject(cmd.variant_id, None, RejectCode.INVALID_QUANTITY, "limit must be 1..10000")
    return None
