"""The order path of the trade dialog (ticket.refusal, then market.place in the same transaction),
through the service layer against the real engine, SQLite and PostgreSQL: what it writes, how
few statements it needs, and the pool handing out live connections."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
from sqlalchemy import Engine, event, text
from sqlmodel import select

from sneakers_app import db, worker
from sneakers_app.models import Bid, EngineFill, PaymentCard, Trade
from sneakers_app.services import addresses, market, notifications, ticket
from tests.integration.test_saga import PRICE, Market, mk, smtp, variant
from tests.support.servers import RedisServer

__all__ = ["mk", "smtp", "variant"]


class Statements:
    def __init__(self) -> None:
        self.sent: list[str] = []


@pytest.fixture
def statements(mk: Market) -> Iterator[Statements]:
    seen = Statements()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.sent.append(statement.split()[0].upper())

    event.listen(mk.db, "before_cursor_execute", count)
    yield seen
    event.remove(mk.db, "before_cursor_execute", count)


def _confirm(mk: Market, user_id: int, kind: str, variant_id: int, price: int) -> Any:
    """What the dialog's Confirm does: the checks, then the order, in one transaction."""
    with mk.session() as s:
        refused = ticket.refusal(
            session=s, user_id=user_id, kind=kind, variant_id=variant_id, price_cents=price
        )
        if refused is not None:
            return refused
        placed = market.place(
            session=s,
            engine=mk.engine,
            user_id=user_id,
            side=ticket.side_of(kind),
            variant_id=variant_id,
            price_cents=price,
            client_key=uuid.uuid4().hex,
            immediate=ticket.is_immediate(kind),
            expiry_days=None if ticket.is_immediate(kind) else 30,
        )
        s.commit()
        return placed


def test_a_buy_now_reads_once_and_writes_its_row_the_mark_and_the_fill(
    mk: Market,
    variant: int,
    statements: Statements,
) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    mk.place(seller, "ask", variant)
    statements.sent.clear()
    placed = _confirm(mk, buyer, "buy", variant, PRICE)
    assert isinstance(placed, market.Placed) and placed.status == "filled", placed
    # one read for every check, the row, (commit), the mark, the kept fill, (commit)
    assert statements.sent == ["SELECT", "INSERT", "UPDATE", "INSERT"], statements.sent
    with mk.session() as s:
        row = s.get(Bid, placed.row_id)
        assert row is not None and row.engine_accepted and row.engine_sequence > 0
        assert row.time_in_force == "ioc" and row.expires_at is None
        address = addresses.default_address(session=s, user_id=buyer)
        card = s.exec(select(PaymentCard).where(PaymentCard.user_id == buyer)).one()
        assert row.address_id == (address.id if address else None)
        assert row.payment_card_id == card.id
        kept = s.exec(select(EngineFill)).all()
        assert len(kept) == 1 and kept[0].variant_id == variant
    mk.drain(variant)
    with mk.session() as s:
        assert s.exec(select(EngineFill)).all() == []  # the consumer recorded it
        trade = s.exec(select(Trade)).one()
        assert trade.bid_id == placed.row_id and trade.id == kept[0].trade_id


def test_a_double_submit_places_once_after_the_checks(mk: Market, variant: int) -> None:
    buyer = mk.buyer()
    key = uuid.uuid4().hex
    first = mk.place(buyer, "bid", variant, key=key)
    again = mk.place(buyer, "bid", variant, key=key)
    assert first.status == "open" and not first.replayed
    assert again.replayed and again.row_id == first.row_id and again.message == "Already placed."
    with mk.session() as s:
        assert len(s.exec(select(Bid)).all()) == 1


def test_the_dialog_and_placing_refuse_alike(mk: Market, variant: int) -> None:
    trader = mk.buyer()
    mk.place(trader, "bid", variant, PRICE)
    refused = _confirm(mk, trader, "ask", variant, PRICE - 100)
    assert isinstance(refused, ticket.Refusal) and refused.field == "blocker"  # no payout
    with pytest.raises(market.MarketError) as placing:
        mk.place(trader, "ask", variant, PRICE - 100)
    assert placing.value.message == refused.message == market.NO_PAYOUT
    with pytest.raises(market.MarketError, match="That size does not exist"):
        mk.place(trader, "bid", 10**9, PRICE)
    with pytest.raises(market.MarketError, match="Log in to trade"):
        mk.place(10**9, "bid", variant, PRICE)


def test_an_idle_connection_whose_server_end_died_is_replaced_at_checkout(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite connection has no server end")
    with engine.connect() as conn:
        first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with engine.connect() as other:  # the pool hands the same connection out again: not idle
        assert other.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
    killer = db.make_engine(engine.url.render_as_string(hide_password=False))
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    killer.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", -1.0)  # every pooled connection counts as idle
    with engine.connect() as conn:
        replaced = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert replaced != first


def test_a_charge_published_after_emails_is_taken_first(redis_server: RedisServer) -> None:
    """On the Redis broker the worker takes priority 0 (a saga step) before the emails (9), in
    the order the broker's client asks for the lists (kombu's BRPOP over the priority steps)."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    with worker.celery_app.connection_for_write(url=redis_server.url) as connection:
        for notification_id in (1, 2):
            worker.send_notification_email.apply_async(
                args=[notification_id], connection=connection
            )
        worker.charge_order.apply_async(args=[7], connection=connection)
        channel: Any = connection.default_channel
        keys = [channel._q_for_pri("celery", p) for p in channel.priority_steps]
    taken = []
    while found := cast(list[bytes] | None, client.brpop(keys, timeout=1)):
        taken.append(json.loads(found[1])["headers"]["task"])
    assert taken == ["sneakers.charge_order", notifications.EMAIL_TASK, notifications.EMAIL_TASK]
    client.close()
