"""From placement to payout, through the service layer only, against real parts: the Redis
engine, the journal consumer, SQLite and PostgreSQL, localstripe and an SMTP server.

Every scenario ends with the ledger check: the books balance to the cent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import redis
import stripe
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from sneakers_app.models import (
    Ask,
    Bid,
    Notification,
    Order,
    Payment,
    Payout,
    PortfolioItem,
    PriceAlert,
    ProductVariant,
    Trade,
    utcnow,
)
from sneakers_app.services import journal, ledger, market, notifications, orders, payments, saga
from sneakers_app.services import verification as vf
from sneakers_app.services.email import SmtpMailer
from sneakers_app.settings import Settings
from tests.integration.conftest import WebhookReceiver
from tests.integration.test_payments import (
    CARD_ALWAYS_3DS,
    CARD_DECLINED_ON_CHARGE,
    CARD_OK,
    browser_authenticate_payment,
    event_payload,
    save_card,
    sign,
)
from tests.support import factories
from tests.support.servers import RedisServer
from tests.support.smtp import SmtpServer, start_smtp
from trading.engine import RedisEngine
from trading.journal import JournalConsumer
from trading.orders import ExpireOrders

PRICE = 25_000
ALL_OK = vf.Checklist(box_ok=True, stitching_ok=True, materials_ok=True, tags_ok=True, size_ok=True)
BAD_STITCHING = vf.Checklist(
    box_ok=True, stitching_ok=False, materials_ok=True, tags_ok=True, size_ok=True
)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.stop()


@dataclass
class Market:
    """The marketplace's moving parts, wired to real servers for one test."""

    db: Engine
    engine: RedisEngine
    redis: redis.Redis
    stripe: stripe.StripeClient
    settings: Settings
    smtp: SmtpServer
    new_orders: list[int] = field(default_factory=list)
    emails: list[int] = field(default_factory=list)

    def session(self) -> Session:
        return Session(self.db, expire_on_commit=False)

    def drain(self, variant_id: int) -> int:
        """Run the journal consumer until the book's journal is fully applied."""
        consumer = JournalConsumer(self.redis, group="db", consumer="test")

        def after(applied: journal.Applied) -> None:
            self.new_orders.extend(applied.new_order_ids)
            self.emails.extend(applied.emails)

        handle = journal.handler(self.session, after)
        total = 0
        while True:
            handled = consumer.process([str(variant_id)], handle)
            total += handled
            if not handled:
                return total

    def buyer(self, card: str = CARD_OK) -> int:
        with self.session() as s:
            user_id = factories.user(s, "Buyer")
            factories.address(s, user_id)
            s.commit()
            save_card(s, self.stripe, self.settings, user_id, card)
        return user_id

    def seller(self) -> int:
        with self.session() as s:
            user_id = factories.user(s, "Seller")
            payments.save_payout_account(
                session=s,
                user_id=user_id,
                kind="manual",
                account_ref="IBAN GB33BUKB20201555555555",
                holder_name="Seller Name",
            )
            s.commit()
        return user_id

    def staff(self) -> int:
        with self.session() as s:
            user_id = factories.user(s, "Staff", staff=True)
            s.commit()
        return user_id

    def place(
        self,
        user_id: int,
        side: market.SideName,
        variant_id: int,
        price: int = PRICE,
        *,
        immediate: bool = False,
        key: str | None = None,
    ) -> market.Placed:
        with self.session() as s:
            return market.place(
                session=s,
                engine=self.engine,
                user_id=user_id,
                side=side,
                variant_id=variant_id,
                price_cents=price,
                client_key=key or uuid.uuid4().hex,
                immediate=immediate,
            )

    def step(self, fn, **kwargs) -> saga.StepResult:  # type: ignore[no-untyped-def]
        with self.session() as s:
            result: saga.StepResult = fn(session=s, **kwargs)
            s.commit()
        self.emails.extend(result.emails)
        return result

    def order(self, order_id: int) -> Order:
        with self.session() as s:
            found = s.get(Order, order_id)
            assert found is not None
            return found

    def matched_order(self, seller: int, buyer: int, variant_id: int) -> int:
        self.place(seller, "ask", variant_id)
        placed = self.place(buyer, "bid", variant_id, immediate=True)
        assert placed.status == "filled", placed
        self.drain(variant_id)
        assert len(self.new_orders) >= 1
        return self.new_orders[-1]

    def paid_order(self, seller: int, buyer: int, variant_id: int) -> int:
        order_id = self.matched_order(seller, buyer, variant_id)
        result = self.step(saga.charge, order_id=order_id, client=self.stripe)
        assert result.status == "awaiting_shipment"
        return order_id

    def to_authenticating(self, order_id: int, seller: int, staff: int) -> None:
        self.step(
            saga.mark_shipped, order_id=order_id, seller_id=seller, tracking="1Z999AA10123456784"
        )
        self.step(vf.receive, staff_id=staff, order_id=order_id)
        self.step(vf.start_inspection, staff_id=staff, order_id=order_id)

    def send_emails(self) -> int:
        mailer = SmtpMailer(self.smtp.url)
        sent = 0
        for notification_id in list(self.emails):
            with self.session() as s:
                sent += notifications.deliver_email(
                    session=s,
                    notification_id=notification_id,
                    mailer=mailer,
                    settings=self.settings,
                )
        return sent

    def books_balance(self) -> ledger.LedgerReport:
        with self.session() as s:
            report = ledger.check(session=s)
        assert report.ok, report.problems
        return report

    def statuses(self, order_id: int) -> list[str]:
        with self.session() as s:
            return [e.to_status for e in orders.events_for(session=s, order_id=order_id)]


