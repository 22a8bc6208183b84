# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""Two real processes race to change the same order, on SQLite and on PostgreSQL.

Each process runs one saga step through the app's own transaction scope
(`sneakers_app.db.session_scope`) against the same database and the same localstripe. Both read
the order before either writes: each child waits at a barrier just before its first write
statement. Exactly one of them may change the order; the other is refused with a message and
changes nothing (no second `order_events` row, no refund, no penalty).

On PostgreSQL `lock_order` already serialises the two (SELECT ... FOR UPDATE): the second child
blocks in its read, so the first stops waiting at the barrier after a few seconds and goes on.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from sneakers_app.db import make_engine, session_scope
from sneakers_app.models import LedgerEntry, OrderEvent, Payment
from sneakers_app.services import payments, saga
from sneakers_app.services import verification as vf
from sneakers_app.services.orders import OrderError
from sneakers_app.settings import LOCALSTRIPE_KEY, Settings
from tests.integration.test_saga import (  # noqa: F401 (fixtures)
    Market,
    mk,
    smtp,
    variant,
)

WRITE_BARRIER_SECONDS = 4.0
START_BARRIER_SECONDS = 120.0
TRACKING_A = "1Z999AA10123456784"
TRACKING_B = "1Z999AA10123456799"


def _run_step(
    url: str,
    stripe_base: str,
    step: str,
    kwargs: dict[str, Any],
    start: Any,
    before_write: Any,
    results: Any,
) -> None:
    """One racer (a separate process): run `step` in the app's transaction scope."""
    engine = make_engine(url)
    paused = {"done": False}

    @event.listens_for(engine, "before_cursor_execute")
    def _pause_before_first_write(*args: Any) -> None:
        statement = str(args[2]).lstrip().upper()
        if not paused["done"] and statement.startswith(("INSERT", "UPDATE", "DELETE")):
            paused["done"] = True
            try:
                before_write.wait(timeout=WRITE_BARRIER_SECONDS)
            except threading.BrokenBarrierError:
                pass  # the other racer is blocked behind a row lock (PostgreSQL)

    client = payments.make_client(
        Settings(ENVIRONMENT="test", STRIPE_SECRET_KEY=LOCALSTRIPE_KEY, STRIPE_API_BASE=stripe_base)
    )
    steps: dict[str, Any] = {
        "mark_shipped": saga.mark_shipped,
        "enforce_ship_by": lambda **kw: saga.enforce_ship_by(client=client, **kw),
        "receive": vf.receive,
    }
    start.wait(timeout=START_BARRIER_SECONDS)
    try:
        with session_scope(engine) as session:
            result = steps[step](session=session, **kwargs)
        results.put((step, "ok" if result.changed else "unchanged", result.status))
    except OrderError as error:
        results.put((step, "refused", error.message))
    except Exception as error:  # reported to the test, which fails on it
        results.put((step, "error", repr(error)))
    finally:
        engine.dispose()


def _race(mk: Market, *racers: tuple[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    ctx = multiprocessing.get_context("spawn")
    start, before_write, results = ctx.Barrier(len(racers)), ctx.Barrier(len(racers)), ctx.Queue()
    url = mk.db.url.render_as_string(hide_password=False)
    base = mk.settings.STRIPE_API_BASE
    procs = [
        ctx.Process(target=_run_step, args=(url, base, step, kwargs, start, before_write, results))
        for step, kwargs in racers
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return outcomes


def _events_from(mk: Market, order_id: int, from_status: str) -> list[OrderEvent]:
    with mk.session() as s:
        return list(
            s.exec(
                select(OrderEvent).where(
                    OrderEvent.order_id == order_id, OrderEvent.from_status == from_status
                )
            ).all()
        )


def _one_winner(
    outcomes: list[tuple[str, str, str]], *, same_action: bool = False
) -> tuple[tuple[str, str, str], str]:
    """Exactly one racer changed the order; the other was refused with a message (or, when both
    asked for the same thing, found it already done: the step is idempotent)."""
    assert not [o for o in outcomes if o[1] == "error"], outcomes
    winners = [o for o in outcomes if o[1] == "ok"]
    losers = [o for o in outcomes if o[1] == "refused" or (same_action and o[1] == "unchanged")]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    message = losers[0][2]
    assert message and "Traceback" not in message
    return winners[0], message


def test_shipping_races_the_ship_by_deadline(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    ship_by = mk.order(order_id).ship_by
    assert ship_by is not None
    late: datetime = ship_by + timedelta(minutes=1)

    outcomes = _race(
        mk,
        ("mark_shipped", {"order_id": order_id, "seller_id": seller, "tracking": TRACKING_A}),
        ("enforce_ship_by", {"order_id": order_id, "now": late}),
    )

    # The deadline is a background step: when it loses (on PostgreSQL it waits for the row lock
    # and then finds the order shipped) it does nothing and says so; a seller who loses is
    # refused with a message.
    if ("enforce_ship_by", "unchanged", "shipped_to_verification") in outcomes:
        assert [o[0] for o in outcomes if o[1] == "ok"] == ["mark_shipped"], outcomes
        winner, message = ("mark_shipped", "ok", ""), "now"
    else:
        winner, message = _one_winner(outcomes)
    events = _events_from(mk, order_id, "awaiting_shipment")
    assert len(events) == 1
    order = mk.order(order_id)
    with mk.session() as s:
        refunds = s.exec(
            select(Payment).where(Payment.order_id == order_id, Payment.kind == "refund")
        ).all()
        penalties = s.exec(
            select(LedgerEntry).where(LedgerEntry.txn_id == f"order:{order_id}:penalty")
        ).all()
    if winner[0] == "mark_shipped":
        assert order.status == events[0].to_status == "shipped_to_verification"
        assert order.inbound_tracking == TRACKING_A and order.penalty_cents == 0
        assert refunds == [] and penalties == []
    else:
        assert order.status == events[0].to_status == "seller_did_not_ship"
        assert order.inbound_tracking is None
        assert [r.status for r in refunds] == ["succeeded"] and penalties
    assert "now" in message or "cannot" in message
    mk.books_balance()


def test_two_tabs_mark_the_same_order_shipped(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)

    outcomes = _race(
        mk,
        ("mark_shipped", {"order_id": order_id, "seller_id": seller, "tracking": TRACKING_A}),
        ("mark_shipped", {"order_id": order_id, "seller_id": seller, "tracking": TRACKING_B}),
    )

    _one_winner(outcomes)
    events = _events_from(mk, order_id, "awaiting_shipment")
    assert len(events) == 1
    order = mk.order(order_id)
    assert order.status == "shipped_to_verification"
    assert events[0].reason == f"Tracking {order.inbound_tracking}"


def test_two_inspectors_receive_the_same_pair(mk: Market, variant: int) -> None:
    seller, buyer, staff_a, staff_b = mk.seller(), mk.buyer(), mk.staff(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.step(saga.mark_shipped, order_id=order_id, seller_id=seller, tracking=TRACKING_A)

    outcomes = _race(
        mk,
        ("receive", {"order_id": order_id, "staff_id": staff_a}),
        ("receive", {"order_id": order_id, "staff_id": staff_b}),
    )

    _one_winner(outcomes, same_action=True)
    events = _events_from(mk, order_id, "shipped_to_verification")
    assert len(events) == 1 and events[0].actor_id in (staff_a, staff_b)
    assert mk.order(order_id).status == "received"


@pytest.fixture(autouse=True)
def _no_stray_children() -> Any:
    yield
    for child in multiprocessing.active_children():
        child.terminate()
