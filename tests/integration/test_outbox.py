"""Work that follows a commit survives a broker that is down: the Stripe webhook and the journal
consumer answer, their follow-ups wait in the outbox, and once the broker is back a sweep hands
them to a real Celery worker that runs each once in effect. Tasks the broker lost are re-found
from the database by `sweep_orders`.

The broker is its own redis-server (the books stay on the shared one), stopped and started on
one port; the worker is a real `celery worker` process on the test database.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import stripe
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from sneakers_app import consumer, db, health, redis_client, worker
from sneakers_app.models import Ask, Notification, Order, Payment, Payout, utcnow
from sneakers_app.services import journal, ledger, market, payments
from sneakers_app.settings import Settings, get_settings
from tests.integration.conftest import WebhookReceiver
from tests.integration.test_payments import (
    CARD_ALWAYS_3DS,
    CARD_DECLINED_ON_CHARGE,
    CARD_OK,
    browser_authenticate_payment,
    save_card,
)
from tests.support import factories, servers
from tests.support.servers import RedisServer
from tests.support.smtp import SmtpServer, start_smtp
from trading.engine import RedisEngine
from trading.keys import book_keys

PRICE = 25_000


@dataclass
class Stack:
    db: Engine
    books: RedisEngine
    book_redis: redis.Redis
    stripe: stripe.StripeClient
    settings: Settings
    smtp: SmtpServer
    env: dict[str, str]
    work: Path
    broker_port: int
    books_url: str
    broker: RedisServer | None = None
    workers: list[Any] = field(default_factory=list)

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.broker_port}/0"

    def session(self) -> Session:
        return Session(self.db, expire_on_commit=False)

    # --- the broker and the worker ---------------------------------------------------------

    def broker_down(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def broker_up(self) -> None:
        """A new, empty redis-server on the broker's port (what a restart without AOF gives)."""
        self.broker_down()
        self.broker = servers.start_redis(port=self.broker_port)

    def queued(self) -> list[tuple[str, list[Any]]]:
        """The tasks waiting in the broker's queue, exactly as published: (name, args)."""
        client = redis.Redis.from_url(self.broker_url)
        try:
            raw = [
                item
                for key in health.CELERY_QUEUE_KEYS
                for item in cast(list[bytes], client.lrange(key, 0, -1))
            ]
        finally:
            client.close()
        out = []
        for item in raw:
            message = json.loads(item)
            body = json.loads(base64.b64decode(message["body"]))
            out.append((message["headers"]["task"], list(body[0])))
        return sorted(out, key=lambda m: (m[0], str(m[1])))

    def start_worker(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", "sneakers_app.worker", "worker"]
        args = ["--pool=solo", "--loglevel=info", "--without-mingle", "--without-gossip"]
        log = self.work / f"celery-{len(self.workers)}.log"
        self.workers.append((servers.spawn([*command, *args], self.env, log), log))

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        logs = "\n".join(log.read_text(errors="replace")[-3000:] for _, log in self.workers)
        raise AssertionError(f"not done within {timeout}s: {what}\n{logs}")

    # --- the marketplace -------------------------------------------------------------------

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

    def variant(self) -> int:
        with self.session() as s:
            variant_id = factories.variant(s)
            s.commit()
        return variant_id

    def place(self, user_id: int, side: market.SideName, variant_id: int, **kw: Any) -> None:
        with self.session() as s:
            market.place(
                session=s,
                engine=self.books,
                user_id=user_id,
                side=side,
                variant_id=variant_id,
                price_cents=PRICE,
                client_key=uuid.uuid4().hex,
                **kw,
            )

    def consume(self, variant_id: int) -> int:
        """The journal consumer as the app runs it: its handler and its after_commit."""
        handle = journal.handler(self.session, consumer.after_commit)
        reader = consumer.make_consumer("outbox-test")
        total = 0
        while handled := reader.process([str(variant_id)], handle):
            total += handled
        return total

    def match(self, seller: int, buyer: int, variant_id: int) -> int:
        self.place(seller, "ask", variant_id)
        self.place(buyer, "bid", variant_id, immediate=True)
        assert self.consume(variant_id) >= 2
        with self.session() as s:
            order = s.exec(select(Order).where(Order.buyer_id == buyer)).one()
        assert order.id is not None
        return order.id

    def payments_of(self, order_id: int) -> list[tuple[str, str]]:
        with self.session() as s:
            rows = s.exec(
                select(Payment).where(Payment.order_id == order_id).order_by(col(Payment.id))
            )
            return [(p.kind, p.status) for p in rows]

    def books_balance(self) -> None:
        with self.session() as s:
            report = ledger.check(session=s)
        assert report.ok, report.problems


@pytest.fixture
def stack(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    redis_server: RedisServer,
    stripe_client: stripe.StripeClient,
    stripe_settings: Settings,
) -> Iterator[Stack]:
    smtp = start_smtp()
    broker_port = servers.free_port()
    settings_env = {
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": stripe_settings.STRIPE_API_BASE,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.STRIPE_WEBHOOK_SECRET,
        "SMTP_URL": smtp.url,
        "ENVIRONMENT": "test",
    }
    # This process: the books on the shared Redis; the worker: REDIS_URL is its broker.
    for name, value in {**settings_env, "REDIS_URL": redis_server.url}.items():
        monkeypatch.setenv(name, value)
    caches = (
        get_settings,
        db.get_db_engine,
        redis_client.get_redis,
        redis_client.get_matching_engine,
    )
    for cache in caches:
        cache.cache_clear()
    book_redis = redis.Redis.from_url(redis_server.url)
    book_redis.flushdb()
    app = worker.celery_app
    previous_broker = app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{broker_port}/0"
    app._after_fork()  # drop connections to the previous broker
    env = {**os.environ, **settings_env, "REDIS_URL": app.conf.broker_url}
    built = Stack(
        db=engine,
        books=RedisEngine(book_redis),
        book_redis=book_redis,
        stripe=stripe_client,
        settings=stripe_settings,
        smtp=smtp,
        env=env,
        work=tmp_path,
        broker_port=broker_port,
        books_url=redis_server.url,
    )
    built.broker_up()
    try:
        yield built
    finally:
        for process, _log in built.workers:
            servers.stop(process)
        built.broker_down()
        app.conf.broker_url = previous_broker
        app._after_fork()
        smtp.stop()
        book_redis.close()
        for cache in caches:
            cache.cache_clear()


def test_webhook_answers_with_the_broker_down_and_the_late_payment_is_refunded_once(
    stack: Stack, webhook_receiver: WebhookReceiver
) -> None:
    from starlette.testclient import TestClient

    from sneakers_app import api

    seller, buyer = stack.seller(), stack.buyer(CARD_ALWAYS_3DS)
    order_id = stack.match(seller, buyer, stack.variant())
    assert worker.charge_order(order_id) == "payment_failed"  # the bank wants 3-D Secure
    with stack.session() as s:
        intent_id = s.exec(select(Payment.stripe_id).where(Payment.order_id == order_id)).one()
    assert intent_id is not None
    secret = stack.stripe.v1.payment_intents.retrieve(intent_id).client_secret
    assert secret is not None
    # The buyer completes 3-D Secure after the sale was voided; Stripe tells us by webhook.
    assert browser_authenticate_payment(stack.settings, intent_id, secret, success=True).is_success
    delivery = webhook_receiver.wait_for(
        lambda e: e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent_id
    )

    stack.broker_down()
    client = TestClient(api.api_app, raise_server_exceptions=False)
    headers = {"Stripe-Signature": delivery.signature}
    first = client.post("/api/stripe/webhook", content=delivery.body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    retry = client.post("/api/stripe/webhook", content=delivery.body, headers=headers)
    assert retry.status_code == 200 and retry.json()["duplicate"] is True

    from sneakers_app.models import OutboxMessage
    from sneakers_app.services import outbox

    with stack.session() as s:
        waiting = outbox.pending(s, tasks=["sneakers.settle_payment"])
    assert [(p.task, p.args) for p in waiting] == [("sneakers.settle_payment", [order_id])]
    assert waiting[0].last_error.startswith("broker unavailable")
    assert stack.payments_of(order_id) == [("charge", "succeeded")]

    # The broker comes back: the beat's sweep hands every waiting row to a real worker.
    stack.broker_up()
    stack.start_worker()
    delivered = worker.deliver_outbox()
    assert delivered >= 1
    stack.wait_until(
        "the late payment refunded",
        lambda: ("refund", "succeeded") in stack.payments_of(order_id),
    )

    def all_sent() -> bool:
        worker.deliver_outbox()  # the refund's email, unless the worker's fast path took it
        with stack.session() as s:
            return outbox.count_pending(s) == 0

    stack.wait_until("every follow-up handed to the broker", all_sent)
    with stack.session() as s:
        settle = s.exec(
            select(OutboxMessage).where(OutboxMessage.task == "sneakers.settle_payment")
        ).one()
    # Tried once while the broker was down, published once after it came back.
    assert (settle.attempts, settle.last_error) == (2, "") and settle.delivered_at is not None
    assert stack.payments_of(order_id) == [("charge", "succeeded"), ("refund", "succeeded")]
    stack.books_balance()


def test_a_match_with_the_broker_down_is_charged_and_emailed_once_the_broker_returns(
    stack: Stack,
) -> None:
    seller, buyer = stack.seller(), stack.buyer()
    variant_id = stack.variant()
    stack.broker_down()
    # The consumer applies the fills, commits, cannot reach the broker, and goes on.
    order_id = stack.match(seller, buyer, variant_id)
    journal_stream = book_keys(str(variant_id)).journal
    pending = cast(dict[str, Any], stack.book_redis.xpending(journal_stream, "db"))
    assert pending["pending"] == 0
    assert stack.payments_of(order_id) == []

    from sneakers_app import outbox_relay
    from sneakers_app.services import outbox

    with stack.session() as s:
        waiting = {p.task for p in outbox.pending(s)}
    assert "sneakers.charge_order" in waiting
    assert "sneakers.send_notification_email" in waiting
    assert outbox_relay.sweep().broker_down  # the consumer's sweeper: rows wait, none lost

    stack.broker_up()
    stack.start_worker()
    assert outbox_relay.sweep().published >= 2

    def settled() -> bool:
        with stack.session() as s:
            order = s.get(Order, order_id)
            unsent = s.exec(
                select(func.count())
                .select_from(Notification)
                .where(Notification.emailed_at == None)  # noqa: E711
            ).one()
        return order is not None and order.status == "awaiting_shipment" and unsent == 0

    stack.wait_until("the order charged and every email sent", settled)
    assert outbox_relay.sweep().published == 0
    assert stack.payments_of(order_id) == [("charge", "succeeded")]
    with stack.session() as s:
        emailed = s.exec(select(func.count()).select_from(Notification)).one()
    message_ids = [m.message["Message-ID"] for m in stack.smtp.messages]
    assert len(message_ids) == emailed >= 2  # matched (buyer and seller), ask placed
    assert len(set(message_ids)) == len(message_ids)
    stack.books_balance()


def test_sweep_orders_requeues_what_the_broker_lost(
    stack: Stack, webhook_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient

    from sneakers_app import api

    seller, buyer = stack.seller(), stack.buyer(CARD_ALWAYS_3DS)
    order_id = stack.match(seller, buyer, stack.variant())
    assert worker.charge_order(order_id) == "payment_failed"
    with stack.session() as s:
        intent_id = s.exec(select(Payment.stripe_id).where(Payment.order_id == order_id)).one()
        payout = Payout(
            order_id=order_id,
            seller_id=seller,
            amount_cents=10_000,
            method="stripe_connect",
            created_at=utcnow() - timedelta(hours=2),
        )
        s.add(payout)
        s.commit()
        payout_id = payout.id
    assert intent_id is not None
    secret = stack.stripe.v1.payment_intents.retrieve(intent_id).client_secret
    assert secret is not None
    assert browser_authenticate_payment(stack.settings, intent_id, secret, success=True).is_success
    delivery = webhook_receiver.wait_for(
        lambda e: e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent_id
    )
    client = TestClient(api.api_app, raise_server_exceptions=False)
    answer = client.post(
        "/api/stripe/webhook",
        content=delivery.body,
        headers={"Stripe-Signature": delivery.signature},
    )
    assert answer.status_code == 200
    assert ("sneakers.settle_payment", [order_id]) in stack.queued()
    # The broker restarts without its data before any worker took the tasks.
    stack.broker_up()
    assert stack.queued() == []
    # Time passes: the tasks had all the time they could need to run.
    monkeypatch.setattr(worker, "STUCK_AFTER", timedelta(0))
    for name in ("EMAIL_LOST_AFTER", "PAYOUT_LOST_AFTER", "SETTLE_LOST_AFTER"):
        monkeypatch.setattr(worker, name, timedelta(0), raising=False)
    with stack.session() as s:
        unsent = s.exec(
            select(Notification.id).where(
                Notification.emailed_at == None,  # noqa: E711
                Notification.user_id == buyer,
                Notification.kind == "payment_failed",
            )
        ).all()
    assert len(unsent) == 1

    worker.sweep_orders()
    queued = stack.queued()
    assert ("sneakers.settle_payment", [order_id]) in queued
    assert ("sneakers.send_payout", [payout_id]) in queued
    assert ("sneakers.send_notification_email", [unsent[0]]) in queued
    assert all(task != "sneakers.charge_order" for task, _ in queued)  # no longer "created"
    # What was just queued is not queued again by the next sweep while it may be running.
    monkeypatch.setattr(worker, "EMAIL_LOST_AFTER", timedelta(minutes=15))
    monkeypatch.setattr(worker, "PAYOUT_LOST_AFTER", timedelta(hours=1))
    monkeypatch.setattr(worker, "SETTLE_LOST_AFTER", timedelta(minutes=5))
    worker.sweep_orders()
    assert stack.queued() == queued


def test_outbox_rows_leave_after_their_commit_once_and_wait_for_the_broker(stack: Stack) -> None:
    from sneakers_app import outbox_relay
    from sneakers_app.db import session_scope
    from sneakers_app.services import outbox

    with pytest.raises(RuntimeError), session_scope() as s:
        outbox.add(s, "sneakers.complete_order", 1, key="complete_order:1")
        raise RuntimeError("the business step failed: its follow-up goes with it")
    with session_scope() as s:
        outbox.add(s, "sneakers.complete_order", 7, key="complete_order:7")
        outbox.add(s, "sneakers.complete_order", 7, key="complete_order:7")  # absorbed
        outbox.add(s, "sneakers.no_such_task", 1, key="bogus")
    done = outbox_relay.delivered(s)
    assert (done.published, done.failed, done.broker_down) == (1, 1, False)
    assert stack.queued() == [("sneakers.complete_order", [7])]
    with stack.session() as s:
        [bogus] = outbox.pending(s)
    assert bogus.key == "bogus" and "no task named" in bogus.last_error
    assert outbox_relay.sweep().published == 0  # the bad row backs off; nothing else is due

    # Asked for again after it was delivered: it goes again, through a broker outage.
    stack.broker_down()
    with session_scope() as s:
        outbox.add(s, "sneakers.complete_order", 7, key="complete_order:7")
    assert outbox_relay.delivered(s).broker_down
    stack.broker_up()
    assert outbox_relay.sweep().published == 1
    assert stack.queued() == [("sneakers.complete_order", [7])]

    with session_scope() as s:
        assert outbox.purge(s, keep=timedelta(0)) == 1  # the delivered row; the bad one stays
    with stack.session() as s:
        assert [p.key for p in outbox.pending(s)] == ["bogus"]


def test_sweep_orders_relists_the_ask_of_a_declined_order_that_was_not_relisted(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sneakers_app.db import session_scope
    from sneakers_app.services import saga

    seller, buyer = stack.seller(), stack.buyer(CARD_DECLINED_ON_CHARGE)
    order_id = stack.match(seller, buyer, stack.variant())
    # The worker dies right after committing the declined charge (the step the task runs, in
    # the task's transaction), and the broker restarts without what it held.
    with session_scope() as s:
        assert saga.charge(session=s, order_id=order_id).status == "payment_failed"
    stack.broker_up()
    monkeypatch.setattr(worker, "RELIST_LOST_AFTER", timedelta(0), raising=False)
    worker.sweep_orders()
    with stack.session() as s:
        ask_id = s.exec(select(Order.ask_id).where(Order.id == order_id)).one()
    assert ask_id is not None
    assert ("sneakers.relist_ask", [ask_id, order_id]) in stack.queued()

    assert worker.relist_ask(ask_id, order_id)  # the task the worker runs
    with stack.session() as s:
        relisted = s.exec(select(Ask).where(Ask.client_key == f"relist-order-{order_id}")).one()
    assert relisted.status == "open" and relisted.price_cents == PRICE
    assert worker.sweep_orders()["relist"] == 0


def test_the_consumer_process_sweeper_sends_what_waited_once_the_broker_returns(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from sneakers_app import outbox_relay
    from sneakers_app.db import session_scope
    from sneakers_app.services import outbox

    monkeypatch.setenv("OUTBOX_SWEEP_SECONDS", "0.5")
    get_settings.cache_clear()
    stack.broker_down()
    with session_scope() as s:
        outbox.add(s, "sneakers.complete_order", 9, key="complete_order:9")
    assert outbox_relay.delivered(s).broker_down
    stop = threading.Event()
    sweeper = outbox_relay.start_sweeper(stop)  # what `consume-journal` runs beside its loop
    try:
        stack.broker_up()

        def sent() -> bool:
            with stack.session() as s:
                return outbox.count_pending(s) == 0

        stack.wait_until("the waiting row handed to the broker", sent, timeout=30)
    finally:
        stop.set()
        sweeper.join(timeout=10)
    assert stack.queued() == [("sneakers.complete_order", [9])]
