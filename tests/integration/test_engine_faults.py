"""The engine and the journal under faults, with the real parts: Redis losing its data (FLUSHALL,
a redis-server restarted without persistence), a poison journal entry, a Buy Now the engine
never saw. Orders go through `services.market` as the app sends them, and the journal is applied
by the real consumer loop (`consumer.run`) in a thread, configured like a deployment through the
environment."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import pytest
import redis
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app import consumer, db, redis_client
from sneakers_app.models import Ask, Bid, EngineFill, Notification, Order, Trade, User, utcnow
from sneakers_app.services import book_sequences, books, journal, market, payments
from sneakers_app.services.orders import OrderError
from sneakers_app.settings import get_settings
from tests.support import factories, servers
from trading.engine import RedisEngine
from trading.journal import DeadLetters, JournalConsumer, JournalEntry
from trading.keys import book_keys
from trading.orders import PlaceOrder, Side


@dataclass
class Stack:
    redis_url: str
    db: Engine
    handed_on: list[int] = field(default_factory=list)
    """Order ids the consumer handed to its follow-ups (charge, emails), in order."""
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def client(self) -> redis.Redis:
        client: redis.Redis = redis_client.get_redis()
        return client

    def stop_consumer(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.stop = threading.Event()

    def start_consumer(self) -> None:
        self.thread = threading.Thread(
            target=consumer.run, args=(self.stop,), kwargs={"block_ms": 100}, daemon=True
        )
        self.thread.start()

    def wait(self, what: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            time.sleep(0.05)
        raise AssertionError(f"not reached within {timeout}s: {what.__doc__ or what}")


def _configure(monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    for cache in (
        get_settings,
        db.get_db_engine,
        redis_client.get_redis,
        redis_client.get_matching_engine,
    ):
        cache.cache_clear()


@contextlib.contextmanager
def _running(monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str) -> Iterator[Stack]:
    _configure(monkeypatch, database_url, redis_url)
    stack = Stack(redis_url=redis_url, db=db.get_db_engine())
    stack.client.flushall()
    # the follow-ups after a commit go to Celery; here they are recorded (what is charged is
    # another test's concern: this one checks each new order is handed on exactly once)
    monkeypatch.setattr(consumer, "after_commit", lambda a: stack.handed_on.extend(a.new_order_ids))
    try:
        yield stack
    finally:
        stack.stop.set()
        if stack.thread is not None:
            stack.thread.join(timeout=30)
        for cache in (
            get_settings,
            db.get_db_engine,
            redis_client.get_redis,
            redis_client.get_matching_engine,
        ):
            cache.cache_clear()


@pytest.fixture
def stack(
    monkeypatch: pytest.MonkeyPatch, database_url: str, redis_server: servers.RedisServer
) -> Iterator[Stack]:
    with _running(monkeypatch, database_url, redis_server.url) as running:
        yield running


@dataclass
class Market:
    seller: int
    buyer: int
    variant: int


def _market(db_engine: Engine) -> Market:
    with Session(db_engine, expire_on_commit=False) as s:
        seller, buyer = factories.user(s, "Seller"), factories.user(s, "Buyer")
        variant = factories.variant(s)
        payments.save_payout_account(
            session=s,
            user_id=seller,
            kind="manual",
            account_ref="ACCT 99887766",
            holder_name="Seller",
        )
        # a saved card as Stripe would leave it (no charge is made in these tests)
        b = s.get(User, buyer)
        assert b is not None
        b.stripe_customer_id, b.default_payment_method_id = "cus_faults", "pm_faults"
        s.add(b)
        factories.address(s, buyer)
        s.commit()
        books.ensure_all(session=s, client=redis_client.get_redis())
    return Market(seller=seller, buyer=buyer, variant=variant)


def _place(
    stack: Stack,
    m: Market,
    side: market.SideName,
    price: int,
    *,
    immediate: bool = False,
    key: str | None = None,
) -> market.Placed:
    with db.session_scope(stack.db) as s:
        return market.place(
            session=s,
            engine=redis_client.get_matching_engine(),
            user_id=m.seller if side == "ask" else m.buyer,
            side=side,
            variant_id=m.variant,
            price_cents=price,
            client_key=key or uuid.uuid4().hex,
            immediate=immediate,
            expiry_days=None if immediate else 30,
        )


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _trade_ids(db_engine: Engine) -> list[str]:
    with Session(db_engine) as s:
        return list(s.exec(select(Trade.id)).all())


def _applied(stack: Stack, reported: dict[int, int]) -> Callable[[], bool]:
    def done() -> bool:
        """every fill reported to a buyer is a trade in the database"""
        with Session(stack.db) as s:
            got = {
                bid_id: len(s.exec(select(Trade).where(Trade.bid_id == bid_id)).all())
                for bid_id in reported
            }
        return got == reported

    return done


def _check_every_fill_is_a_trade_and_an_order(stack: Stack, reported: dict[int, int]) -> None:
    stack.wait(_applied(stack, reported))
    with Session(stack.db) as s:
        trades = s.exec(select(Trade)).all()
        orders = s.exec(select(Order)).all()
        assert {t.bid_id for t in trades} == set(reported)
        assert len(trades) == sum(reported.values())
        assert len(orders) == len(trades)
        assert sorted(stack.handed_on) == sorted(o.id or 0 for o in orders)  # each one, once


def test_flushall_mid_stream_refuses_rebuilds_by_itself_and_loses_no_fill(stack: Stack) -> None:
    m = _market(stack.db)
    stack.start_consumer()
    reported: dict[int, int] = {}  # bid row id -> fills the buyer was told about
    for price in (20_000, 20_100, 20_200, 20_300, 20_400, 20_500, 20_600):
        assert _place(stack, m, "ask", price).status == "open"
    bought = _place(stack, m, "bid", 20_600, immediate=True)
    assert bought.message == "Matched! You bought it: follow the pair under Orders."
    reported[bought.row_id] = bought.filled_quantity
    stack.wait(_applied(stack, reported))
    stack.stop_consumer()  # lagging: what the engine decides next is not recorded yet
    unrecorded = []
    for _ in range(2):
        bought = _place(stack, m, "bid", 20_600, immediate=True)
        assert bought.message == "Matched! You bought it: follow the pair under Orders."
        reported[bought.row_id] = bought.filled_quantity
        unrecorded.append(bought.row_id)
    with Session(stack.db) as s:
        assert s.exec(select(Trade).where(col(Trade.bid_id).in_(unrecorded))).all() == []
        floor = books.last_sequence(s, m.variant)
    assert floor > 0

    stack.client.flushall()  # Redis loses every book, journal and consumer group
    stack.start_consumer()

    with pytest.raises(market.MarketError) as refused:
        _place(stack, m, "bid", 20_600, immediate=True)
    assert refused.value.message == market.BOOK_PAUSED
    # ...and that refusal had the book rebuilt: first the two fills whose journal was lost are
    # recorded (the buyers were told), then the asks the database holds open come back in
    # their time priority, the sequence resumed above the last one the database saw
    snap = redis_client.get_matching_engine().snapshot(str(m.variant))
    with Session(stack.db) as s:
        still_open = s.exec(
            select(Ask)
            .where(Ask.variant_id == m.variant, Ask.status == "open")
            .order_by(col(Ask.price_cents), col(Ask.engine_sequence))
        ).all()
        refused_row = s.exec(select(Bid).order_by(col(Bid.id).desc())).first()
        recovered = s.exec(select(Trade).where(col(Trade.bid_id).in_(unrecorded))).all()
    assert len(recovered) == 2
    assert [o.order_id for o in snap.asks] == [f"a{a.id}" for a in still_open]
    assert len(still_open) == 4
    assert snap.sequence >= floor
    assert refused_row is not None and refused_row.status == "cancelled"

    for _ in range(3):
        bought = _place(stack, m, "bid", 20_600, immediate=True)
        assert bought.message == "Matched! You bought it: follow the pair under Orders."
        reported[bought.row_id] = bought.filled_quantity
    stack.wait(_applied(stack, reported))
    with db.session_scope(stack.db) as s:  # beat's repair_books: nothing to rebuild, and...
        assert books.ensure_all(session=s, client=stack.client) == []
    with Session(stack.db) as s:
        trades = s.exec(select(Trade)).all()
        orders = s.exec(select(Order)).all()
        # ...the fills kept for a lost journal are all recorded, and dropped
        assert s.exec(select(EngineFill)).all() == []
    assert sorted(t.bid_id for t in trades) == sorted(reported)  # every fill, once
    assert len(orders) == len(trades) == 6
    ids = [t.id for t in trades]
    assert len(ids) == len(set(ids))
    assert min(int(t.rsplit("-", 1)[1]) for t in ids[3:]) > floor  # no trade id issued twice
    # the consumer handed on the orders it created; the two the rebuild recorded wait,
    # `created`, for the order sweep (`sweep_orders`) to charge them
    by_trade = {o.trade_id: o for o in orders}
    swept = {by_trade[t.id].id for t in recovered}
    assert all(by_trade[t.id].status == "created" for t in recovered)
    assert sorted(stack.handed_on) == sorted(o.id or 0 for o in orders if o.id not in swept)
    assert DeadLetters(stack.client).count() == 0
    assert stack.thread is not None and stack.thread.is_alive()


def test_a_book_behind_the_database_refuses_and_is_rebuilt(stack: Stack) -> None:
    """A failover to a replica that was behind: the book exists, at a lower sequence."""
    m = _market(stack.db)
    stack.start_consumer()
    reported: dict[int, int] = {}
    for price in (20_000, 20_100, 20_200):
        _place(stack, m, "ask", price)
    stale = {k: stack.client.dump(k) for k in book_keys(str(m.variant)).script_keys}
    bought = _place(stack, m, "bid", 20_500, immediate=True)
    reported[bought.row_id] = bought.filled_quantity
    stack.wait(_applied(stack, reported))
    for k, v in stale.items():  # the replica had only what was there before that Buy Now
        stack.client.delete(k)
        if v is not None:  # (replace: the running consumer may have made the journal again)
            stack.client.restore(k, 0, cast(bytes, v), replace=True)

    with pytest.raises(market.MarketError) as refused:
        _place(stack, m, "bid", 20_500, immediate=True, key="retry-after-pause")
    assert refused.value.message == market.BOOK_PAUSED
    # Sent again as told (the same form or Idempotency-Key): placed, not "Already placed."
    bought = _place(stack, m, "bid", 20_500, immediate=True, key="retry-after-pause")
    assert (bought.replayed, bought.status, bought.filled_quantity) == (False, "filled", 1)
    reported[bought.row_id] = bought.filled_quantity
    _check_every_fill_is_a_trade_and_an_order(stack, reported)
    with Session(stack.db) as s:
        sold = s.exec(select(Ask).where(Ask.status == "filled")).all()
    assert len(sold) == 2  # the 200.00 ask sold once, not again from the stale book


def test_redis_restarted_without_its_data_under_the_consumer(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    server = servers.start_redis()
    try:
        with _running(monkeypatch, database_url, server.url) as stack:
            m = _market(stack.db)
            stack.start_consumer()
            reported: dict[int, int] = {}
            _place(stack, m, "ask", 20_000)
            _place(stack, m, "ask", 20_100)
            bought = _place(stack, m, "bid", 20_500, immediate=True)
            reported[bought.row_id] = bought.filled_quantity
            stack.wait(_applied(stack, reported))

            port = server.port
            server.stop()  # no AOF, no RDB: it comes back empty
            time.sleep(1.0)  # the consumer meets the dead server for a while
            server = servers.start_redis(port=port)
            stack.wait(lambda: _pings(stack.client))

            with pytest.raises(market.MarketError) as refused:
                _place(stack, m, "bid", 20_500, immediate=True)
            assert refused.value.message == market.BOOK_PAUSED
            bought = _place(stack, m, "bid", 20_500, immediate=True)
            assert bought.filled_quantity == 1
            reported[bought.row_id] = 1
            _check_every_fill_is_a_trade_and_an_order(stack, reported)
            assert stack.thread is not None and stack.thread.is_alive()
    finally:
        server.stop()


def test_a_poison_entry_is_parked_after_its_tries_and_the_next_entries_apply(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer, "RETRY_BASE_S", 0.05)
    m = _market(stack.db)
    stack.start_consumer()
    ask = _place(stack, m, "ask", 20_000)
    journal_key = book_keys(str(m.variant)).journal
    # an entry whose trade names orders the database does not have: it fails every time
    poison = f'[["trade","{m.variant}-999",20000,1,"a999999","1","b999999","2","bid",0,0,999]]'
    now_ms = str(int(time.time() * 1000))
    stack.client.xadd(journal_key, {"cmd": "place", "seq": "999", "at": now_ms, "ev": poison})
    bought = _place(stack, m, "bid", 20_000, immediate=True)
    assert bought.filled_quantity == 1
    dead = DeadLetters(stack.client)
    stack.wait(lambda: dead.count() == 1)
    (parked,) = dead.list()
    assert parked.attempts == consumer.MAX_ATTEMPTS
    assert "does not have" in parked.error and parked.entry.variant_id == str(m.variant)
    _check_every_fill_is_a_trade_and_an_order(stack, {bought.row_id: 1})
    with Session(stack.db) as s:
        row = s.get(Ask, ask.row_id)
        assert row is not None and row.status == "filled"

    def nothing_pending() -> bool:
        """Every entry acknowledged (the consumer acks once its transaction has committed, so
        the last one may still be on its way when the rows are there)."""
        pending = cast(dict[str, Any], stack.client.xpending(journal_key, consumer.GROUP))
        return int(pending["pending"]) == 0

    stack.wait(nothing_pending)
    assert stack.thread is not None and stack.thread.is_alive()


def test_an_unsent_buy_now_is_cancelled_with_a_notice_never_sent_late(stack: Stack) -> None:
    m = _market(stack.db)
    _place(stack, m, "ask", 20_000)
    written = utcnow() - market.IOC_SEND_WINDOW - timedelta(seconds=1)
    with db.session_scope(stack.db) as s:
        # a Buy Now written by a request that died (or timed out) before the engine saw it
        row = Bid(
            user_id=m.buyer,
            variant_id=m.variant,
            price_cents=20_000,
            time_in_force="ioc",
            client_key=uuid.uuid4().hex,
            created_at=written,
            updated_at=written,
        )
        s.add(row)
        s.commit()
        row_id = row.id
        emails: list[int] = []
        sent = market.resubmit_unseen(
            session=s,
            engine=redis_client.get_matching_engine(),
            older_than=timedelta(0),
            emails=emails,
        )
    assert sent == 0
    snap = redis_client.get_matching_engine().snapshot(str(m.variant))
    assert len(snap.asks) == 1  # nothing was bought
    with Session(stack.db) as s:
        again = s.get(Bid, row_id)
        assert again is not None and again.status == "cancelled"
        notes = s.exec(select(Notification).where(Notification.user_id == m.buyer)).all()
        assert [n.kind for n in notes] == ["order_not_placed"]
        assert "did not go through" in notes[0].title
        assert s.exec(select(Trade)).all() == []
    # a second sweep changes nothing and tells nobody twice
    with db.session_scope(stack.db) as s:
        market.resubmit_unseen(
            session=s, engine=redis_client.get_matching_engine(), older_than=timedelta(0)
        )
    with Session(stack.db) as s:
        assert len(s.exec(select(Notification).where(Notification.user_id == m.buyer)).all()) == 1


def test_a_buy_now_the_engine_did_run_is_left_to_the_journal(stack: Stack) -> None:
    """The request timed out after the engine ran it: the sweep must not cancel it."""
    m = _market(stack.db)
    _place(stack, m, "ask", 20_000)
    written = utcnow() - market.IOC_SEND_WINDOW - timedelta(seconds=1)
    with db.session_scope(stack.db) as s:
        row = Bid(
            user_id=m.buyer,
            variant_id=m.variant,
            price_cents=20_000,
            time_in_force="ioc",
            client_key=uuid.uuid4().hex,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        s.add(row)
        s.commit()
        market.submit(session=s, engine=redis_client.get_matching_engine(), side="bid", row=row)
        row.engine_accepted = False  # as if the answer never reached us
        row.created_at = written
        s.add(row)
        s.commit()
        row_id = row.id
        market.resubmit_unseen(
            session=s, engine=redis_client.get_matching_engine(), older_than=timedelta(0)
        )
    with Session(stack.db) as s:
        again = s.get(Bid, row_id)
        assert again is not None and again.status == "open"  # not cancelled: the engine ran it
    stack.start_consumer()
    stack.wait(_applied(stack, {row_id or 0: 1}))
    with Session(stack.db) as s:
        again = s.get(Bid, row_id)
        assert again is not None and again.status == "filled"
        kinds = s.exec(select(Notification.kind).where(Notification.user_id == m.buyer)).all()
        assert "order_not_placed" not in kinds


def test_the_journal_consumer_records_each_books_last_sequence(stack: Stack) -> None:
    m = _market(stack.db)
    stack.start_consumer()
    _place(stack, m, "ask", 20_000)
    bought = _place(stack, m, "bid", 20_000, immediate=True)
    stack.wait(_applied(stack, {bought.row_id: 1}))
    seq = redis_client.get_matching_engine().snapshot(str(m.variant)).sequence

    def recorded() -> bool:
        """the database holds the book's last sequence"""
        with Session(stack.db) as s:
            return book_sequences.recorded(s, m.variant) == seq

    stack.wait(recorded)


