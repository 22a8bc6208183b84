"""The marketplace's words, in one place: statuses and their transitions, the groups code asks
about, what each status is called and coloured on screen, and the one rounding rule for ratios.

A leaf module: it imports nothing from the app, so every layer (models, services, state,
components, pages, emails) may use it. Statuses are `StrEnum`s, so a member *is* its database
string (`OrderStatus.PAID == "paid"`) and rows, CHECK constraints and JSON keep plain strings.

Words:
- an **order** is the fulfilment of one matched pair (buyer, seller, authentication, money);
- a **listing** is a member's bid or ask, resting in the book until it fills, is cancelled or
  expires;
- an **engine order** is the matching engine's view of a listing (`trading/`), never stored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

Tone = Literal["green", "red", "amber", "blue", "gray"]


# --- orders ---------------------------------------------------------------------------------


class OrderStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED_TO_VERIFICATION = "shipped_to_verification"
    RECEIVED = "received"
    AUTHENTICATING = "authenticating"
    AUTHENTICATED = "authenticated"
    AUTH_FAILED = "auth_failed"
    SHIPPED_TO_BUYER = "shipped_to_buyer"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    SELLER_DID_NOT_SHIP = "seller_did_not_ship"
    RETURNING_TO_SELLER = "returning_to_seller"
    RETURNED_TO_SELLER = "returned_to_seller"
    CANCELLED = "cancelled"


_O = OrderStatus

ORDER_TRANSITIONS: Mapping[str, frozenset[OrderStatus]] = MappingProxyType(
    {
        _O.CREATED: frozenset({_O.PAID, _O.PAYMENT_FAILED, _O.CANCELLED}),
        _O.PAID: frozenset({_O.AWAITING_SHIPMENT}),
        _O.AWAITING_SHIPMENT: frozenset(
            {_O.SHIPPED_TO_VERIFICATION, _O.SELLER_DID_NOT_SHIP, _O.CANCELLED}
        ),
        _O.SHIPPED_TO_VERIFICATION: frozenset({_O.RECEIVED}),
        _O.RECEIVED: frozenset({_O.AUTHENTICATING}),
        _O.AUTHENTICATING: frozenset({_O.AUTHENTICATED, _O.AUTH_FAILED}),
        # A failure may be appealed once (back to authenticating, another inspector) until the
        # appeal deadline; then it is final: the buyer is refunded and the pair goes back.
        # A final failure waits for staff to ship the pair back (its own tracking number).
        _O.AUTH_FAILED: frozenset({_O.AUTHENTICATING, _O.RETURNING_TO_SELLER}),
        _O.RETURNING_TO_SELLER: frozenset({_O.RETURNED_TO_SELLER}),
        _O.AUTHENTICATED: frozenset({_O.SHIPPED_TO_BUYER}),
        _O.SHIPPED_TO_BUYER: frozenset({_O.DELIVERED}),
        _O.DELIVERED: frozenset({_O.COMPLETED}),
        _O.COMPLETED: frozenset(),
        _O.PAYMENT_FAILED: frozenset(),
        _O.SELLER_DID_NOT_SHIP: frozenset(),
        _O.RETURNED_TO_SELLER: frozenset(),
        _O.CANCELLED: frozenset(),
    }
)
# Where an order's story ends, and every status before that.
ORDER_TERMINAL = frozenset(s for s, nexts in ORDER_TRANSITIONS.items() if not nexts)
ORDER_ACTIVE = frozenset(ORDER_TRANSITIONS) - ORDER_TERMINAL
# Orders whose sale did not happen: no pair changes hands and the money goes back.
ORDER_FAILED = frozenset(
    {
        _O.PAYMENT_FAILED,
        _O.SELLER_DID_NOT_SHIP,
        _O.RETURNING_TO_SELLER,
        _O.RETURNED_TO_SELLER,
        _O.CANCELLED,
    }
)

ORDER_LABELS: Mapping[str, str] = MappingProxyType(
    {
        _O.CREATED: "Matched",
        _O.PAID: "Payment received",
        _O.PAYMENT_FAILED: "Payment failed",
        _O.AWAITING_SHIPMENT: "Waiting for the seller to ship",
        _O.SHIPPED_TO_VERIFICATION: "On its way to authentication",
        _O.RECEIVED: "Received at authentication",
        _O.AUTHENTICATING: "Being authenticated",
        _O.AUTHENTICATED: "Authenticated",
        _O.AUTH_FAILED: "Failed authentication",
        _O.SHIPPED_TO_BUYER: "Shipped to the buyer",
        _O.DELIVERED: "Delivered",
        _O.COMPLETED: "Completed",
        _O.SELLER_DID_NOT_SHIP: "Cancelled: the seller did not ship",
        _O.RETURNING_TO_SELLER: "On its way back to the seller",
        _O.RETURNED_TO_SELLER: "Returned to the seller, buyer refunded",
        _O.CANCELLED: "Cancelled",
    }
)

ORDER_TONES: Mapping[str, Tone] = MappingProxyType(
    {
        _O.CREATED: "blue",
        _O.PAID: "blue",
        _O.AWAITING_SHIPMENT: "amber",
        _O.SHIPPED_TO_VERIFICATION: "blue",
        _O.RECEIVED: "blue",
        _O.AUTHENTICATING: "blue",
        _O.AUTHENTICATED: "green",
        _O.SHIPPED_TO_BUYER: "blue",
        _O.DELIVERED: "green",
        _O.COMPLETED: "green",
        _O.PAYMENT_FAILED: "red",
        _O.AUTH_FAILED: "red",
        _O.SELLER_DID_NOT_SHIP: "red",
        _O.RETURNING_TO_SELLER: "red",
        _O.RETURNED_TO_SELLER: "red",
        _O.CANCELLED: "gray",
    }
)


def order_label(status: str) -> str:
    """What a person reads for an order status; an unknown one is spelled out, not hidden."""
    return ORDER_LABELS.get(status) or status.replace("_", " ").capitalize()


def order_tone(status: str) -> Tone:
    return ORDER_TONES.get(status, "gray")


# --- what the user did, in their own words ---------------------------------------------------
#
# A match reads after what the member did: the taker pressed Buy Now or Sell Now (or placed a
# listing that crossed the book at once), the maker's listing was resting and got taken. The
# trade's `maker_side` says which. Notifications, emails, toasts and the order page all take
# their headline from here.

Side = Literal["buying", "selling"]

_MATCH_HEADLINES: Mapping[tuple[str, bool], str] = MappingProxyType(
    {
        ("buying", False): "You bought",
        ("buying", True): "Your bid matched",
        ("selling", False): "You sold",
        ("selling", True): "Your ask sold",
    }
)


def listing_rested(role: Side, maker_side: str | None) -> bool:
    """Whether this side's listing was the resting one (a bid or ask that waited in the book);
    False for the taker (Buy Now, Sell Now) and when the trade is unknown."""
    return maker_side == ("bid" if role == "buying" else "ask")


def match_headline(role: Side, maker_side: str | None) -> str:
    """ "You bought", "Your bid matched", "You sold" or "Your ask sold"."""
    return _MATCH_HEADLINES[(role, listing_rested(role, maker_side))]


def match_title(role: Side, maker_side: str | None, item: str) -> str:
    """ "You bought <item>", "Your bid matched: <item>", "You sold <item>", "Your ask sold:
    <item>"."""
    head = match_headline(role, maker_side)
    return f"{head}: {item}" if listing_rested(role, maker_side) else f"{head} {item}"


