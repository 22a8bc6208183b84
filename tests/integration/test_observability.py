"""What the metrics compute from real servers, in process: the facts of the database a scrape
reads (verification backlog, payouts due; SQLite and PostgreSQL) and the journal consumer's lag
read from a real redis-server. The running processes' endpoints: tests/e2e/test_observability.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from sneakers_app import health
from sneakers_app.consumer import GROUP, NOT_YET_READ, JournalLag
from sneakers_app.models import Payout, utcnow
from sneakers_app.services import operations, orders
from sneakers_app.vocabulary import OrderStatus
from tests.support import factories, servers
from trading.engine import RedisEngine
from trading.journal import JournalConsumer
from trading.orders import PlaceOrder, Side


def _order(session: Session, status: OrderStatus, waited: timedelta) -> int:
    buyer, seller = factories.user(session, "Buyer"), factories.user(session, "Seller")
    trade = factories.trade(session, buyer_id=buyer, seller_id=seller)
    order, _ = orders.create_from_trade(session=session, trade=trade)
    order.status = status
    order.updated_at = utcnow() - waited
    session.add(order)
    session.flush()
    assert order.id is not None
    return order.id


def test_the_backlog_and_payouts_due_are_counted_with_their_oldest(session: Session) -> None:
    assert operations.payouts_due(session) == operations.Waiting(0, 0.0, 0)
    _order(session, OrderStatus.RECEIVED, timedelta(hours=3))
    _order(session, OrderStatus.RECEIVED, timedelta(hours=1))
    _order(session, OrderStatus.AUTHENTICATING, timedelta(minutes=10))
    _order(session, OrderStatus.COMPLETED, timedelta(days=9))  # not waiting on anyone
    paid_for = _order(session, OrderStatus.COMPLETED, timedelta(days=2))
    seller = factories.user(session, "Seller")
    session.add(
        Payout(
            order_id=paid_for,
            seller_id=seller,
            amount_cents=21_500,
            method="manual",
            created_at=utcnow() - timedelta(days=2),
        )
    )
    session.commit()

    backlog = operations.verification_backlog(session)
    assert backlog[OrderStatus.RECEIVED].count == 2
    assert 3 * 3600 - 60 < backlog[OrderStatus.RECEIVED].oldest_seconds < 3 * 3600 + 60
    assert backlog[OrderStatus.AUTHENTICATING].count == 1
    assert backlog[OrderStatus.SHIPPED_TO_VERIFICATION] == operations.Waiting(0, 0.0)
    assert OrderStatus.COMPLETED not in backlog
    due = operations.payouts_due(session)
    assert (due.count, due.cents) == (1, 21_500)
    assert 2 * 86400 - 60 < due.oldest_seconds < 2 * 86400 + 60


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_the_journal_lag_per_consumer_and_not_yet_read(redis_server: servers.RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    book = str(time.time_ns() % 10**9)
    engine = RedisEngine(client)
    engine.open_book(book)
    first = JournalConsumer(client, group=GROUP, consumer="c1")
    first.ensure_group(book)
    lag = JournalLag(client, lambda: [book])
    assert lag.lag() == {NOT_YET_READ: (0, 0)}

    before_ms = time.time() * 1000 - 1
    far = int(time.time() * 1000) + 86_400_000
    for n in range(3):
        bid = {"order_id": f"b{n}", "price_cents": 10_000 + n * 100, "expires_at": far}
        engine.place(PlaceOrder(variant_id=book, user_id="u1", side=Side.BID, quantity=1, **bid))  # type: ignore[arg-type]
    assert lag.lag()[NOT_YET_READ][0] == 3

    taken = first.read([book], count=1)  # c1 holds one, unapplied
    assert len(taken) == 1
    found = lag.lag()
    assert found[NOT_YET_READ][0] == 2 and found["c1"][0] == 1
    assert found["c1"][1] >= before_ms

    samples = _samples(health.scrape(lag))
    entries = "sneakers_journal_lag_entries"
    assert samples[(entries, (("consumer", "c1"),))] == 1
    assert samples[(entries, (("consumer", NOT_YET_READ),))] == 2
    assert samples[("sneakers_journal_lag_seconds", (("consumer", "c1"),))] >= 0

    first.ack(taken)
    first.ack(first.read([book]))
    assert lag.lag() == {NOT_YET_READ: (0, 0)}
    samples = _samples(health.scrape(lag))
    assert samples[("sneakers_journal_lag_seconds", (("consumer", NOT_YET_READ),))] == 0
