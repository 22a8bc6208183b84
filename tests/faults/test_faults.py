"""One fault per test, mid-stream; then recovery and the invariants (see stack.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.faults.stack import FaultStack

MakeStack = Callable[..., FaultStack]
STREAM_SECONDS = 8.0


def _mid_stream(stack: FaultStack, at: float = 3.0) -> None:
    """Start the order stream and return `at` seconds into it. The clock starts at the stream's
    first answered order, not at the driver's launch: on a loaded machine the driver can take
    longer than `at` to start, and the fault would then land before any order was sent."""
    stack.start_stream(STREAM_SECONDS)
    stack.wait_for("the order stream's first order", lambda: stack.outcomes(), timeout=60.0)
    time.sleep(at)


def test_journal_consumer_killed(make_stack: MakeStack) -> None:
    stack = make_stack()
    _mid_stream(stack)
    stack.kill9("consumer")
    time.sleep(2.0)
    stack.start_process("consumer")
    stack.wait_stream()
    report = stack.recover_and_check()
    assert report.fills_reported > 0 and report.trades > 0


def test_celery_worker_killed(make_stack: MakeStack) -> None:
    stack = make_stack()
    _mid_stream(stack)
    stack.kill9("worker")
    time.sleep(2.0)
    stack.start_process("worker")
    stack.wait_stream()
    report = stack.recover_and_check()
    assert report.charges > 0


def test_web_backend_killed(make_stack: MakeStack) -> None:
    """The process placing orders dies mid-request (as the Reflex backend would); another one
    carries on. A row written but never sent is sent by the sweep (GTC) or cancelled (Buy Now)."""
    stack = make_stack()
    _mid_stream(stack)
    stack.kill9_driver()
    stack.start_stream(STREAM_SECONDS / 2, seed=2)
    stack.wait_stream()
    report = stack.recover_and_check()
    assert report.trades > 0


def test_redis_killed_with_append_only_file(make_stack: MakeStack) -> None:
    stack = make_stack()
    _mid_stream(stack)
    stack.redis.kill9()
    time.sleep(2.0)
    stack.redis.start()
    stack.wait_stream()
    report = stack.recover_and_check()
    assert report.trades > 0


def test_redis_data_lost(make_stack: MakeStack) -> None:
    """FLUSHALL mid-stream: the books refuse orders until rebuilt from the database (by the
    system, not by hand); no fill is lost and no trade id repeats."""
    stack = make_stack()
    _mid_stream(stack)
    stack.flush_redis()
    before = set(stack.engine_trade_ids)
    stack.wait_stream()
    stack.recover_and_check()
    after = [o for o in stack.outcomes() if o["at"] > stack.flushed_at]
    assert any(o["ok"] and o.get("filled") for o in after), "no fill after the rebuild"
    stack.engine_trade_ids = set()
    stack.snapshot_engine_trades()
    assert stack.engine_trade_ids, "the rebuilt books' journals are empty"
    assert not stack.engine_trade_ids & before, "trade ids repeated after the data loss"


def test_broker_unreachable(make_stack: MakeStack) -> None:
    """The broker (its own Redis here) is away for a few seconds around matches and around a
    webhook: a buyer completes 3-D Secure after the sale was voided, Stripe reports the late
    payment while the broker is away, and it must still be refunded."""
    stack = make_stack(separate_broker=True, web=True)
    _mid_stream(stack, at=2.0)
    for _ in range(10):  # the stream's buyers may take the lowest ask first
        bought = stack.buy_now(stack.sca_buyer)
        if bought["ok"] and bought["filled"] == 1:
            break
    assert bought["ok"] and bought["filled"] == 1, bought
    intent_id = stack.wait_for(
        "the 3-D Secure charge to be voided",
        lambda: stack._rows(
            "SELECT p.stripe_id FROM payments p JOIN orders o ON o.id = p.order_id "
            "WHERE o.buyer_id = :buyer AND o.status = 'payment_failed' "
            "AND p.status = 'requires_action'",
            buyer=stack.sca_buyer,
        ),
    )[0][0]
    stack.broker.stop()
    stack.authenticate_payment(intent_id)
    stack.wait_for(
        "the webhook",
        lambda: stack._rows(
            "SELECT 1 FROM payments WHERE stripe_id = :id AND status = 'succeeded'", id=intent_id
        ),
    )
    time.sleep(3.0)
    stack.broker.start()
    stack.wait_stream()
    report = stack.recover_and_check()
    assert report.charges > 0


def test_stripe_stopped_longer_than_the_client_timeout(make_stack: MakeStack) -> None:
    stack = make_stack()
    _mid_stream(stack, at=2.0)
    stack.pause(stack.stripe.process)
    try:
        time.sleep(12.0)
    finally:
        stack.resume(stack.stripe.process)
    stack.wait_stream()
    report = stack.recover_and_check(timeout=180.0)
    assert report.charges > 0


def test_database_unreachable(make_stack: MakeStack) -> None:
    """PostgreSQL stopped for a few seconds under the consumer and the worker."""
    stack = make_stack()
    _mid_stream(stack)
    stack.stop_postgres()
    time.sleep(4.0)
    stack.start_postgres()
    stack.wait_stream()
    report = stack.recover_and_check(timeout=180.0)
    assert report.trades > 0