def test_staff_see_a_parked_entry_apply_it_once_fixed_or_dismiss_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer, "RETRY_BASE_S", 0.01)
    m = _market(stack.db)
    with Session(stack.db) as s:
        staff = factories.user(s, "Staff", staff=True)
        s.commit()
    stack.start_consumer()
    ask = _place(stack, m, "ask", 20_000)
    journal_key = book_keys(str(m.variant)).journal
    missing_bid = 900_000 + m.variant
    now_ms = str(int(time.time() * 1000))
    trade = (
        f'[["trade","{m.variant}-77",20000,1,"a{ask.row_id}","{m.seller}",'
        f'"b{missing_bid}","{m.buyer}","bid",0,0,77]]'
    )
    stack.client.xadd(journal_key, {"cmd": "place", "seq": "77", "at": now_ms, "ev": trade})
    stack.client.xadd(journal_key, {"cmd": "place", "seq": "78", "at": now_ms, "ev": "not json"})
    dead = DeadLetters(stack.client)
    stack.wait(lambda: dead.count() == 2)

    with db.session_scope(stack.db) as s, pytest.raises(OrderError):
        journal.parked_entries(session=s, staff_id=m.buyer)  # members see nothing
    with db.session_scope(stack.db) as s:
        views = journal.parked_entries(session=s, staff_id=staff)
    assert [v.summary for v in views] == ["unreadable entry", "1 trade"]
    unreadable, lost_trade = views

    with db.session_scope(stack.db) as s, pytest.raises(LookupError):
        journal.reapply_parked(session=s, staff_id=staff, parked_id=lost_trade.parked_id)
    assert dead.count() == 2  # still failing: still parked, nothing recorded
    with db.session_scope(stack.db) as s:  # the cause fixed: the bid it names exists
        s.add(
            Bid(
                id=missing_bid,
                user_id=m.buyer,
                variant_id=m.variant,
                price_cents=20_000,
                client_key=uuid.uuid4().hex,
                time_in_force="ioc",
                engine_accepted=True,
            )
        )
    with db.session_scope(stack.db) as s:
        applied = journal.reapply_parked(session=s, staff_id=staff, parked_id=lost_trade.parked_id)
    assert applied.trades == [f"{m.variant}-77"] and len(applied.new_order_ids) == 1
    with db.session_scope(stack.db) as s:
        assert journal.dismiss_parked(session=s, staff_id=staff, parked_id=unreadable.parked_id)
    assert dead.count() == 0
    with Session(stack.db) as s:
        assert s.get(Trade, f"{m.variant}-77") is not None
        row = s.get(Ask, ask.row_id)
        assert row is not None and row.status == "filled"


