"""The journal consumer process, killed with SIGKILL in the middle of its work and restarted:
nothing is lost and nothing is applied twice. It applies a read's entries in transactions of
JOURNAL_BATCH entries: small here, so a kill lands between batches as well as inside one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any, cast

import redis
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from sneakers_app.models import Ask, Bid, Order, Sale, Trade, utcnow
from sneakers_app.services import market
from sneakers_app.settings import PROJECT_ROOT
from tests.support import factories
from tests.support.servers import RedisServer
from trading.engine import RedisEngine
from trading.events import Trade as TradeEvent
from trading.journal import read_journal

PAIRS = 40
KILLS = 3


def _count(db: Engine, model: type) -> int:
    with Session(db) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _start(database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ENVIRONMENT="test",
        JOURNAL_BATCH="4",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "sneakers_app", "consume-journal"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_consumer_killed_mid_batch_loses_and_duplicates_nothing(
    engine: Engine, database_url: str, redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    book = RedisEngine(client)
    expires = utcnow() + timedelta(days=7)
    with Session(engine, expire_on_commit=False) as s:
        buyer, seller = factories.user(s, "Buyer"), factories.user(s, "Seller")
        variant = factories.variant(s)
        asks = [
            Ask(
                user_id=seller,
                variant_id=variant,
                price_cents=20_000 + 100 * i,
                client_key=uuid.uuid4().hex,
                expires_at=expires,
            )
            for i in range(PAIRS)
        ]
        bids = [
            Bid(
                user_id=buyer,
                variant_id=variant,
                price_cents=30_000,
                client_key=uuid.uuid4().hex,
                expires_at=expires,
            )
            for _ in range(PAIRS)
        ]
        s.add_all([*asks, *bids])
        s.commit()
        for row in asks:
            market.submit(session=s, engine=book, side="ask", row=row)
        for bid_row in bids:
            market.submit(session=s, engine=book, side="bid", row=bid_row)
    fills = [
        e
        for entry in read_journal(client, str(variant))
        for e in entry.events
        if isinstance(e, TradeEvent)
    ]
    assert len(fills) == PAIRS

    kills = 0
    for _ in range(KILLS):
        process = _start(database_url, redis_server.url)
        before = _count(engine, Trade)
        deadline = time.monotonic() + 60
        # Kill it as soon as it made progress: mid-batch, with entries still unacknowledged.
        while _count(engine, Trade) == before and time.monotonic() < deadline:
            time.sleep(0.005)
        if _count(engine, Trade) < PAIRS:
            process.send_signal(signal.SIGKILL)
            kills += 1
        else:
            process.terminate()
        process.wait(timeout=30)
    # A clean run finishes the work, starting with what the killed runs left unacknowledged.
    process = _start(database_url, redis_server.url)
    deadline = time.monotonic() + 60
    while _count(engine, Trade) < PAIRS and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    process.terminate()
    process.wait(timeout=30)
    pending = cast(dict[str, Any], client.xpending(f"{{book:{variant}}}:journal", "db"))
    assert int(pending["pending"]) == 0

    assert kills >= 1, "the consumer finished before it could be killed; the test proved nothing"
    assert _count(engine, Trade) == PAIRS
    assert _count(engine, Order) == PAIRS
    assert _count(engine, Sale) == PAIRS
    with Session(engine) as s:
        trade_ids = set(s.exec(select(Trade.id)).all())
        assert trade_ids == {f.trade_id for f in fills}
        assert {a.status for a in s.exec(select(Ask)).all()} == {"filled"}
        assert {b.status for b in s.exec(select(Bid)).all()} == {"filled"}
        assert sorted(o.price_cents for o in s.exec(select(Order)).all()) == sorted(
            f.price_cents for f in fills
        )
    client.close()
