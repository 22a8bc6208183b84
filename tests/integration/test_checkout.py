"""Checkout through the services the dialog and the account page call, against real Redis,
SQLite / PostgreSQL and localstripe: saved cards, the bid's card and address, the order's
snapshot at the match, the charge on the bid's card, and bids paused when their card or
address is deleted (and resumed)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from sneakers_app.models import Bid, Notification, Order, Payment, PaymentCard, User, utcnow
from sneakers_app.services import (
    addresses,
    checkout,
    journal,
    listings,
    market,
    payments,
    saga,
    sweeps,
)
from sneakers_app.services.addresses import AddressSnapshot
from sneakers_app.vocabulary import ListingStatus
from tests.integration import test_saga
from tests.integration.test_payments import save_card
from tests.integration.test_saga import PRICE, Market
from tests.support import factories
from trading import events as ev
from trading.journal import JournalEntry

# The order saga's fixtures: the marketplace wired to real servers, and a size to trade.
mk = test_saga.mk
smtp = test_saga.smtp
variant = test_saga.variant

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"


def cards_of(mk: Market, user_id: int) -> list[PaymentCard]:
    with mk.session() as s:
        return payments.list_cards(session=s, user_id=user_id)


def add_card(mk: Market, user_id: int, number: str) -> PaymentCard:
    with mk.session() as s:
        method_id = save_card(s, mk.stripe, mk.settings, user_id, number)
        card = s.exec(select(PaymentCard).where(PaymentCard.payment_method_id == method_id)).one()
        return card


def bid(mk: Market, user_id: int, variant_id: int, **ids: int | None) -> market.Placed:
    with mk.session() as s:
        return market.place(
            session=s,
            engine=mk.engine,
            user_id=user_id,
            side="bid",
            variant_id=variant_id,
            price_cents=PRICE,
            client_key=uuid.uuid4().hex,
            expiry_days=30,
            **ids,  # type: ignore[arg-type]
        )


def test_several_cards_one_default_mirrored_on_the_user(mk: Market) -> None:
    buyer = mk.buyer(VISA)
    first = cards_of(mk, buyer)[0]
    assert first.is_default and (first.brand, first.last4) == ("visa", "4242")
    second = add_card(mk, buyer, MASTERCARD)
    cards = cards_of(mk, buyer)
    assert [c.id for c in cards] == [second.id, first.id]  # the card just saved is the default
    assert [c.is_default for c in cards] == [True, False]
    with mk.session() as s:
        payments.set_default_card(session=s, user_id=buyer, card_id=first.id)
        s.commit()
        user = s.get(User, buyer)
        assert user is not None
        assert (user.default_payment_method_id, user.card_last4) == (
            first.payment_method_id,
            "4242",
        )
    with mk.session() as s:
        checkout.delete_card(session=s, engine=mk.engine, user_id=buyer, card_id=first.id)
    cards = cards_of(mk, buyer)
    assert [(c.id, c.is_default) for c in cards] == [(second.id, True)]
    with mk.session() as s:
        user = s.get(User, buyer)
        assert user is not None and user.default_payment_method_id == second.payment_method_id
        checkout.delete_card(session=s, engine=mk.engine, user_id=buyer, card_id=second.id)
        s.expire_all()
        user = s.get(User, buyer)
        assert user is not None and not payments.has_payment_method(user)


def test_someone_elses_card_cannot_be_made_default_or_deleted(mk: Market) -> None:
    owner, other = mk.buyer(VISA), mk.buyer(VISA)
    card = cards_of(mk, owner)[0]
    with mk.session() as s:
        with pytest.raises(payments.PaymentError, match="Card not found"):
            payments.set_default_card(session=s, user_id=other, card_id=card.id)
        with pytest.raises(payments.PaymentError, match="Card not found"):
            checkout.delete_card(session=s, engine=mk.engine, user_id=other, card_id=card.id)
        with pytest.raises(payments.PaymentError, match="Card not found"):
            payments.set_default_card(session=s, user_id=owner, card_id="1")
    assert [c.id for c in cards_of(mk, owner)] == [card.id]


def test_bid_stores_its_card_and_address_and_refuses_someone_elses(
    mk: Market, variant: int
) -> None:
    buyer, stranger = mk.buyer(VISA), mk.buyer(VISA)
    visa = cards_of(mk, buyer)[0]
    master = add_card(mk, buyer, MASTERCARD)  # now the default
    with mk.session() as s:
        home = addresses.default_address(session=s, user_id=buyer)
        work = factories.address(s, buyer, "1 Office Park")
        theirs = addresses.default_address(session=s, user_id=stranger)
        s.commit()
    assert home is not None and theirs is not None
    defaults = bid(mk, buyer, variant)
    chosen = bid(mk, buyer, variant, address_id=work, payment_card_id=visa.id)
    with mk.session() as s:
        first, second = s.get(Bid, defaults.row_id), s.get(Bid, chosen.row_id)
        assert first is not None and second is not None
        assert (first.address_id, first.payment_card_id) == (home.id, master.id)
        assert (second.address_id, second.payment_card_id) == (work, visa.id)
        count = len(s.exec(select(Bid).where(Bid.user_id == buyer)).all())
    stranger_card = cards_of(mk, stranger)[0]
    for ids, message in (
        ({"address_id": theirs.id}, market.NOT_YOUR_ADDRESS),
        ({"payment_card_id": stranger_card.id}, market.NOT_YOUR_CARD),
        ({"address_id": 10**9}, market.NOT_YOUR_ADDRESS),
    ):
        with pytest.raises(market.MarketError) as refused:
            bid(mk, buyer, variant, **ids)
        assert refused.value.message == message
    with mk.session() as s:
        assert len(s.exec(select(Bid).where(Bid.user_id == buyer)).all()) == count


def test_a_bid_needs_an_address(mk: Market, variant: int) -> None:
    with mk.session() as s:
        buyer = factories.user(s, "Buyer")
        s.commit()
        save_card(s, mk.stripe, mk.settings, buyer, VISA)
    with pytest.raises(market.MarketError) as refused:
        bid(mk, buyer, variant)
    assert refused.value.message == market.NO_ADDRESS


def test_order_snapshots_the_bids_address_and_card_and_charges_that_card(
    mk: Market, variant: int
) -> None:
    seller, buyer = mk.seller(), mk.buyer(VISA)
    visa = cards_of(mk, buyer)[0]
    add_card(mk, buyer, MASTERCARD)  # the default now; the bid names the visa
    with mk.session() as s:
        work = factories.address(s, buyer, "1 Office Park")
        seller_home = factories.address(s, seller, "9 Seller Lane")
        s.commit()
    resting = bid(mk, buyer, variant, address_id=work, payment_card_id=visa.id)
    assert resting.status == "open"
    mk.place(seller, "ask", variant)
    mk.drain(variant)
    order_id = mk.new_orders[-1]
    order = mk.order(order_id)
    buyer_snap = AddressSnapshot.from_json(order.buyer_address)
    seller_snap = AddressSnapshot.from_json(order.seller_address)
    assert buyer_snap is not None and buyer_snap.line1 == "1 Office Park"
    assert seller_snap is not None and seller_snap.line1 == "9 Seller Lane"
    assert (order.payment_method_id, order.card_brand, order.card_last4) == (
        visa.payment_method_id,
        "visa",
        "4242",
    )
    # Editing and then deleting the address afterwards does not move the pair.
    with mk.session() as s:
        addresses.update_address(
            session=s,
            user_id=buyer,
            address_id=work,
            data=factories.address_input(
                full_name="Someone Else",
                line1="77 Other Road",
                city="Boston",
                region="MA",
                postal_code="02101",
            ),
        )
        s.commit()
        checkout.delete_address(session=s, engine=mk.engine, user_id=buyer, address_id=work)
        addresses.delete_address(session=s, user_id=seller, address_id=seller_home)
        s.commit()
    after = mk.order(order_id)
    assert (after.buyer_address, after.seller_address) == (
        order.buyer_address,
        order.seller_address,
    )
    mk.step(saga.charge, order_id=order_id, client=mk.stripe)
    with mk.session() as s:
        payment = s.exec(select(Payment).where(Payment.order_id == order_id)).one()
        assert payment.status == "succeeded"
        assert payment.stripe_id is not None
    intent = mk.stripe.v1.payment_intents.retrieve(payment.stripe_id)
    assert intent.payment_method == visa.payment_method_id


def test_old_bid_without_ids_falls_back_to_the_defaults(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer(VISA)
    placed = bid(mk, buyer, variant)
    with mk.session() as s:  # a bid from before bids kept their address and card
        row = s.get(Bid, placed.row_id)
        assert row is not None
        row.address_id, row.payment_card_id = None, None
        s.add(row)
        s.commit()
        home = addresses.default_address(session=s, user_id=buyer)
    mk.place(seller, "ask", variant)
    mk.drain(variant)
    order = mk.order(mk.new_orders[-1])
    snap = AddressSnapshot.from_json(order.buyer_address)
    assert home is not None and snap == AddressSnapshot.of(home)
    assert order.seller_address == ""  # the seller saved none
    assert order.payment_method_id == cards_of(mk, buyer)[0].payment_method_id


def test_deleting_the_card_pauses_the_bid_which_then_does_not_match(
    mk: Market, variant: int
) -> None:
    seller, buyer = mk.seller(), mk.buyer(VISA)
    master = add_card(mk, buyer, MASTERCARD)
    placed = bid(mk, buyer, variant, payment_card_id=master.id)
    other = bid(mk, buyer, variant, payment_card_id=cards_of(mk, buyer)[1].id)
    mk.drain(variant)
    with mk.session() as s:
        paused = checkout.delete_card(session=s, engine=mk.engine, user_id=buyer, card_id=master.id)
    assert paused == 1
    mk.drain(variant)  # the engine's cancel reaches the journal: the bid stays paused
    with mk.session() as s:
        row = s.get(Bid, placed.row_id)
        assert row is not None and row.status == ListingStatus.PAUSED
        assert s.get(Bid, other.row_id).status == "open"  # type: ignore[union-attr]
        notice = s.exec(
            select(Notification).where(
                Notification.user_id == buyer, Notification.kind == "bid_paused"
            )
        ).one()
        assert "card" in notice.body and "Choose another" in notice.body
    # Cancel the other bid so only the paused one could meet the ask.
    with mk.session() as s:
        market.cancel(session=s, engine=mk.engine, user_id=buyer, side="bid", row_id=other.row_id)
    crossing = mk.place(seller, "ask", variant)
    assert crossing.status == "open"  # nothing to match: the paused bid is out of the book
    mk.drain(variant)
    with mk.session() as s:
        assert s.exec(select(Order).where(Order.buyer_id == buyer)).first() is None


def test_deleting_the_address_pauses_and_resume_puts_it_back(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer(VISA)
    with mk.session() as s:
        home = addresses.default_address(session=s, user_id=buyer)
        assert home is not None
        home_id = home.id
    placed = bid(mk, buyer, variant)
    with mk.session() as s:
        assert (
            checkout.delete_address(session=s, engine=mk.engine, user_id=buyer, address_id=home_id)
            == 1
        )
        new_home = factories.address(s, buyer, "5 New Street")
        s.commit()
        mine = listings.open_listings(session=s, user_id=buyer, side="bid", redis_client=mk.redis)
        assert [(r.id, r.paused) for r in mine] == [(placed.row_id, True)]
        stranger = mk.buyer(VISA)
        theirs = addresses.default_address(session=s, user_id=stranger)
        assert theirs is not None
        with pytest.raises(market.MarketError, match="not one of yours"):
            market.resume_bid(
                session=s,
                engine=mk.engine,
                user_id=buyer,
                bid_id=placed.row_id,
                address_id=theirs.id,
            )
        with pytest.raises(market.MarketError, match="not found"):
            market.resume_bid(session=s, engine=mk.engine, user_id=stranger, bid_id=placed.row_id)
        resumed = market.resume_bid(
            session=s, engine=mk.engine, user_id=buyer, bid_id=placed.row_id, address_id=new_home
        )
        again = market.resume_bid(
            session=s, engine=mk.engine, user_id=buyer, bid_id=placed.row_id, address_id=new_home
        )
    assert resumed.status == "open" and again.replayed and again.row_id == resumed.row_id
    with mk.session() as s:
        old, new = s.get(Bid, placed.row_id), s.get(Bid, resumed.row_id)
        assert old is not None and new is not None
        assert old.status == "cancelled"
        assert (new.price_cents, new.expires_at, new.address_id) == (
            old.price_cents,
            old.expires_at,
            new_home,
        )
    mk.place(seller, "ask", variant)
    mk.drain(variant)
    order = mk.order(mk.new_orders[-1])
    assert order.bid_id == resumed.row_id
    snap = AddressSnapshot.from_json(order.buyer_address)
    assert snap is not None and snap.line1 == "5 New Street"


def test_expiry_sweep_expires_paused_bids(mk: Market, variant: int) -> None:
    buyer = mk.buyer(VISA)
    placed = bid(mk, buyer, variant)
    with mk.session() as s:
        home = addresses.default_address(session=s, user_id=buyer)
        assert home is not None
        checkout.delete_address(session=s, engine=mk.engine, user_id=buyer, address_id=home.id)
        row = s.get(Bid, placed.row_id)
        assert row is not None and row.status == ListingStatus.PAUSED
        row.expires_at = utcnow() - timedelta(minutes=1)
        s.add(row)
        s.commit()
        assert sweeps.expire_books(s, engine=mk.engine) >= 1
        s.expire_all()
        assert s.get(Bid, placed.row_id).status == "expired"  # type: ignore[union-attr]


def test_a_paused_bid_can_be_cancelled_by_its_owner_only(mk: Market, variant: int) -> None:
    buyer, stranger = mk.buyer(VISA), mk.buyer(VISA)
    placed = bid(mk, buyer, variant)
    with mk.session() as s:
        home = addresses.default_address(session=s, user_id=buyer)
        assert home is not None
        checkout.delete_address(session=s, engine=mk.engine, user_id=buyer, address_id=home.id)
        with pytest.raises(market.MarketError, match="not found"):
            market.cancel(
                session=s, engine=mk.engine, user_id=stranger, side="bid", row_id=placed.row_id
            )
        market.cancel(session=s, engine=mk.engine, user_id=buyer, side="bid", row_id=placed.row_id)
        s.expire_all()
        assert s.get(Bid, placed.row_id).status == "cancelled"  # type: ignore[union-attr]


def test_the_engines_cancel_read_before_a_pause_commits_keeps_the_bid_paused(
    mk: Market, variant: int
) -> None:
    """The journal consumer may read a bid (open) before its owner's pause commits and apply
    the engine's cancel after: the bid stays paused, not cancelled."""
    buyer = mk.buyer(VISA)
    placed = bid(mk, buyer, variant)
    with mk.session() as consumer, mk.session() as owner:
        stale = consumer.get(Bid, placed.row_id)
        assert stale is not None and stale.status == "open"
        row = owner.get(Bid, placed.row_id)
        assert row is not None
        row.status = ListingStatus.PAUSED
        owner.add(row)
        owner.commit()
        entry = JournalEntry(
            entry_id="1-0",
            variant_id=str(variant),
            command="cancel",
            sequence=10**6,
            at=0,
            events=(
                ev.Cancelled(
                    order_id=f"b{placed.row_id}",
                    user_id=str(buyer),
                    side="bid",
                    price_cents=PRICE,
                    quantity=1,
                    reason="user",
                ),
            ),
        )
        journal.apply_entry(consumer, entry)
        consumer.commit()
    with mk.session() as s:
        assert s.get(Bid, placed.row_id).status == ListingStatus.PAUSED  # type: ignore[union-attr]