REFUND_LANDS = "5 to 10 business days"
"""How long a card refund takes to show on the statement (the card networks', not ours)."""


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 day", "2 days", "0 days": a count with its noun ("1 bid", "3 bids")."""
    return f"{count} {word if count == 1 else many or word + 's'}"


# --- listings (bids and asks) ---------------------------------------------------------------


class ListingStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # Out of the book (not matched) until its owner picks a new card or address for it.
    PAUSED = "paused"


_L = ListingStatus

LISTING_TRANSITIONS: Mapping[str, frozenset[ListingStatus]] = MappingProxyType(
    {
        _L.OPEN: frozenset({_L.PARTIALLY_FILLED, _L.FILLED, _L.CANCELLED, _L.EXPIRED, _L.PAUSED}),
        _L.PARTIALLY_FILLED: frozenset(
            {_L.PARTIALLY_FILLED, _L.FILLED, _L.CANCELLED, _L.EXPIRED, _L.PAUSED}
        ),
        _L.PAUSED: frozenset({_L.OPEN, _L.PARTIALLY_FILLED, _L.CANCELLED, _L.EXPIRED}),
        _L.FILLED: frozenset(),
        _L.CANCELLED: frozenset(),
        _L.EXPIRED: frozenset(),
    }
)
# A listing that may still trade: it rests in the book (a tuple, for SQL `IN`).
LISTING_OPEN: tuple[ListingStatus, ...] = (_L.OPEN, _L.PARTIALLY_FILLED)
LISTING_CLOSED = frozenset(s for s, nexts in LISTING_TRANSITIONS.items() if not nexts)

LISTING_LABELS: Mapping[str, str] = MappingProxyType(
    {
        _L.OPEN: "Open",
        _L.PARTIALLY_FILLED: "Partly filled",
        _L.FILLED: "Filled",
        _L.CANCELLED: "Cancelled",
        _L.EXPIRED: "Expired",
        _L.PAUSED: "Paused",
    }
)


def listing_is_open(status: str) -> bool:
    return status in LISTING_OPEN


class TimeInForce(StrEnum):
    GTC = "gtc"  # rests until filled, cancelled or expired
    IOC = "ioc"  # Buy Now / Sell Now: fills what it can at once, the rest is cancelled


# --- money movements ------------------------------------------------------------------------


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


class PayoutStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


# --- ratios ---------------------------------------------------------------------------------
#
# One rule: a ratio in basis points is rounded half up on its magnitude (the README's fee rule,
# `amount * bp / 10000` rounded half up), and keeps its sign, so a rise and an equal fall read
# alike (+12.35% and -12.35% show as +12.4% and -12.4%). Shown as a percentage, basis points are
# rounded to tenths of a percent by the same rule. Integers only, no floats.


def _half_up(numerator: int, denominator: int) -> int:
    """|numerator| / denominator rounded half up, with numerator's sign; denominator > 0."""
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def ratio_bp(part: int, whole: int) -> int:
    """`part / whole` in basis points (1 bp = 0.01%); `whole` must be positive."""
    if whole <= 0:
        raise ValueError("a ratio needs a positive whole")
    return _half_up(part * 10_000, whole)


def change_bp(now: int | None, then: int | None) -> int | None:
    """The change from `then` to `now` in basis points; None without both, or from nothing."""
    if now is None or then is None or then <= 0:
        return None
    return ratio_bp(now - then, then)


def percent_text(bp: int | None, *, signed: bool = True) -> str:
    """Basis points as a percentage with one decimal: "+12.3%", "-4.0%", "0.0%"; with
    `signed=False` a positive figure carries no "+" (fees, volatility). An em dash for None."""
    if bp is None:
        return "\u2014"
    tenths = _half_up(bp, 10)
    sign = "-" if tenths < 0 else "+" if tenths > 0 and signed else ""
    whole, frac = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{frac}%"
