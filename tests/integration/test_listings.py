"""One's own listings (services/listings.py): the list with its book, a new price, cancel; only
the owner may, and input that is not a price or a listing id is refused with a clear message."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlmodel import Session

from sneakers_app.services import limits, listings, market, payments
from tests.support import factories
from tests.support.servers import RedisServer
from trading.engine import RedisEngine


@pytest.fixture
def book(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """The service's engine on this test's redis-server; the rate limit is not under test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    engine = RedisEngine(client)
    monkeypatch.setattr(listings, "get_matching_engine", lambda: engine)
    monkeypatch.setattr(limits, "check", lambda *args, **kwargs: None)
    yield client
    client.close()


def _seller(session: Session, name: str) -> int:
    user = factories.user(session, name)
    payments.save_payout_account(
        session=session,
        user_id=user,
        kind="manual",
        account_ref="IBAN GB33BUKB20201555555555",
        holder_name=name,
    )
    return user


def test_only_the_owner_reprices_or_cancels_an_ask(session: Session, book: redis.Redis) -> None:
    seller, rival = _seller(session, "Seller"), _seller(session, "Rival")
    variant_id = factories.variant(session, "10")
    session.commit()
    ask_id = market.place(
        session=session,
        engine=RedisEngine(book),
        user_id=seller,
        side="ask",
        variant_id=variant_id,
        price_cents=30_000,
        client_key=uuid.uuid4().hex,
    ).row_id

    def reprice(user: int, listing_id: object, price: object) -> listings.Outcome:
        return listings.reprice(
            session=session, user_id=user, side="ask", listing_id=listing_id, raw_price=price
        )

    def cancel(user: int, listing_id: object) -> listings.Outcome | None:
        return listings.cancel(session=session, user_id=user, side="ask", listing_id=listing_id)

    not_found = listings.Outcome("That ask was not found.", ok=False)
    assert reprice(rival, ask_id, "285") == not_found
    assert reprice(seller, str(ask_id), "285") == not_found
    assert reprice(seller, ask_id, "12abc") == listings.Outcome(
        "Enter a price in dollars, like 250 or 249.99.", ok=False
    )
    assert reprice(seller, ask_id, "") == listings.Outcome("Enter a price.", ok=False)
    assert reprice(seller, ask_id, "285") == listings.Outcome("Price updated.", ok=True)
    (mine,) = listings.open_listings(session=session, user_id=seller, side="ask", redis_client=book)
    assert (mine.id, mine.price_cents, mine.leads) == (ask_id, 28_500, True)
    assert (
        listings.open_listings(session=session, user_id=rival, side="ask", redis_client=book) == []
    )
    assert (
        listings.open_listings(session=session, user_id=seller, side="bid", redis_client=book) == []
    )

    assert cancel(rival, ask_id) == not_found
    assert cancel(seller, str(ask_id)) is None  # not a listing id: nothing to say
    assert cancel(seller, True) is None
    assert cancel(seller, ask_id) == listings.Outcome("Ask cancelled.", ok=True)
    assert cancel(seller, ask_id) == listings.Outcome("That ask is no longer open.", ok=False)
    assert (
        listings.open_listings(session=session, user_id=seller, side="ask", redis_client=book) == []
    )


def test_the_hint_says_what_a_crossing_price_does() -> None:
    assert set(listings.REPRICE_HINTS) == set(listings.SIDES)
    assert "you buy at once" in listings.REPRICE_HINTS["bid"]
    assert "it sells at once" in listings.REPRICE_HINTS["ask"]
