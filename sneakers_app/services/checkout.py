"""The card and address of a checkout: what the trade dialog offers and preselects, and what
deleting a saved card or address does to the bids that use it (they are paused first: out of
the book with a notice, so they never match with nowhere to ship or nothing to charge).

Placing stores the chosen ids on the listing (`market.place`, which also refuses ids that are
not the caller's); the match copies them onto the order (`orders.order_for_trade`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from sneakers_app.models import Address, PaymentCard
from sneakers_app.redis_client import get_matching_engine
from sneakers_app.services import addresses, market, payments
from trading.engine import RedisEngine


@dataclass(frozen=True, kw_only=True)
class Choice:
    """One saved card or address as a select shows it."""

    id: int
    label: str
    is_default: bool


@dataclass(frozen=True, kw_only=True)
class Choices:
    cards: list[Choice]
    addresses: list[Choice]


def card_label(card: PaymentCard) -> str:
    return f"{(card.brand or 'card').capitalize()} ending in {card.last4}"


def paused_notice(count: int, what: str) -> str:
    """What deleting a card or address tells its owner about the bids it paused."""
    if not count:
        return ""
    bids = "1 bid that used it is" if count == 1 else f"{count} bids that used it are"
    return f"{bids} paused: choose another {what} for it in your portfolio."


def address_label(address: Address) -> str:
    """Street and city first (what tells saved addresses apart), then the name."""
    city = " ".join(p for p in (address.region, address.postal_code) if p)
    place = ", ".join(p for p in (address.line1, address.line2, address.city) if p)
    return f"{place} {city} \u00b7 {address.full_name}".replace("  ", " ")


def choices(*, session: Session, user_id: int) -> Choices:
    """The user's saved cards and addresses, each default first."""
    return Choices(
        cards=[
            Choice(id=c.id or 0, label=card_label(c), is_default=c.is_default)
            for c in payments.list_cards(session=session, user_id=user_id)
        ],
        addresses=[
            Choice(id=a.id or 0, label=address_label(a), is_default=a.is_default)
            for a in addresses.list_addresses(session=session, user_id=user_id)
        ],
    )


def _pause_then_delete(
    session: Session,
    engine: RedisEngine | None,
    user_id: int,
    delete: Callable[[], object],
    *,
    address_id: int | None = None,
    payment_card_id: int | None = None,
) -> int:
    paused = market.pause_bids(
        session=session,
        engine=engine or get_matching_engine(),
        user_id=user_id,
        address_id=address_id,
        payment_card_id=payment_card_id,
    )
    delete()
    session.commit()
    return len(paused)


def delete_card(
    *, session: Session, user_id: int, card_id: object, engine: RedisEngine | None = None
) -> int:
    """Delete one of the user's cards, pausing the bids that would charge it; how many were
    paused. Commits."""
    card = payments.find_card(session=session, user_id=user_id, card_id=card_id)
    if card is None:
        raise payments.PaymentError("Card not found.")
    return _pause_then_delete(
        session,
        engine,
        user_id,
        lambda: payments.delete_card(session=session, user_id=user_id, card_id=card.id),
        payment_card_id=card.id,
    )


def delete_address(
    *, session: Session, user_id: int, address_id: object, engine: RedisEngine | None = None
) -> int:
    """Delete one of the user's addresses, pausing the bids that would ship to it; how many
    were paused. Orders already matched keep their snapshot. Commits."""
    address = (
        addresses.find_owned(session=session, user_id=user_id, address_id=address_id)
        if isinstance(address_id, int) and not isinstance(address_id, bool)
        else None
    )
    if address is None:
        raise addresses.AddressError("Address not found.")
    target = address.id or 0
    return _pause_then_delete(
        session,
        engine,
        user_id,
        lambda: addresses.delete_address(session=session, user_id=user_id, address_id=target),
        address_id=target,
    )