def _pg_ctl(server: servers.PostgresServer, *args: str) -> None:
    pg_ctl = servers.postgres_bin("pg_ctl")
    assert pg_ctl is not None
    subprocess.run(
        server._cmd(pg_ctl, "-D", str(server.directory / "data"), *args),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.postgres
def test_the_database_stopped_and_started_under_the_consumer(
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: servers.PostgresServer,
    postgres_template: str,
    redis_server: servers.RedisServer,
) -> None:
    from tests.conftest import _fresh_postgres

    url = _fresh_postgres(postgres_server, postgres_template)
    with _running(monkeypatch, url, redis_server.url) as stack:
        m = _market(stack.db)
        stack.start_consumer()
        _place(stack, m, "ask", 20_000)
        with db.session_scope(stack.db) as s:  # a Buy Now written just before the database went
            row = Bid(
                user_id=m.buyer,
                variant_id=m.variant,
                price_cents=20_000,
                time_in_force="ioc",
                client_key=uuid.uuid4().hex,
            )
            s.add(row)
            s.commit()
            sequence = book_sequences.recorded(s, m.variant)
            command = market._place_command(market._Listing.of("bid", row), sequence)
        stack.db.dispose()
        _pg_ctl(postgres_server, "-m", "fast", "stop")
        try:
            outcome = redis_client.get_matching_engine().place(command)  # the engine takes it
            assert outcome.filled_quantity == 1  # type: ignore[union-attr]
            time.sleep(2.0)  # the consumer meets the missing database, again and again
            assert stack.thread is not None and stack.thread.is_alive()
        finally:
            opts = (
                f"-p {postgres_server.port} -k {postgres_server.directory} "
                "-c listen_addresses=127.0.0.1 -c fsync=off"
            )
            log = str(postgres_server.directory / "log")
            _pg_ctl(postgres_server, "-o", opts, "-l", log, "-w", "start")
        _check_every_fill_is_a_trade_and_an_order(stack, {row.id or 0: 1})
        assert DeadLetters(stack.client).count() == 0  # an outage is not the entry's fault


@pytest.mark.parametrize("batched", [False, True], ids=["one_by_one", "batched"])
def test_a_failing_entry_holds_back_only_its_own_books_later_entries(
    redis_server: servers.RedisServer, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    """The consumer loop's ordering with the real journal: while an entry of one book is
    retried, that book's later entries wait (and then apply in sequence order), other books go
    on; an entry that never succeeds is parked and its book goes on. Batched, as the consumer
    runs: a read's entries go in one transaction, and a batch holding a failing entry is rolled
    back whole and its entries handled one at a time, with the same outcome."""
    monkeypatch.setattr(consumer, "RETRY_BASE_S", 0.01)
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    engine = RedisEngine(client)
    for book in ("901", "902"):
        engine.open_book(book)
    far = int(time.time() * 1000) + 86_400_000

    def rest(book: str, n: int) -> None:
        engine.place(
            PlaceOrder(
                variant_id=book,
                order_id=f"o{book}-{n}",
                user_id="u1",
                side=Side.BID,
                price_cents=10_000 + n,
                quantity=1,
                expires_at=far,
            )
        )

    failing = {"901": {2: 2, 4: 99}}  # book -> sequence -> failures before it succeeds
    applied: list[tuple[str, int]] = []

    def handle(entry: JournalEntry) -> None:
        left = failing.get(entry.variant_id, {}).get(entry.sequence, 0)
        if left:
            failing[entry.variant_id][entry.sequence] = left - 1
            raise RuntimeError(f"cannot apply {entry.sequence} yet")
        applied.append((entry.variant_id, entry.sequence))

    def handle_batch(entries: Sequence[JournalEntry]) -> None:
        done = []  # one transaction: nothing of it stays when an entry fails
        for entry in entries:
            if failing.get(entry.variant_id, {}).get(entry.sequence, 0):
                raise RuntimeError(f"cannot apply {entry.sequence} in this batch")
            done.append((entry.variant_id, entry.sequence))
        applied.extend(done)
        batches.append(len(entries))

    batches: list[int] = []
    group = JournalConsumer(client, group="db", consumer="ordering-test")
    loop = consumer._Loop(group, handle, handle_batch if batched else None)
    books_ = ["901", "902"]

    def step() -> None:
        loop.retry_stalled()
        loop.handle_all(group.read(loop.flowing(books_)))

    for n in range(1, 4):
        rest("901", n)
        rest("902", n)
    step()  # 901's seq 2 fails: 901 stops there, 902 goes on
    assert applied == [("901", 1), ("902", 1), ("902", 2), ("902", 3)]
    rest("901", 4)
    rest("901", 5)
    rest("902", 4)
    deadline = time.monotonic() + 10
    while (len(applied) < 8 or loop.stalled) and time.monotonic() < deadline:
        step()
        time.sleep(0.01)
    assert [s for b, s in applied if b == "901"] == [1, 2, 3, 5]  # 4 parked, in order otherwise
    assert [s for b, s in applied if b == "902"] == [1, 2, 3, 4]
    (parked,) = DeadLetters(client).list()
    assert (parked.entry.variant_id, parked.entry.sequence) == ("901", 4)
    assert parked.attempts == consumer.MAX_ATTEMPTS and "cannot apply 4" in parked.error
    assert loop.stalled == {} and loop.failures == {}
    for book in books_:
        assert group.pending_count(book) == 0
    assert bool(batches) == batched and all(n > 1 for n in batches)
    client.close()


def test_cancel_and_edit_on_a_lost_book_are_refused_until_it_is_rebuilt(stack: Stack) -> None:
    m = _market(stack.db)
    stack.start_consumer()
    first = _place(stack, m, "ask", 20_000)
    second = _place(stack, m, "ask", 21_000)
    bought = _place(stack, m, "bid", 20_000, immediate=True)
    stack.wait(_applied(stack, {bought.row_id: 1}))
    stack.client.flushall()
    with db.session_scope(stack.db) as s, pytest.raises(market.MarketError) as refused:
        market.cancel(
            session=s,
            engine=redis_client.get_matching_engine(),
            user_id=m.seller,
            side="ask",
            row_id=second.row_id,
        )
    assert refused.value.message == market.BOOK_PAUSED
    with Session(stack.db) as s:
        row = s.get(Ask, second.row_id)
        assert row is not None and row.status == "open"  # nothing changed
    with db.session_scope(stack.db) as s:  # rebuilt by that refusal: the edit goes through
        edited = market.edit_price(
            session=s,
            engine=redis_client.get_matching_engine(),
            user_id=m.seller,
            side="ask",
            row_id=second.row_id,
            price_cents=20_500,
        )
    assert edited.message == "Price updated."
    snap = redis_client.get_matching_engine().snapshot(str(m.variant))
    assert [(o.order_id, o.price_cents) for o in snap.asks] == [(f"a{second.row_id}", 20_500)]
    assert first.row_id != second.row_id


def test_a_trade_id_issued_twice_is_parked_at_once_never_skipped_as_a_replay(
    stack: Stack,
) -> None:
    m = _market(stack.db)
    stack.start_consumer()
    _place(stack, m, "ask", 20_000)
    bought = _place(stack, m, "bid", 20_000, immediate=True)
    stack.wait(_applied(stack, {bought.row_id: 1}))
    with Session(stack.db) as s:
        (trade,) = s.exec(select(Trade)).all()
    again = _place(stack, m, "ask", 20_100)
    # the same trade id for another match, as a book that restarted below the database would
    ev = (
        f'[["trade","{trade.id}",20100,1,"a{again.row_id}","{m.seller}",'
        f'"b{bought.row_id}","{m.buyer}","bid",0,0,{trade.id.rsplit("-", 1)[1]}]]'
    )
    now_ms = str(int(time.time() * 1000))
    journal_key = book_keys(str(m.variant)).journal
    stack.client.xadd(journal_key, {"cmd": "place", "seq": "3", "at": now_ms, "ev": ev})
    dead = DeadLetters(stack.client)
    stack.wait(lambda: dead.count() == 1)
    (parked,) = dead.list()
    assert parked.attempts == 1 and parked.error.startswith("TradeIdConflict")
    with Session(stack.db) as s:
        assert len(s.exec(select(Trade)).all()) == 1
        row = s.get(Ask, again.row_id)
        assert row is not None and row.status == "open"
