"""Who may trade, and what refuses an order before it is placed (services/ticket.py), against
a real database."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session

from sneakers_app.models import Ask, Bid, User, utcnow
from sneakers_app.services import fees, market, payments, ticket
from tests.support import factories

IBAN = "GB33BUKB20201555555555"


def _with_card(session: Session, user_id: int) -> None:
    user = session.get(User, user_id)
    assert user is not None
    user.stripe_customer_id = "cus_test"
    user.default_payment_method_id = "pm_test"
    session.add(user)
    session.commit()


def _with_payout(session: Session, user_id: int) -> None:
    payments.save_payout_account(
        session=session, user_id=user_id, kind="manual", account_ref=IBAN, holder_name="Sam"
    )
    session.commit()


def test_buying_needs_a_card_and_selling_payout_details(session: Session) -> None:
    me = factories.user(session)
    session.commit()
    for kind in ("buy", "bid"):
        assert ticket.blocker(session=session, user_id=me, kind=kind) == ticket.NO_CARD
    for kind in ("sell", "ask"):
        assert ticket.blocker(session=session, user_id=me, kind=kind) == ticket.NO_PAYOUT
    _with_card(session, me)
    _with_payout(session, me)
    for kind in ("buy", "bid"):  # a card, and somewhere to ship the pair
        assert ticket.blocker(session=session, user_id=me, kind=kind) == ticket.NO_ADDRESS
    factories.address(session, me)
    session.commit()
    for kind in ticket.KINDS:
        assert ticket.blocker(session=session, user_id=me, kind=kind) == ""
    assert ticket.blocker(session=session, user_id=10**9, kind="bid") == ticket.NO_CARD


def test_opening_a_ticket(session: Session) -> None:
    me = factories.user(session)
    session.commit()
    _with_payout(session, me)
    ask = ticket.open_ticket(session=session, user_id=me, kind="ask")
    assert ask == ticket.Opening(
        blocker="",
        fee_level=fees.DEFAULT_SCHEDULE.levels[0].level,
        expiry_choices=ticket.expiry_choices("ask"),
        expiry_days=str(market.DEFAULT_EXPIRY_DAYS),
    )
    bid = ticket.open_ticket(session=session, user_id=me, kind="bid")
    assert bid.blocker == ticket.NO_CARD
    assert bid.expiry_choices == ticket.expiry_choices("bid")


def test_refusals_before_placing(session: Session) -> None:
    me = factories.user(session)
    variant = factories.variant(session)
    session.commit()
    _with_card(session, me)
    factories.address(session, me)
    _with_payout(session, me)

    def refusal(kind: str, price: int) -> ticket.Refusal | None:
        return ticket.refusal(
            session=session, user_id=me, kind=kind, variant_id=variant, price_cents=price
        )

    assert refusal("bid", 20_000) is None
    low = refusal("bid", market.MIN_PRICE_CENTS - 1)
    assert low is not None and low.field == "price"
    below_minimum_ask = refusal("ask", fees.minimum_ask_cents() - 100)
    assert below_minimum_ask is not None and below_minimum_ask.message.startswith("Asks start")

    later = utcnow() + timedelta(days=30)
    for table, price in ((Ask, 25_000), (Bid, 18_000)):
        session.add(
            table(
                user_id=me,
                variant_id=variant,
                price_cents=price,
                client_key=uuid.uuid4().hex,
                expires_at=later,
            )
        )
    session.commit()
    assert refusal("bid", 24_999) is None
    own_ask = refusal("bid", 26_000)
    assert own_ask is not None and own_ask.field == "price" and "$250.00" in own_ask.message
    own_bid = refusal("ask", 17_000)
    assert own_bid is not None and "$180.00" in own_bid.message
    assert refusal("buy", 26_000) is None  # the engine's best ask is someone else's
    own_best = refusal("buy", 25_000)
    assert own_best is not None and own_best.field == ""

    other = factories.user(session)
    session.commit()
    blocked = ticket.refusal(
        session=session, user_id=other, kind="bid", variant_id=variant, price_cents=20_000
    )
    assert blocked == ticket.Refusal(field="blocker", message=ticket.NO_CARD)
