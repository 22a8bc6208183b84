"""Payments against a real localstripe process, on SQLite and PostgreSQL.

Cards are entered the way the browser does it: localstripe's stripe.js confirms the SetupIntent
with the card details and the publishable key, straight to the Stripe API; our code only ever
sees the resulting ids. Test cards (localstripe's rules, the same as Stripe's test cards):
4242424242424242 works; 4000000000000341 attaches but every charge is declined;
4000002760003184 always asks for 3-D Secure; 4000000000000002 is declined when saved.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import stripe
from sqlmodel import Session, func, select

from sneakers_app.models import Order, Payment, PayoutAccount, StripeEvent, User
from sneakers_app.services import orders, payments
from sneakers_app.settings import LOCALSTRIPE_KEY, Settings
from tests.integration.conftest import WebhookReceiver
from tests.support import factories, servers
from tests.support.production import PRODUCTION_SETTINGS

CARD_OK = "4242424242424242"
CARD_DECLINED_ON_CHARGE = "4000000000000341"
CARD_ALWAYS_3DS = "4000002760003184"
CARD_DECLINED_ON_SETUP = "4000000000000002"


# --- the browser's side (what stripe.js sends), and Stripe's side of webhooks ----------------


def browser_confirm_setup(
    settings: Settings, intent: payments.SetupIntentSecret, number: str
) -> httpx.Response:
    """localstripe's `stripe.confirmCardSetup`: card data and publishable key to the API; when the
    bank asks for 3-D Secure the shopper completes it and the intent is confirmed again."""
    url = f"{settings.STRIPE_API_BASE}/v1/setup_intents/{intent.id}/confirm"
    auth = {
        "key": settings.STRIPE_PUBLISHABLE_KEY,
        "use_stripe_sdk": True,
        "client_secret": intent.client_secret,
    }
    card = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    response = httpx.post(url, json={**auth, "payment_method_data": {"type": "card", "card": card}})
    if response.status_code == 200 and response.json()["status"] == "requires_action":
        response = httpx.post(url, json=auth)
    return response


def browser_authenticate_payment(
    settings: Settings, payment_intent_id: str, client_secret: str, *, success: bool
) -> httpx.Response:
    """localstripe's `stripe.confirmCardPayment`: the buyer passes (or fails) 3-D Secure."""
    return httpx.post(
        f"{settings.STRIPE_API_BASE}/v1/payment_intents/{payment_intent_id}/_authenticate",
        params={"success": "true" if success else "false"},
        json={"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": client_secret},
    )


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_payload(event_type: str, obj: dict[str, Any]) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "api_version": payments.STRIPE_API_VERSION,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def stripe_get(settings: Settings, path: str) -> dict[str, Any]:
    response = httpx.get(
        f"{settings.STRIPE_API_BASE}{path}",
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def buyer(session: Session) -> int:
    user_id = factories.user(session, "Buyer")
    session.commit()
    return user_id


@pytest.fixture
def order(session: Session, buyer: int) -> Order:
    seller = factories.user(session, "Seller")
    trade = factories.trade(session, buyer_id=buyer, seller_id=seller, price_cents=21_000)
    created, _ = orders.create_from_trade(session=session, trade=trade)
    session.commit()
    return created


def save_card(
    session: Session,
    client: stripe.StripeClient,
    settings: Settings,
    user_id: int,
    number: str = CARD_OK,
) -> str:
    intent = payments.create_setup_intent(session=session, user_id=user_id, client=client)
    response = browser_confirm_setup(settings, intent, number)
    assert response.status_code == 200, response.text
    payments.complete_setup(
        session=session, user_id=user_id, setup_intent_id=intent.id, client=client
    )
    session.commit()
    payment_method: str = response.json()["payment_method"]
    return payment_method


def charge_order(
    session: Session,
    client: stripe.StripeClient,
    order: Order,
    *,
    key: str | None = None,
    amount_cents: int | None = None,
) -> payments.ChargeResult:
    buyer = session.get(User, order.buyer_id)
    assert buyer is not None and buyer.stripe_customer_id and buyer.default_payment_method_id
    result = payments.charge(
        session=session,
        order_id=order.id or 0,
        amount_cents=amount_cents or order.buyer_total_cents,
        customer_id=buyer.stripe_customer_id,
        payment_method_id=buyer.default_payment_method_id,
        idempotency_key=key or f"charge:{order.trade_id}",
        client=client,
    )
    session.commit()
    return result


def intents_of(client: stripe.StripeClient, customer_id: str) -> list[stripe.PaymentIntent]:
    listed = client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [intent for intent in listed if intent.customer == customer_id]


def rows(session: Session, order_id: int, kind: str) -> list[Payment]:
    return list(
        session.exec(select(Payment).where(Payment.order_id == order_id, Payment.kind == kind))
    )


def customer_of(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    assert user is not None and user.stripe_customer_id
    return user.stripe_customer_id


# --- stripe.js, customers and saved cards ---------------------------------------------------


def test_stripe_js_is_served_where_settings_point(stripe_settings: Settings) -> None:
    response = httpx.get(stripe_settings.STRIPE_JS_URL)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "confirmCardSetup" in response.text


def test_customer_is_created_once(
    session: Session, stripe_client: stripe.StripeClient, buyer: int
) -> None:
    first = payments.ensure_customer(session=session, user_id=buyer, client=stripe_client)
    session.commit()
    again = payments.ensure_customer(session=session, user_id=buyer, client=stripe_client)
    assert again == first and first.startswith("cus_")
    user = session.get(User, buyer)
    assert user is not None and user.stripe_customer_id == first
    found = stripe_client.v1.customers.list(params={"email": user.email}).data
    assert [c.id for c in found] == [first]
    assert found[0].metadata is not None and found[0].metadata["user_id"] == str(buyer)


def test_card_entered_in_browser_is_saved_as_default(
    session: Session, stripe_client: stripe.StripeClient, stripe_settings: Settings, buyer: int
) -> None:
    intent = payments.create_setup_intent(session=session, user_id=buyer, client=stripe_client)
    assert intent.id.startswith("seti_")
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    user = session.get(User, buyer)
    assert user is not None and not payments.has_payment_method(user)

    response = browser_confirm_setup(stripe_settings, intent, CARD_OK)
    assert response.status_code == 200 and response.json()["status"] == "succeeded"
    method_id = response.json()["payment_method"]
    summary = payments.complete_setup(
        session=session, user_id=buyer, setup_intent_id=intent.id, client=stripe_client
    )
    session.commit()

    (saved,) = payments.list_cards(session=session, user_id=buyer)
    assert saved.is_default and saved.payment_method_id == method_id
    assert summary == payments.CardSummary(brand="visa", last4="4242", card_id=saved.id or 0)
    session.refresh(user)
    assert (user.default_payment_method_id, user.card_brand, user.card_last4) == (
        method_id,
        "visa",
        "4242",
    )
    assert payments.has_payment_method(user)
    customer = stripe_client.v1.customers.retrieve(customer_of(session, buyer))
    assert customer.invoice_settings is not None
    assert customer.invoice_settings.default_payment_method == method_id
    assert stripe_client.v1.payment_methods.retrieve(method_id).customer == customer.id


def test_card_of_another_customer_is_refused(
    session: Session, stripe_client: stripe.StripeClient, stripe_settings: Settings, buyer: int
) -> None:
    other = factories.user(session, "Other")
    session.commit()
    intent = payments.create_setup_intent(session=session, user_id=buyer, client=stripe_client)
    response = browser_confirm_setup(stripe_settings, intent, CARD_OK)
    method_id = response.json()["payment_method"]
    payments.save_payment_method(
        session=session, user_id=buyer, payment_method_id=method_id, client=stripe_client
    )
    session.commit()

    with pytest.raises(payments.PaymentError, match="belongs to another account"):
        payments.save_payment_method(
            session=session, user_id=other, payment_method_id=method_id, client=stripe_client
        )
    with pytest.raises(payments.PaymentError, match="belongs to another account"):
        payments.complete_setup(
            session=session, user_id=other, setup_intent_id=intent.id, client=stripe_client
        )
    session.rollback()
    stranger = session.get(User, other)
    assert stranger is not None and stranger.default_payment_method_id is None
    assert stripe_client.v1.payment_methods.retrieve(method_id).customer == customer_of(
        session, buyer
    )


@pytest.mark.parametrize("bad_id", ["", "4242424242424242", "pm_", "pm_missing000000"])
def test_unknown_or_malformed_card_ids_are_refused(
    session: Session, stripe_client: stripe.StripeClient, buyer: int, bad_id: str
) -> None:
    with pytest.raises(payments.PaymentError):
        payments.save_payment_method(
            session=session, user_id=buyer, payment_method_id=bad_id, client=stripe_client
        )
    user = session.get(User, buyer)
    assert user is not None and user.default_payment_method_id is None


def test_card_declined_while_saving_is_not_saved(
    session: Session, stripe_client: stripe.StripeClient, stripe_settings: Settings, buyer: int
) -> None:
    intent = payments.create_setup_intent(session=session, user_id=buyer, client=stripe_client)
    response = browser_confirm_setup(stripe_settings, intent, CARD_DECLINED_ON_SETUP)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "card_declined"
    with pytest.raises(payments.PaymentError, match="not confirmed"):
        payments.complete_setup(
            session=session, user_id=buyer, setup_intent_id=intent.id, client=stripe_client
        )
    user = session.get(User, buyer)
    assert user is not None and not payments.has_payment_method(user)


# --- charges --------------------------------------------------------------------------------


def test_charge_succeeds_once_per_idempotency_key(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer)
    first = charge_order(session, stripe_client, order)
    again = charge_order(session, stripe_client, order)

    assert first.status == "succeeded" and first.failure_reason == ""
    assert first.payment_intent_id is not None and first.payment_intent_id.startswith("pi_")
    assert again == first
    [row] = rows(session, order.id or 0, "charge")
    assert (row.status, row.stripe_id, row.amount_cents) == (
        "succeeded",
        first.payment_intent_id,
        order.buyer_total_cents,
    )
    [intent] = intents_of(stripe_client, customer_of(session, buyer))
    assert intent.id == first.payment_intent_id
    assert (intent.amount, intent.currency, intent.status) == (
        order.buyer_total_cents,
        "usd",
        "succeeded",
    )
    assert intent.metadata["order_id"] == str(order.id)


def test_same_key_for_a_different_charge_is_refused(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer)
    charge_order(session, stripe_client, order)
    with pytest.raises(payments.PaymentError, match="already used"):
        charge_order(session, stripe_client, order, amount_cents=order.buyer_total_cents + 1)
    assert len(intents_of(stripe_client, customer_of(session, buyer))) == 1


@pytest.mark.parametrize("amount", [0, -100, True])
def test_charge_refuses_amounts_that_are_not_positive_cents(
    session: Session, stripe_client: stripe.StripeClient, order: Order, amount: int
) -> None:
    with pytest.raises(payments.PaymentError, match="positive number of cents"):
        payments.charge(
            session=session,
            order_id=order.id or 0,
            amount_cents=amount,
            customer_id="cus_x",
            payment_method_id="pm_x",
            idempotency_key="charge:bad-amount",
            client=stripe_client,
        )
    assert rows(session, order.id or 0, "charge") == []


def test_decline_is_a_failed_result_not_an_exception(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer, CARD_DECLINED_ON_CHARGE)
    result = charge_order(session, stripe_client, order)
    assert result.status == "failed"
    assert result.failure_reason == "Your card was declined."
    again = charge_order(session, stripe_client, order)
    assert again == result
    [row] = rows(session, order.id or 0, "charge")
    assert (row.status, row.failure_reason) == ("failed", "Your card was declined.")
    assert len(intents_of(stripe_client, customer_of(session, buyer))) == 1


def test_bank_asking_for_3d_secure_is_requires_action(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer, CARD_ALWAYS_3DS)
    result = charge_order(session, stripe_client, order)
    assert result.status == "requires_action"
    assert result.payment_intent_id is not None
    assert "confirm" in result.failure_reason
    intent = stripe_client.v1.payment_intents.retrieve(result.payment_intent_id)
    assert intent.status == "requires_action"
    [row] = rows(session, order.id or 0, "charge")
    assert (row.status, row.stripe_id) == ("requires_action", result.payment_intent_id)


def test_unreachable_stripe_raises_a_retryable_error_and_the_retry_charges_once(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer)
    nowhere = stripe_settings.model_copy(
        update={"STRIPE_API_BASE": f"http://127.0.0.1:{servers.free_port()}"}
    )
    offline = payments.make_client(nowhere, max_network_retries=0)
    with pytest.raises(payments.PaymentTemporarilyUnavailable):
        charge_order(session, offline, order)
    [row] = rows(session, order.id or 0, "charge")
    assert (row.status, row.stripe_id) == ("pending", None)

    retried = charge_order(session, stripe_client, order)
    assert retried.status == "succeeded"
    assert len(rows(session, order.id or 0, "charge")) == 1
    assert len(intents_of(stripe_client, customer_of(session, buyer))) == 1
    other = factories.user(session, "Late")
    session.commit()
    with pytest.raises(payments.PaymentTemporarilyUnavailable):
        payments.ensure_customer(session=session, user_id=other, client=offline)


def test_a_card_look_up_stripe_cannot_reach_is_retryable_not_a_missing_card(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
) -> None:
    """`PaymentTemporarilyUnavailable` is a `PaymentError`, yet a look-up that could not reach
    Stripe is not reported as a card or setup that does not exist."""
    method_id = save_card(session, stripe_client, stripe_settings, buyer)
    session.commit()
    nowhere = stripe_settings.model_copy(
        update={"STRIPE_API_BASE": f"http://127.0.0.1:{servers.free_port()}"}
    )
    offline = payments.make_client(nowhere, max_network_retries=0)
    assert issubclass(payments.PaymentTemporarilyUnavailable, payments.PaymentError)
    with pytest.raises(payments.PaymentTemporarilyUnavailable):
        payments.save_payment_method(
            session=session, user_id=buyer, payment_method_id=method_id, client=offline
        )
    with pytest.raises(payments.PaymentTemporarilyUnavailable):
        payments.complete_setup(
            session=session, user_id=buyer, setup_intent_id="seti_0000000000", client=offline
        )


# --- refunds --------------------------------------------------------------------------------


def test_refund_succeeds_once_per_idempotency_key(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer)
    charged = charge_order(session, stripe_client, order)
    assert charged.payment_intent_id is not None
    key = f"refund:{order.trade_id}"
    total = order.buyer_total_cents

    first = payments.refund(
        session=session,
        order_id=order.id or 0,
        amount_cents=total,
        idempotency_key=key,
        reason="Failed authentication",
        client=stripe_client,
    )
    session.commit()
    again = payments.refund(
        session=session,
        order_id=order.id or 0,
        amount_cents=total,
        idempotency_key=key,
        reason="Failed authentication",
        client=stripe_client,
    )
    assert (first.kind, first.status, first.amount_cents) == ("refund", "succeeded", total)
    assert first.stripe_id is not None and first.stripe_id.startswith("re_")
    assert again.id == first.id
    assert len(rows(session, order.id or 0, "refund")) == 1
    refunds = stripe_get(stripe_settings, f"/v1/refunds?payment_intent={charged.payment_intent_id}")
    assert [(r["id"], r["amount"]) for r in refunds["data"]] == [(first.stripe_id, total)]
    assert refunds["data"][0]["metadata"]["reason"] == "Failed authentication"

    with pytest.raises(payments.PaymentError, match="exceeds"):
        payments.refund(
            session=session,
            order_id=order.id or 0,
            amount_cents=1,
            idempotency_key=f"{key}:again",
            reason="twice",
            client=stripe_client,
        )


def test_partial_refunds_add_up_to_the_charge_at_most(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer)
    charge_order(session, stripe_client, order)
    total = order.buyer_total_cents
    for n, amount in enumerate((1_000, total - 1_000)):
        done = payments.refund(
            session=session,
            order_id=order.id or 0,
            amount_cents=amount,
            idempotency_key=f"refund:{order.trade_id}:{n}",
            reason="partial",
            client=stripe_client,
        )
        assert done.status == "succeeded"
    with pytest.raises(payments.PaymentError, match="exceeds"):
        payments.refund(
            session=session,
            order_id=order.id or 0,
            amount_cents=1,
            idempotency_key=f"refund:{order.trade_id}:2",
            reason="one cent too many",
            client=stripe_client,
        )


def test_refund_needs_a_successful_charge(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    def attempt() -> None:
        payments.refund(
            session=session,
            order_id=order.id or 0,
            amount_cents=100,
            idempotency_key=f"refund:{order.trade_id}",
            reason="nothing to refund",
            client=stripe_client,
        )

    with pytest.raises(payments.PaymentError, match="no successful charge"):
        attempt()
    save_card(session, stripe_client, stripe_settings, buyer, CARD_DECLINED_ON_CHARGE)
    assert charge_order(session, stripe_client, order).status == "failed"
    with pytest.raises(payments.PaymentError, match="no successful charge"):
        attempt()
    assert rows(session, order.id or 0, "refund") == []


# --- webhooks -------------------------------------------------------------------------------


def stored_events(session: Session) -> int:
    return session.exec(select(func.count()).select_from(StripeEvent)).one()


def test_3d_secure_completed_later_is_reconciled_from_localstripe_webhook(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    webhook_receiver: WebhookReceiver,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer, CARD_ALWAYS_3DS)
    result = charge_order(session, stripe_client, order)
    assert result.status == "requires_action" and result.payment_intent_id
    intent_id = result.payment_intent_id
    secret = stripe_client.v1.payment_intents.retrieve(intent_id).client_secret
    assert secret is not None
    response = browser_authenticate_payment(stripe_settings, intent_id, secret, success=True)
    assert response.status_code == 200 and response.json()["status"] == "succeeded"

    delivery = webhook_receiver.wait_for(
        lambda e: e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent_id
    )
    outcome = payments.handle_webhook(
        session=session,
        payload=delivery.body,
        signature_header=delivery.signature,
        webhook_secret=stripe_settings.STRIPE_WEBHOOK_SECRET,
    )
    session.commit()
    assert not outcome.duplicate
    assert (outcome.order_id, outcome.previous_status, outcome.payment_status) == (
        order.id,
        "requires_action",
        "succeeded",
    )
    assert outcome.changed
    [row] = rows(session, order.id or 0, "charge")
    assert (row.status, row.failure_reason) == ("succeeded", "")

    replay = payments.handle_webhook(
        session=session,
        payload=delivery.body,
        signature_header=delivery.signature,
        webhook_secret=stripe_settings.STRIPE_WEBHOOK_SECRET,
    )
    assert replay.duplicate and not replay.changed and "replay" in replay.detail
    assert stored_events(session) == 1


def test_decline_webhook_finds_the_charge_by_its_key(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    webhook_receiver: WebhookReceiver,
    buyer: int,
    order: Order,
) -> None:
    """localstripe's decline error names no PaymentIntent, so our row learns its id from the
    payment_failed webhook, matched by the idempotency key we put in the metadata."""
    save_card(session, stripe_client, stripe_settings, buyer, CARD_DECLINED_ON_CHARGE)
    key = f"charge:{order.trade_id}"
    assert charge_order(session, stripe_client, order, key=key).status == "failed"

    delivery = webhook_receiver.wait_for(
        lambda e: (
            e["type"] == "payment_intent.payment_failed"
            and e["data"]["object"]["metadata"].get("idempotency_key") == key
        )
    )
    outcome = payments.handle_webhook(
        session=session,
        payload=delivery.body,
        signature_header=delivery.signature,
        webhook_secret=stripe_settings.STRIPE_WEBHOOK_SECRET,
    )
    session.commit()
    [row] = rows(session, order.id or 0, "charge")
    assert outcome.payment_id == row.id and outcome.payment_status == "failed"
    assert row.stripe_id == delivery.event["data"]["object"]["id"]
    assert row.failure_reason == "Your card was declined."


def test_bad_signatures_are_refused_and_nothing_is_stored(
    session: Session, stripe_settings: Settings, order: Order
) -> None:
    secret = stripe_settings.STRIPE_WEBHOOK_SECRET
    payload = event_payload("payment_intent.succeeded", {"id": "pi_unknown", "metadata": {}})
    tampered = payload.replace(b"pi_unknown", b"pi_other00")
    forged = [
        (payload, sign(payload, "whsec_someone_else")),
        (tampered, sign(payload, secret)),
        (payload, sign(payload, secret, timestamp=int(time.time()) - 3600)),
        (payload, ""),
        (b"not json", sign(b"not json", secret)),
    ]
    for body, header in forged:
        with pytest.raises(payments.WebhookVerificationError):
            payments.handle_webhook(
                session=session, payload=body, signature_header=header, webhook_secret=secret
            )
    assert stored_events(session) == 0

    accepted = payments.handle_webhook(
        session=session, payload=payload, signature_header=sign(payload, secret),
        webhook_secret=secret,
    )  # fmt: skip
    assert not accepted.duplicate and accepted.payment_id is None
    assert stored_events(session) == 1


def test_replayed_event_changes_nothing(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    save_card(session, stripe_client, stripe_settings, buyer, CARD_ALWAYS_3DS)
    result = charge_order(session, stripe_client, order)
    assert result.status == "requires_action"
    secret = stripe_settings.STRIPE_WEBHOOK_SECRET
    failed = event_payload(
        "payment_intent.payment_failed",
        {
            "id": result.payment_intent_id,
            "object": "payment_intent",
            "status": "requires_payment_method",
            "metadata": {"idempotency_key": f"charge:{order.trade_id}"},
            "last_payment_error": {"message": "The buyer did not confirm the payment."},
        },
    )
    first = payments.handle_webhook(
        session=session, payload=failed, signature_header=sign(failed, secret),
        webhook_secret=secret,
    )  # fmt: skip
    session.commit()
    assert (first.previous_status, first.payment_status) == ("requires_action", "failed")
    [row] = rows(session, order.id or 0, "charge")
    assert row.failure_reason == "The buyer did not confirm the payment."

    row.status = "requires_action"  # moved on since (say, a new confirmation started)
    session.add(row)
    session.commit()
    replay = payments.handle_webhook(
        session=session, payload=failed, signature_header=sign(failed, secret),
        webhook_secret=secret,
    )  # fmt: skip
    session.commit()
    assert replay.duplicate and replay.payment_status is None
    session.refresh(row)
    assert row.status == "requires_action"
    assert stored_events(session) == 1


def test_charge_refunded_webhook_settles_a_pending_refund(
    session: Session,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    buyer: int,
    order: Order,
) -> None:
    """Real Stripe may answer a refund with "pending" and settle it later; localstripe always
    answers "succeeded", so the row is put back to pending to stand for that answer."""
    save_card(session, stripe_client, stripe_settings, buyer)
    charged = charge_order(session, stripe_client, order)
    refund = payments.refund(
        session=session,
        order_id=order.id or 0,
        amount_cents=order.buyer_total_cents,
        idempotency_key=f"refund:{order.trade_id}",
        reason="Seller did not ship",
        client=stripe_client,
    )
    intent = stripe_get(stripe_settings, f"/v1/payment_intents/{charged.payment_intent_id}")
    charge = stripe_get(stripe_settings, f"/v1/charges/{intent['latest_charge']['id']}")
    assert charge["refunded"] is True
    secret = stripe_settings.STRIPE_WEBHOOK_SECRET

    # With the refunds listed on the charge (older API versions), and without (newer ones).
    without_list = {k: v for k, v in charge.items() if k != "refunds"}
    for obj in (charge, without_list):
        refund.status = "pending"
        session.add(refund)
        session.commit()
        payload = event_payload("charge.refunded", obj)
        outcome = payments.handle_webhook(
            session=session, payload=payload, signature_header=sign(payload, secret),
            webhook_secret=secret,
        )  # fmt: skip
        session.commit()
        assert (outcome.payment_id, outcome.previous_status, outcome.payment_status) == (
            refund.id,
            "pending",
            "succeeded",
        )
        session.refresh(refund)
        assert refund.status == "succeeded"


# --- seller payout destination --------------------------------------------------------------


def test_payout_account_is_saved_and_replaced(session: Session, buyer: int) -> None:
    seller = factories.user(session, "Seller")
    assert payments.payout_account_for(session=session, user_id=seller) is None

    manual = payments.save_payout_account(
        session=session,
        user_id=seller,
        kind="manual",
        account_ref="  PayPal:\n  jane@example.com ",
        holder_name=" Jane   Doe ",
    )
    session.commit()
    assert (manual.kind, manual.account_ref, manual.holder_name) == (
        "manual",
        "PayPal: jane@example.com",
        "Jane Doe",
    )
    connect = payments.save_payout_account(
        session=session,
        user_id=seller,
        kind="stripe_connect",
        account_ref=" acct_1A2b3C4d ",
        holder_name="",
        password="a long enough password",  # replacing saved details needs it
    )
    session.commit()
    assert connect.id == manual.id
    found = payments.payout_account_for(session=session, user_id=seller)
    assert found is not None and (found.kind, found.account_ref) == (
        "stripe_connect",
        "acct_1A2b3C4d",
    )
    count = session.exec(
        select(func.count()).select_from(PayoutAccount).where(PayoutAccount.user_id == seller)
    ).one()
    assert count == 1
    assert payments.payout_account_for(session=session, user_id=buyer) is None


@pytest.mark.parametrize(
    ("kind", "account_ref", "holder_name"),
    [
        ("bank", "DE89370400440532013000", "Jane Doe"),
        ("stripe_connect", "acct_", ""),
        ("stripe_connect", "acct_12 34", ""),
        ("stripe_connect", "ba_1A2b3C", ""),
        ("stripe_connect", "acct_1A2b3C", "x" * 121),
        ("manual", "", "Jane Doe"),
        ("manual", "IBAN", "Jane Doe"),
        ("manual", "x" * 256, "Jane Doe"),
        ("manual", "IBAN DE89370400440532013000\x00", "Jane Doe"),
        ("manual", "IBAN DE89370400440532013000", ""),
        ("manual", "IBAN DE89370400440532013000", "J\x1b[31m"),
    ],
)
def test_payout_account_validation(
    session: Session, buyer: int, kind: str, account_ref: str, holder_name: str
) -> None:
    with pytest.raises(payments.PaymentError):
        payments.save_payout_account(
            session=session,
            user_id=buyer,
            kind=kind,
            account_ref=account_ref,
            holder_name=holder_name,
        )
    assert payments.payout_account_for(session=session, user_id=buyer) is None


def test_payout_kind_follows_the_stripe_backend(stripe_settings: Settings) -> None:
    assert stripe_settings.STRIPE_SECRET_KEY == LOCALSTRIPE_KEY
    assert payments.default_payout_kind(stripe_settings) == "manual"
    real = stripe_settings.model_copy(
        update={"STRIPE_SECRET_KEY": PRODUCTION_SETTINGS["STRIPE_SECRET_KEY"]}
    )
    assert payments.default_payout_kind(real) == "stripe_connect"