@pytest.fixture
def mk(
    engine: Engine,
    redis_server: RedisServer,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
    smtp: SmtpServer,
) -> Iterator[Market]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    smtp.collector.clear()
    yield Market(
        db=engine,
        engine=RedisEngine(client),
        redis=client,
        stripe=stripe_client,
        settings=stripe_settings,
        smtp=smtp,
    )
    client.close()


@pytest.fixture
def variant(mk: Market) -> int:
    with mk.session() as s:
        variant_id = factories.variant(s)
        s.commit()
    return variant_id


def test_happy_path_from_match_to_payout(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    order = mk.order(order_id)
    assert order.ship_by is not None and order.ship_by > utcnow() + timedelta(days=1)
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456785")
    mk.step(vf.mark_delivered, staff_id=staff, order_id=order_id)
    mk.step(saga.complete, order_id=order_id)
    assert mk.statuses(order_id) == [
        "created",
        "paid",
        "awaiting_shipment",
        "shipped_to_verification",
        "received",
        "authenticating",
        "authenticated",
        "shipped_to_buyer",
        "delivered",
        "completed",
    ]
    with mk.session() as s:
        payout = s.exec(select(Payout).where(Payout.order_id == order_id)).one()
        completed = s.get(Order, order_id)
        assert completed is not None
        assert payout.amount_cents == completed.seller_payout_cents == PRICE - 2_250 - 750 - 500
        assert payout.status == "pending" and payout.method == "manual"
        charges = s.exec(select(Payment).where(Payment.order_id == order_id)).all()
        assert [(p.kind, p.status, p.amount_cents) for p in charges] == [
            ("charge", "succeeded", order.buyer_total_cents)
        ]
        saga.pay_out(session=s, payout_id=payout.id or 0, staff_id=staff, reference="TR-1001")
        s.commit()
        assert ledger.balance(session=s, account=ledger.seller_account(seller)) == 0
        assert ledger.balance(session=s, account=ledger.escrow(order_id)) == 0
        assert ledger.balance(session=s, account=ledger.FEES) == -(2_250 + 750 + 750)
        assert ledger.balance(session=s, account=ledger.SHIPPING) == -(500 + 1_495)
        kinds = set(s.exec(select(Notification.kind).where(Notification.user_id == seller)))
        assert {"ask_matched", "authenticated", "payout_sent"} <= kinds
        owned = s.exec(select(PortfolioItem).where(PortfolioItem.user_id == buyer)).all()
        assert [(i.source, i.purchase_price_cents, i.order_id) for i in owned] == [
            ("bought", PRICE, order_id)
        ]
    mk.books_balance()
    sent = mk.send_emails()
    assert sent >= 4
    assert mk.send_emails() == 0  # one event never sends two emails
    assert len(mk.smtp.messages) == sent


def test_declined_card_voids_the_trade_and_relists_the_ask(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer(CARD_DECLINED_ON_CHARGE)
    order_id = mk.matched_order(seller, buyer, variant)
    result = mk.step(saga.charge, order_id=order_id, client=mk.stripe)
    assert result.status == "payment_failed"
    assert result.relist_ask_id is not None
    with mk.session() as s:
        relisted = market.relist_ask(
            session=s, engine=mk.engine, ask_id=result.relist_ask_id, reason_key=f"order-{order_id}"
        )
        again = market.relist_ask(
            session=s, engine=mk.engine, ask_id=result.relist_ask_id, reason_key=f"order-{order_id}"
        )
    assert relisted is not None and relisted.status == "open"
    assert again is not None and again.replayed and again.row_id == relisted.row_id
    mk.drain(variant)
    with mk.session() as s:
        open_asks = s.exec(select(Ask).where(Ask.variant_id == variant, Ask.status == "open")).all()
        assert [a.price_cents for a in open_asks] == [PRICE]
        kinds = set(s.exec(select(Notification.kind).where(Notification.user_id == buyer)))
        assert "payment_failed" in kinds
    assert mk.statuses(order_id) == ["created", "payment_failed"]
    mk.books_balance()


def test_seller_who_does_not_ship_is_penalised_and_buyer_refunded(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    early = mk.step(saga.enforce_ship_by, order_id=order_id, client=mk.stripe)
    assert not early.changed
    ship_by = mk.order(order_id).ship_by
    assert ship_by is not None
    late = ship_by + timedelta(minutes=1)
    result = mk.step(saga.enforce_ship_by, order_id=order_id, now=late, client=mk.stripe)
    assert result.status == "seller_did_not_ship"
    again = mk.step(saga.enforce_ship_by, order_id=order_id, now=late, client=mk.stripe)
    assert not again.changed
    with mk.session() as s:
        order = s.get(Order, order_id)
        assert order is not None
        refunds = s.exec(
            select(Payment).where(Payment.order_id == order_id, Payment.kind == "refund")
        ).all()
        assert [(r.status, r.amount_cents) for r in refunds] == [
            ("succeeded", order.buyer_total_cents)
        ]
        assert order.penalty_cents == 3_750
        assert ledger.balance(session=s, account=ledger.seller_account(seller)) == 3_750
        assert ledger.balance(session=s, account=ledger.PENALTIES) == -3_750
    mk.books_balance()


def test_failed_inspection_is_final_when_the_appeal_window_closes(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, staff)
    with pytest.raises(orders.OrderError, match="every check"):
        mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=BAD_STITCHING, passed=True)
    with pytest.raises(orders.OrderError, match="why"):
        mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=BAD_STITCHING, passed=False)
    mk.step(
        vf.decide,
        staff_id=staff,
        order_id=order_id,
        checklist=BAD_STITCHING,
        passed=False,
        reason="Stitching does not match retail pairs",
    )
    deadline = mk.order(order_id).appeal_deadline
    assert deadline is not None
    assert not mk.step(saga.finalize_failure, order_id=order_id, client=mk.stripe).changed
    result = mk.step(
        saga.finalize_failure,
        order_id=order_id,
        client=mk.stripe,
        now=deadline + timedelta(seconds=1),
    )
    assert result.status == "returning_to_seller"
    with mk.session() as s, pytest.raises(orders.OrderError, match="Only a failed"):
        vf.appeal(session=s, seller_id=seller, order_id=order_id, reason="Please look again")
    mk.books_balance()


def test_appeal_upheld_by_a_second_inspector(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    first, second = mk.staff(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, first)
    mk.step(
        vf.decide,
        staff_id=first,
        order_id=order_id,
        checklist=BAD_STITCHING,
        passed=False,
        reason="Stitching",
    )
    with mk.session() as s, pytest.raises(orders.OrderError, match="Order not found"):
        vf.appeal(session=s, seller_id=buyer, order_id=order_id, reason="not mine")
    mk.step(vf.appeal, seller_id=seller, order_id=order_id, reason="These are retail pairs")
    with pytest.raises(orders.OrderError, match="different inspector"):
        mk.step(vf.decide, staff_id=first, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(
        vf.decide,
        staff_id=second,
        order_id=order_id,
        checklist=ALL_OK,
        passed=True,
        notes="Factory variance in stitching",
    )
    mk.step(vf.ship_to_buyer, staff_id=second, order_id=order_id, tracking="1Z999AA10123456786")
    mk.step(vf.mark_delivered, staff_id=second, order_id=order_id)
    assert mk.step(saga.complete, order_id=order_id).status == "completed"
    with mk.session() as s:
        inspections = vf.inspections_for(session=s, order_id=order_id)
        assert [(i.result, i.is_appeal, i.inspector_id) for i in inspections] == [
            ("fail", False, first),
            ("pass", True, second),
        ]
        assert s.get(Order, order_id).penalty_cents == 0  # type: ignore[union-attr]
    mk.books_balance()


def test_appeal_denied_is_final_at_once(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    first, second = mk.staff(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, first)
    mk.step(
        vf.decide,
        staff_id=first,
        order_id=order_id,
        checklist=BAD_STITCHING,
        passed=False,
        reason="Stitching",
    )
    mk.step(vf.appeal, seller_id=seller, order_id=order_id, reason="Look again please")
    mk.step(
        vf.decide,
        staff_id=second,
        order_id=order_id,
        checklist=BAD_STITCHING,
        passed=False,
        reason="Confirmed: replica stitching",
    )
    with mk.session() as s, pytest.raises(orders.OrderError, match="already appealed"):
        vf.appeal(session=s, seller_id=seller, order_id=order_id, reason="again")
    result = mk.step(saga.finalize_failure, order_id=order_id, client=mk.stripe)
    assert result.status == "returning_to_seller"
    with mk.session() as s:
        refund = s.exec(
            select(Payment).where(Payment.order_id == order_id, Payment.kind == "refund")
        ).one()
        assert refund.status == "succeeded"
    mk.books_balance()


def test_penalties_are_netted_against_the_next_payout(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    missed = mk.paid_order(seller, buyer, variant)
    ship_by = mk.order(missed).ship_by
    assert ship_by is not None
    mk.step(
        saga.enforce_ship_by, order_id=missed, now=ship_by + timedelta(minutes=1), client=mk.stripe
    )
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456787")
    mk.step(vf.mark_delivered, staff_id=staff, order_id=order_id)
    mk.step(saga.complete, order_id=order_id)
    with mk.session() as s:
        payout = s.exec(select(Payout).where(Payout.order_id == order_id)).one()
        order = s.get(Order, order_id)
        assert order is not None
        assert payout.amount_cents == order.seller_payout_cents - 3_750
    mk.books_balance()


def test_who_may_do_what(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    with mk.session() as s:
        with pytest.raises(orders.OrderError, match="staff only"):
            vf.receive(session=s, staff_id=buyer, order_id=order_id)
        with pytest.raises(orders.OrderError, match="Order not found"):
            saga.mark_shipped(
                session=s, order_id=order_id, seller_id=buyer, tracking="1Z999AA10123456784"
            )
        with pytest.raises(orders.OrderError, match="tracking number"):
            saga.mark_shipped(session=s, order_id=order_id, seller_id=seller, tracking="x'; --")
        with pytest.raises(orders.IllegalTransition):
            vf.ship_to_buyer(
                session=s, staff_id=mk.staff(), order_id=order_id, tracking="1Z999AA10123456784"
            )
        with pytest.raises(orders.OrderError, match="Order not found"):
            orders.order_for_party(session=s, order_id=order_id, user_id=mk.staff())
    assert mk.order(order_id).status == "awaiting_shipment"
    with mk.session() as s:
        saga.extend_ship_by(session=s, order_id=order_id, seller_id=seller)
        s.commit()
        with pytest.raises(orders.OrderError, match="already extended"):
            saga.extend_ship_by(session=s, order_id=order_id, seller_id=seller)


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (-100, "lowest price"),
        (0, "lowest price"),
        (99, "lowest price"),
        (10_000_001, "highest price"),
        ("250", "whole cents"),
        (2.5, "whole cents"),
        (True, "whole cents"),
        (500, "Asks start at"),
    ],
)
def test_bad_prices_change_nothing(mk: Market, variant: int, price: object, message: str) -> None:
    seller = mk.seller()
    with pytest.raises(market.MarketError, match=message):
        mk.place(seller, "ask", variant, price)  # type: ignore[arg-type]
    with mk.session() as s:
        assert s.exec(select(func.count()).select_from(Ask)).one() == 0


def test_bad_orders_are_refused(mk: Market, variant: int) -> None:
    seller, no_card = mk.seller(), mk.seller()
    with pytest.raises(market.MarketError, match="payment method"):
        mk.place(no_card, "bid", variant)
    with mk.session() as s:
        plain = factories.user(s, "Plain")
        s.commit()
    with pytest.raises(market.MarketError, match="payout details"):
        mk.place(plain, "ask", variant)
    with pytest.raises(market.MarketError, match="does not exist"):
        mk.place(seller, "ask", 987_654)
    with pytest.raises(market.MarketError, match="expired"):
        mk.place(seller, "ask", variant, key="bad key!")
    with mk.session() as s, pytest.raises(market.MarketError, match="expiry"):
        market.place(
            session=s,
            engine=mk.engine,
            user_id=seller,
            side="ask",
            variant_id=variant,
            price_cents=PRICE,
            client_key=uuid.uuid4().hex,
            expiry_days=2,
        )
    with mk.session() as s:
        assert s.exec(select(func.count()).select_from(Ask)).one() == 0
        assert s.exec(select(func.count()).select_from(Bid)).one() == 0


def test_double_submit_places_once_and_self_trade_never_matches(mk: Market, variant: int) -> None:
    trader = mk.buyer()
    with mk.session() as s:
        payments.save_payout_account(
            session=s,
            user_id=trader,
            kind="manual",
            account_ref="ACCT 12345678",
            holder_name="Trader",
        )
        s.commit()
    first = mk.place(trader, "ask", variant, key="double-submit-key-1")
    second = mk.place(trader, "ask", variant, key="double-submit-key-1")
    assert second.replayed and second.row_id == first.row_id
    with pytest.raises(market.MarketError, match="your own ask"):
        mk.place(trader, "bid", variant, immediate=True)
    with mk.session() as s:
        assert s.exec(select(func.count()).select_from(Bid)).one() == 0
    # Had it reached the engine anyway, the engine would not have traded it with the own ask.
    with mk.session() as s:
        row = Bid(
            user_id=trader,
            variant_id=variant,
            price_cents=PRICE,
            time_in_force="ioc",
            client_key=uuid.uuid4().hex,
        )
        s.add(row)
        s.commit()
        own = market.submit(session=s, engine=mk.engine, side="bid", row=row)
    assert own.status == "cancelled" and own.filled_quantity == 0
    mk.drain(variant)
    with mk.session() as s:
        assert s.exec(select(func.count()).select_from(Ask)).one() == 1
        assert s.exec(select(func.count()).select_from(Trade)).one() == 0


def test_outbid_notice_goes_to_the_previous_highest_bidder(mk: Market, variant: int) -> None:
    first, second = mk.buyer(), mk.buyer()
    low = mk.place(first, "bid", variant, 20_000)
    mk.drain(variant)
    mk.place(second, "bid", variant, 21_000)
    mk.drain(variant)
    mk.drain(variant)  # a replayed journal does not notify twice
    with mk.session() as s:
        notes = s.exec(select(Notification).where(Notification.kind == "outbid")).all()
        assert [(n.user_id, n.dedupe_key.split(":")[1]) for n in notes] == [
            (first, str(low.row_id))
        ]


def test_payment_completed_after_the_trade_was_voided_is_refunded(
    mk: Market, variant: int, webhook_receiver: WebhookReceiver
) -> None:
    seller, buyer = mk.seller(), mk.buyer(CARD_ALWAYS_3DS)
    order_id = mk.matched_order(seller, buyer, variant)
    assert mk.step(saga.charge, order_id=order_id, client=mk.stripe).status == "payment_failed"
    with mk.session() as s:
        intent_id = s.exec(select(Payment.stripe_id).where(Payment.order_id == order_id)).one()
    assert intent_id is not None
    secret = mk.stripe.v1.payment_intents.retrieve(intent_id).client_secret
    assert secret is not None
    response = browser_authenticate_payment(mk.settings, intent_id, secret, success=True)
    assert response.status_code == 200
    delivery = webhook_receiver.wait_for(
        lambda e: e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent_id
    )
    with mk.session() as s:
        outcome = payments.handle_webhook(
            session=s,
            payload=delivery.body,
            signature_header=delivery.signature,
            webhook_secret=mk.settings.STRIPE_WEBHOOK_SECRET,
        )
        s.commit()
    assert outcome.changed and outcome.order_id == order_id
    result = mk.step(saga.settle_late_payment, order_id=order_id, client=mk.stripe)
    assert result.changed and result.status == "payment_failed"
    assert not mk.step(saga.settle_late_payment, order_id=order_id, client=mk.stripe).changed
    with mk.session() as s:
        kinds = [
            (p.kind, p.status)
            for p in s.exec(
                select(Payment).where(Payment.order_id == order_id).order_by(col(Payment.id))
            )
        ]
        assert kinds == [("charge", "succeeded"), ("refund", "succeeded")]
    mk.books_balance()


def test_webhook_endpoint_verifies_signatures(
    mk: Market, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from starlette.testclient import TestClient

    from sneakers_app import api, db

    monkeypatch.setattr(db, "get_db_engine", lambda: mk.db)
    monkeypatch.setattr(payments.webhooks, "get_settings", lambda: mk.settings)
    client = TestClient(api.api_app)
    payload = event_payload(
        "payment_intent.succeeded", {"id": "pi_unknown", "object": "payment_intent"}
    )
    bad = client.post(
        "/api/stripe/webhook", content=payload, headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert bad.status_code == 400
    good_sig = sign(payload, mk.settings.STRIPE_WEBHOOK_SECRET)
    first = client.post(
        "/api/stripe/webhook", content=payload, headers={"Stripe-Signature": good_sig}
    )
    again = client.post(
        "/api/stripe/webhook", content=payload, headers={"Stripe-Signature": good_sig}
    )
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_watchers_hear_of_a_new_lowest_ask_at_their_target(mk: Market, variant: int) -> None:
    seller, watcher = mk.seller(), mk.buyer()
    with mk.session() as s:
        product_id = s.get(ProductVariant, variant).product_id  # type: ignore[union-attr]
        s.add(
            PriceAlert(
                user_id=watcher,
                product_id=product_id,
                variant_id=variant,
                target_price_cents=22_000,
            )
        )
        s.commit()
    mk.place(seller, "ask", variant, 23_000)
    mk.drain(variant)
    mk.place(seller, "ask", variant, 21_500)
    mk.drain(variant)
    with mk.session() as s:
        drops = s.exec(select(Notification).where(Notification.kind == "price_drop")).all()
        assert [n.user_id for n in drops] == [watcher]
        assert "$215" in drops[0].body or "$215" in drops[0].title


def test_bids_expire_in_the_engine_and_the_database_together(mk: Market, variant: int) -> None:
    buyer = mk.buyer()
    with mk.session() as s:
        placed = market.place(
            session=s,
            engine=mk.engine,
            user_id=buyer,
            side="bid",
            variant_id=variant,
            price_cents=20_000,
            client_key=uuid.uuid4().hex,
            expiry_days=1,
        )
    assert placed.status == "open"
    mk.drain(variant)
    later = int((utcnow() + timedelta(days=1, minutes=1)).timestamp() * 1000)
    outcome = RedisEngine(mk.redis, clock=lambda: later).expire(
        ExpireOrders(variant_id=str(variant))
    )
    assert getattr(outcome, "expired_quantity", 0) == 1
    mk.drain(variant)
    with mk.session() as s:
        bid = s.get(Bid, placed.row_id)
        assert bid is not None and bid.status == "expired"
        kinds = set(s.exec(select(Notification.kind).where(Notification.user_id == buyer)))
        assert "bid_placed" in kinds


class ConnectRecorder:
    """Stands in for Stripe's Connect transfers endpoint, which localstripe does not have:
    records each request exactly as sent and answers like Stripe does."""

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        from tests.support.servers import free_port

        self.requests: list[dict[str, object]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from urllib.parse import parse_qs

                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                recorder.requests.append(
                    {
                        "path": self.path,
                        "form": {k: v[0] for k, v in parse_qs(body).items()},
                        "idempotency_key": self.headers.get("Idempotency-Key"),
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                payload = json.dumps(
                    {"id": "tr_1Test", "object": "transfer", "amount": 1, "currency": "usd"}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_connect_payout_sends_exactly_one_transfer(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    with mk.session() as s:
        payments.save_payout_account(
            session=s,
            user_id=seller,
            kind="stripe_connect",
            account_ref="acct_1SellerTest",
            holder_name="Seller",
            password="a long enough password",  # changing saved details
        )
        s.commit()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456788")
    mk.step(vf.mark_delivered, staff_id=staff, order_id=order_id)
    mk.step(saga.complete, order_id=order_id)
    recorder = ConnectRecorder()
    try:
        connect = stripe.StripeClient(
            "sk_test_connect",
            stripe_version=payments.STRIPE_API_VERSION,
            base_addresses={"api": f"http://127.0.0.1:{recorder.port}"},
            max_network_retries=0,
        )
        with mk.session() as s:
            payout = s.exec(select(Payout).where(Payout.order_id == order_id)).one()
            assert payout.method == "stripe_connect"
            paid = saga.pay_out_connect(session=s, payout_id=payout.id or 0, client=connect)
            s.commit()
            again = saga.pay_out_connect(session=s, payout_id=payout.id or 0, client=connect)
            order = s.get(Order, order_id)
            assert order is not None
        assert paid.status == "paid" and paid.reference == "tr_1Test" and again.status == "paid"
        assert recorder.requests == [
            {
                "path": "/v1/transfers",
                "form": {
                    "amount": str(order.seller_payout_cents),
                    "currency": "usd",
                    "destination": "acct_1SellerTest",
                    "transfer_group": f"order-{order_id}",
                    "metadata[order_id]": str(order_id),
                    "metadata[idempotency_key]": f"payout:{payout.id}",
                },
                "idempotency_key": f"payout:{payout.id}",
                "authorization": "Bearer sk_test_connect",
            }
        ]
    finally:
        recorder.stop()
    mk.books_balance()
