"""Editing and cancelling one's own resting order from a list (the portfolio's bids, the seller
dashboard's asks): parse the price field, call the market service, and say what happened.
Callers have already checked who is calling (and pass the client IP for the rate limit); the
service checks the order is theirs."""

from __future__ import annotations

import dataclasses

from sneakers_app.db import session_scope
from sneakers_app.money import parse_usd
from sneakers_app.services import limits, market


@dataclasses.dataclass(frozen=True)
class Outcome:
    message: str
    """What to tell the user: the success toast, or the error."""
    ok: bool


def reprice(
    *, user_id: int, side: market.SideName, row_id: int, raw_price: object, ip: str = ""
) -> Outcome:
    """A new price for the caller's order `row_id` (it loses its place in the queue)."""
    try:
        cents = parse_usd(str(raw_price or "")[:40])
    except ValueError as error:
        return Outcome(str(error), ok=False)
    try:
        limits.check(limits.ORDERS, user=user_id, ip=ip)
    except limits.RateLimited as error:
        return Outcome(error.message, ok=False)
    try:
        with session_scope() as session:
            placed = market.edit_price(
                session=session, user_id=user_id, side=side, row_id=row_id, price_cents=cents
            )
    except market.MarketError as error:
        return Outcome(error.message, ok=False)
    return Outcome(placed.message, ok=True)


def cancel(*, user_id: int, side: market.SideName, row_id: object, ip: str = "") -> Outcome | None:
    """Cancel the caller's order `row_id` (None: not an order id at all, nothing to say)."""
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        return None
    try:
        limits.check(limits.ORDERS, user=user_id, ip=ip)
    except limits.RateLimited as error:
        return Outcome(error.message, ok=False)
    try:
        with session_scope() as session:
            market.cancel(session=session, user_id=user_id, side=side, row_id=row_id)
    except market.MarketError as error:
        return Outcome(error.message, ok=False)
    return Outcome(f"{side.capitalize()} cancelled.", ok=True)
