"""Make the fault suite's market inside the stack's own environment: one product in a few sizes,
sellers with payout details, buyers with a card saved through localstripe the way the browser
saves one (setup intent, confirm, complete). Prints the ids as JSON."""

from __future__ import annotations

import json
import sys

import httpx
from sqlmodel import Session

from sneakers_app.db import session_scope
from sneakers_app.redis_client import get_matching_engine
from sneakers_app.services import books, payments
from sneakers_app.settings import get_settings
from tests.support import factories

SIZES = ("9", "10", "11")


CARD = "4242424242424242"
CARD_ALWAYS_3DS = "4000002760003184"


def _save_card(user_id: int, number: str = CARD) -> None:
    settings = get_settings()
    with session_scope() as session:
        intent = payments.create_setup_intent(session=session, user_id=user_id)
    # What stripe.js's confirmCardSetup sends; when the bank asks for 3-D Secure the shopper
    # completes it and the intent is confirmed again.
    url = f"{settings.STRIPE_API_BASE}/v1/setup_intents/{intent.id}/confirm"
    auth = {
        "key": settings.STRIPE_PUBLISHABLE_KEY,
        "use_stripe_sdk": True,
        "client_secret": intent.client_secret,
    }
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    body = {**auth, "payment_method_data": {"type": "card", "card": card}}
    response = httpx.post(url, json=body, timeout=10)
    if response.status_code == 200 and response.json()["status"] == "requires_action":
        response = httpx.post(url, json=auth, timeout=10)
    response.raise_for_status()
    with session_scope() as session:
        payments.complete_setup(session=session, user_id=user_id, setup_intent_id=intent.id)


def sellers_and_buyers(session: Session, sellers: int, buyers: int) -> tuple[list[int], list[int]]:
    """New sellers with payout details and new buyers (their cards are saved by `_save_card`),
    everyone with an address: a bid ships somewhere, as the trade dialog requires."""
    seller_ids = [factories.user(session, "Seller") for _ in range(sellers)]
    buyer_ids = [factories.user(session, "Buyer") for _ in range(buyers)]
    for user_id in (*seller_ids, *buyer_ids):
        factories.address(session, user_id)
    for seller_id in seller_ids:
        payments.save_payout_account(
            session=session,
            user_id=seller_id,
            kind="manual",
            account_ref="Test bank 000123456789",
            holder_name="Test Seller",
        )
    return seller_ids, buyer_ids


def main() -> int:
    sellers, buyers = int(sys.argv[1]), int(sys.argv[2])
    with session_scope() as session:
        first = factories.variant(session, SIZES[0])
        from sneakers_app.models import ProductVariant

        product_id = session.get(ProductVariant, first).product_id  # type: ignore[union-attr]
        variants = [first]
        for order, size in enumerate(SIZES[1:], start=1):
            v = ProductVariant(product_id=product_id, size=size, sort_order=order)
            session.add(v)
            session.flush()
            assert v.id is not None
            variants.append(v.id)
        seller_ids, buyer_ids = sellers_and_buyers(session, sellers, buyers)
        # A buyer whose bank asks for 3-D Secure on every payment: off-session charges wait
        # for the buyer, and a late success reaches us by webhook.
        sca_buyer = factories.user(session, "Buyer")
        factories.address(session, sca_buyer)
    for buyer_id in buyer_ids:
        _save_card(buyer_id)
    _save_card(sca_buyer, CARD_ALWAYS_3DS)
    with session_scope() as session:
        books.open_all(session=session, engine=get_matching_engine())
    print(
        json.dumps(
            {
                "sellers": seller_ids,
                "buyers": buyer_ids,
                "sca_buyer": sca_buyer,
                "variants": variants,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
