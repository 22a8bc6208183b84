"""The Celery tasks themselves (run in-process, eagerly), configured like a deployment through
the environment: the test database, Redis, localstripe and a real SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app import consumer, db, redis_client, worker
from sneakers_app.models import Order, utcnow
from sneakers_app.services import journal, ledger, market, payments
from sneakers_app.settings import Settings, get_settings
from tests.integration.test_payments import CARD_OK, save_card
from tests.support import factories
from tests.support.servers import RedisServer
from tests.support.smtp import SmtpServer, start_smtp


@pytest.fixture
def deployed(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    redis_server: RedisServer,
    stripe_settings: Settings,
) -> Iterator[SmtpServer]:
    smtp = start_smtp()
    for name, value in {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "STRIPE_API_BASE": stripe_settings.STRIPE_API_BASE,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.STRIPE_WEBHOOK_SECRET,
        "SMTP_URL": smtp.url,
    }.items():
        monkeypatch.setenv(name, value)
    caches = (
        get_settings,
        db.get_db_engine,
        redis_client.get_redis,
        redis_client.get_matching_engine,
    )
    for cache in caches:
        cache.cache_clear()
    redis.Redis.from_url(redis_server.url).flushdb()
    worker.celery_app.conf.task_always_eager = True
    yield smtp
    worker.celery_app.conf.task_always_eager = False
    smtp.stop()
    for cache in caches:
        cache.cache_clear()


def test_tasks_charge_notify_by_email_and_enforce_deadlines(
    deployed: SmtpServer, stripe_settings: Settings
) -> None:
    engine = db.get_db_engine()
    with Session(engine, expire_on_commit=False) as s:
        buyer, seller = factories.user(s, "Buyer"), factories.user(s, "Seller")
        variant = factories.variant(s)
        payments.save_payout_account(
            session=s,
            user_id=seller,
            kind="manual",
            account_ref="ACCT 99887766",
            holder_name="Seller",
        )
        factories.address(s, buyer)
        s.commit()
        save_card(s, payments.make_client(), stripe_settings, buyer, CARD_OK)
        book = redis_client.get_matching_engine()
        market.place(
            session=s,
            engine=book,
            user_id=seller,
            side="ask",
            variant_id=variant,
            price_cents=30_000,
            client_key=uuid.uuid4().hex,
        )
        market.place(
            session=s,
            engine=book,
            user_id=buyer,
            side="bid",
            variant_id=variant,
            price_cents=30_000,
            client_key=uuid.uuid4().hex,
            immediate=True,
        )

    handle = journal.handler(lambda: Session(engine, expire_on_commit=False), consumer.after_commit)
    applied = consumer.make_consumer("tasks-test").process([str(variant)], handle)
    assert applied >= 2
    with Session(engine) as s:
        order = s.exec(select(Order)).one()
    # The consumer enqueued charge_order (eagerly run): the buyer is charged, both told by email.
    assert order.status == "awaiting_shipment"
    subjects = [m.message["Subject"] for m in deployed.wait_for(2)]
    assert any("sold" in s.lower() or "matched" in s.lower() for s in subjects), subjects

    # Nobody ships: the beat sweep refunds the buyer and penalises the seller.
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(Order, order.id)
        assert row is not None
        row.ship_by = utcnow() - timedelta(minutes=5)
        s.add(row)
        s.commit()
    counts = worker.sweep_orders()
    assert counts["ship_by"] == 1
    with Session(engine) as s:
        assert s.get(Order, order.id).status == "seller_did_not_ship"  # type: ignore[union-attr]
        assert ledger.check(session=s).ok
    # A second sweep finds nothing to do.
    assert worker.sweep_orders()["ship_by"] == 0
