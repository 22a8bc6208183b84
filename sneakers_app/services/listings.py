"""A member's own listings (their resting bids and asks), as the portfolio lists its bids and the
seller dashboard its asks: each open one with where it stands in its size's live book, and the
two things a member does with one from such a list: give it a new price, or cancel it.

Who may: only the listing's owner. The market service checks it (another member's id, or one
that does not exist, gets "That bid was not found." / "That ask was not found."); this module
refuses a price that is not one, and an id that is not a listing id, before anything is looked
up, and counts every other attempt against the orders rate limit. The live book comes from the
app's Redis unless a client is given (tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from sneakers_app.models import Ask, Bid
from sneakers_app.money import parse_usd
from sneakers_app.redis_client import get_matching_engine, get_redis
from sneakers_app.services import limits, market, orders
from sneakers_app.services.order_views import VariantLabel, variant_labels
from sneakers_app.vocabulary import LISTING_OPEN, ListingStatus, TimeInForce
from trading import market_data

Side = market.SideName
SIDES: tuple[Side, ...] = ("bid", "ask")
LIMITS: dict[Side, int] = {"bid": 500, "ask": 200}
"""How many open listings a page shows at most, newest first."""
REPRICE_HINTS: dict[Side, str] = {
    "bid": "If an ask is at or below the new bid, you buy at once.",
    "ask": "If a bid is at or above the new price, it sells at once.",
}
"""What a new price does when it reaches the other side of the book, said next to the field."""
MAX_PRICE_TEXT = 40
"""Longer price input is cut before it is parsed (it is refused either way)."""


@dataclass(frozen=True, kw_only=True)
class OwnListing:
    id: int
    side: Side
    product: VariantLabel
    price_cents: int
    highest_bid_cents: int | None
    lowest_ask_cents: int | None
    leads: bool
    """Best of its side right now, ties included: no live bid above this bid (it is the highest
    bid, else outbid), or no live ask below this ask (it is the lowest ask)."""
    expires_at: datetime | None
    created_at: datetime
    paused: bool = False
    """Out of the book because its card or address was deleted, until its owner picks another
    (`resume_bid`)."""


@dataclass(frozen=True)
class Outcome:
    message: str
    """What to tell the member: the success message, or why it was refused."""
    ok: bool


_Row = TypeVar("_Row", Bid, Ask)


def _open_rows(session: Session, model: type[_Row], user_id: int) -> list[_Row]:
    side: Side = "bid" if model is Bid else "ask"
    return list(
        session.exec(
            select(model)
            .where(
                model.user_id == user_id,
                col(model.status).in_((*LISTING_OPEN, ListingStatus.PAUSED)),
                model.time_in_force == TimeInForce.GTC,
            )
            .order_by(col(model.created_at).desc(), col(model.id).desc())
            .limit(LIMITS[side])
        ).all()
    )


def open_listings(
    *,
    session: Session,
    user_id: int,
    side: Side,
    redis_client: Any = None,
    size_system: str = "us_m",
) -> list[OwnListing]:
    """The member's open good-till-cancelled bids (or asks), newest first, with their book."""
    rows: list[Bid] | list[Ask] = (
        _open_rows(session, Bid, user_id) if side == "bid" else _open_rows(session, Ask, user_id)
    )
    if not rows:
        return []
    labels = variant_labels(session, (r.variant_id for r in rows), size_system=size_system)
    client = redis_client if redis_client is not None else get_redis()
    books = market_data.tops(client, [str(r.variant_id) for r in rows])
    out = []
    for row in rows:
        label = labels.get(row.variant_id)
        if label is None:
            continue
        top = books.get(str(row.variant_id))
        highest = top.bid_cents if top else None
        lowest = top.ask_cents if top else None
        if side == "bid":
            leads = highest is None or highest <= row.price_cents
        else:
            leads = lowest is None or row.price_cents <= lowest
        out.append(
            OwnListing(
                id=row.id or 0,
                side=side,
                product=label,
                price_cents=row.price_cents,
                highest_bid_cents=highest,
                lowest_ask_cents=lowest,
                leads=leads,
                expires_at=orders.aware(row.expires_at) if row.expires_at else None,
                created_at=orders.aware(row.created_at),
                paused=row.status == ListingStatus.PAUSED,
            )
        )
    return out


def _listing_id(value: object) -> int | None:
    """A listing id as the page sends it (an int), else None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value


def _run(
    session: Session, user_id: int, ip: str, action: Callable[[], market.Placed | None]
) -> Outcome | market.Placed | None:
    """Count the attempt against the orders rate limit, then run a market action; a refusal
    (rate limit or market) is an `Outcome` to show, and changes nothing."""
    try:
        limits.check(limits.ORDERS, user=user_id, ip=ip)
    except limits.RateLimited as error:
        return Outcome(error.message, ok=False)
    try:
        return action()
    except market.MarketError as error:
        session.rollback()
        return Outcome(error.message, ok=False)


def reprice(
    *,
    session: Session,
    user_id: int,
    side: Side,
    listing_id: object,
    raw_price: object,
    ip: str = "",
) -> Outcome:
    """A new price for the member's own open listing (it loses its place in the queue; at a
    crossing price it trades at once)."""
    try:
        cents = parse_usd(str(raw_price or "")[:MAX_PRICE_TEXT])
    except ValueError as error:
        return Outcome(str(error), ok=False)
    row_id = _listing_id(listing_id)
    if row_id is None:
        return Outcome(f"That {side} was not found.", ok=False)
    done = _run(
        session,
        user_id,
        ip,
        lambda: market.edit_price(
            session=session,
            engine=get_matching_engine(),
            user_id=user_id,
            side=side,
            row_id=row_id,
            price_cents=cents,
        ),
    )
    if isinstance(done, market.Placed):
        return Outcome(done.message, ok=True)
    assert isinstance(done, Outcome)
    return done


def cancel(
    *, session: Session, user_id: int, side: Side, listing_id: object, ip: str = ""
) -> Outcome | None:
    """Cancel the member's own open listing (None: not a listing id at all, nothing to say)."""
    row_id = _listing_id(listing_id)
    if row_id is None:
        return None
    done = _run(
        session,
        user_id,
        ip,
        lambda: market.cancel(
            session=session, engine=get_matching_engine(), user_id=user_id, side=side, row_id=row_id
        ),
    )
    return done if isinstance(done, Outcome) else Outcome(f"{side.capitalize()} cancelled.", True)


def resume_bid(
    *,
    session: Session,
    user_id: int,
    listing_id: object,
    address_id: object = None,
    payment_card_id: object = None,
    ip: str = "",
) -> Outcome:
    """Put the member's paused bid back on the book with the address and card they picked
    (their own; None: their defaults): the same price and expiry, a new place in the queue."""
    row_id = _listing_id(listing_id)
    if row_id is None:
        return Outcome("That bid was not found.", ok=False)
    done = _run(
        session,
        user_id,
        ip,
        lambda: market.resume_bid(
            session=session,
            engine=get_matching_engine(),
            user_id=user_id,
            bid_id=row_id,
            address_id=address_id,
            payment_card_id=payment_card_id,
        ),
    )
    if not isinstance(done, market.Placed):
        assert isinstance(done, Outcome)
        return done
    if done.status == ListingStatus.CANCELLED:
        return Outcome(done.message, ok=False)
    return Outcome(
        "Your bid is back on the market." if not done.replayed else done.message, ok=True
    )
