"""Property tests: random streams of place/cancel/modify/expire over several books and users.

Each engine on its own keeps the invariants (streams.check_invariants), and the Redis engine
(on a server and on a cluster) and the reference engine agree exactly: the same results, events,
books, level totals, top of book and recent trades after every command.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from redis import Redis
from redis.cluster import RedisCluster

from tests.trading.conftest import T0, FakeClock
from tests.trading.streams import BOOKS, OPS, Ledger, StreamState, check_invariants, to_command
from trading import market_data
from trading.engine import MatchingEngine, RedisEngine
from trading.journal import read_journal
from trading.orders import EngineConfig, PlaceOrder, PlaceResult, Rejected, Side
from trading.reference import ReferenceEngine

# sweep one expired order per command, so matching meets expired makers too
CONFIG = EngineConfig(sweep_limit=1)
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Op = tuple[Any, ...]
# place_many's orders per script call: small ones split a run of places into several batches
BATCH_SIZES = st.sampled_from([1, 2, 3, 500])


def note_kinds(outcome: object) -> None:
    """Hypothesis statistics (pytest --hypothesis-show-statistics): which paths streams reach."""
    events = getattr(outcome, "events", ())
    for kind in {type(e).__name__ for e in events}:
        event(f"event {kind}")
    if isinstance(outcome, PlaceResult) and outcome.replayed:
        event("replayed place")
    if isinstance(outcome, Rejected):
        event(f"rejected {outcome.code.value}")
    if any(getattr(e, "reason", None) == "self_trade" for e in events):
        event("self-trade prevented")


def run_with_invariants(engine: MatchingEngine, clock: FakeClock, ops: list[Op]) -> None:
    for b in BOOKS:
        engine.open_book(b)
    state, ledger, first = StreamState(), Ledger(), {}  # type: ignore[var-annotated]
    for op in ops:
        cmd = to_command(op, state, clock.now)
        if cmd is None:
            continue
        if isinstance(cmd, int):
            clock.advance(cmd)
            continue
        snap = engine.snapshot(cmd.variant_id)
        before = {cmd.variant_id: snap.bids + snap.asks}
        outcome = engine.execute(cmd)  # type: ignore[attr-defined]
        check_invariants(engine, cmd, outcome, before, clock.now, ledger, first)


def run_both(
    redis_engine: RedisEngine, ref: ReferenceEngine, clock: FakeClock, ops: list[Op]
) -> None:
    for b in BOOKS:
        assert redis_engine.open_book(b) == ref.open_book(b)
    state = StreamState()
    for op in ops:
        cmd = to_command(op, state, clock.now)
        if cmd is None:
            continue
        if isinstance(cmd, int):
            clock.advance(cmd)
            continue
        got, want = redis_engine.execute(cmd), ref.execute(cmd)
        assert got == want, (cmd, got, want)
        note_kinds(got)
        assert redis_engine.snapshot(cmd.variant_id) == ref.snapshot(cmd.variant_id)
        if isinstance(got, PlaceResult):
            for t in got.fills:
                for oid in (t.maker_order_id, t.taker_order_id):
                    assert redis_engine.order(t.variant_id, oid) == ref.order(t.variant_id, oid)
    compare_market_data(redis_engine, ref)


def compare_market_data(redis_engine: RedisEngine, ref: ReferenceEngine) -> None:
    client = redis_engine.client
    for b in BOOKS:
        d = market_data.depth(client, b)
        for side, levels in ((Side.BID, d.bids), (Side.ASK, d.asks)):
            assert [(lv.price_cents, lv.quantity, lv.orders) for lv in levels] == ref.depth(b, side)
        top = market_data.top_of_book(client, b)
        whole = market_data.snapshot(client, b)
        assert (whole.bids, whole.asks, whole.sequence) == (d.bids, d.asks, top.sequence)
        snap = ref.snapshot(b)
        if top.sequence:  # written by the first command that changed a level
            assert top.bid_cents == (snap.bids[0].price_cents if snap.bids else None)
            assert top.ask_cents == (snap.asks[0].price_cents if snap.asks else None)
        recent = [
            (r.at, r.trade_id, r.price_cents, r.quantity, r.taker_side)
            for r in market_data.recent_trades(client, b, limit=100)
        ]
        assert recent == ref.recent_trades(b)


def run_batched(
    redis_engine: RedisEngine,
    ref: ReferenceEngine,
    clock: FakeClock,
    ops: list[Op],
    batch_size: int,
) -> None:
    """Runs of consecutive places go to the Redis engine as one `place_many` (batches of
    `batch_size` per book) and to the reference engine one by one: the same outcomes, books,
    market data, and a journal that holds every event of the one-by-one run, in order."""
    for b in BOOKS:
        assert redis_engine.open_book(b) == ref.open_book(b)
    state = StreamState()
    pending: list[PlaceOrder] = []
    expected: dict[str, list[Any]] = {b: [] for b in BOOKS}

    def drain() -> None:
        if not pending:
            return
        want = _place_many_matches(redis_engine, ref, pending, batch_size)
        for c, w in zip(pending, want, strict=True):
            note_kinds(w)
            expected[c.variant_id].extend(_journaled(w))
        pending.clear()

    for op in ops:
        cmd = to_command(op, state, clock.now)
        if cmd is None:
            continue
        if isinstance(cmd, PlaceOrder):
            pending.append(cmd)
            continue
        drain()
        if isinstance(cmd, int):
            clock.advance(cmd)
            continue
        got, want = redis_engine.execute(cmd), ref.execute(cmd)
        assert got == want, (cmd, got, want)
        expected[cmd.variant_id].extend(_journaled(want))
        assert redis_engine.snapshot(cmd.variant_id) == ref.snapshot(cmd.variant_id)
    drain()
    compare_market_data(redis_engine, ref)
    _check_journals(redis_engine, expected)


def _journaled(outcome: object) -> tuple[Any, ...]:
    """The events an outcome adds to its book's journal (a replay adds none)."""
    if isinstance(outcome, PlaceResult) and outcome.replayed:
        return ()
    return tuple(getattr(outcome, "events", ()))


def _place_many_matches(
    redis_engine: RedisEngine, ref: ReferenceEngine, pending: list[PlaceOrder], batch_size: int
) -> list[Any]:
    """`place_many` gives the outcomes of placing `pending` one by one in the reference engine,
    and leaves the same books and orders; returns those outcomes."""
    got = redis_engine.place_many(pending, batch_size=batch_size)
    want = [ref.place(c) for c in pending]
    assert got == want, (pending, got, want)
    for b in {c.variant_id for c in pending}:
        assert redis_engine.snapshot(b) == ref.snapshot(b)
    for c in pending:
        assert redis_engine.order(c.variant_id, c.order_id) == ref.order(c.variant_id, c.order_id)
    return want


def _check_journals(redis_engine: RedisEngine, expected: dict[str, list[Any]]) -> None:
    """Each book's journal holds the expected events in order, in rising sequence, and never
    the same trade id twice."""
    for b in BOOKS:
        entries = read_journal(redis_engine.client, b)
        assert [e for entry in entries for e in entry.events] == expected[b]
        sequences = [entry.sequence for entry in entries]
        assert sequences == sorted(sequences)
        trade_ids = [t.trade_id for entry in entries for t in entry.trades]
        assert len(trade_ids) == len(set(trade_ids))


@settings(SETTINGS, max_examples=400)
@given(ops=OPS)
def test_reference_engine_keeps_invariants(ops: list[Op]) -> None:
    clock = FakeClock(T0)
    run_with_invariants(ReferenceEngine(config=CONFIG, clock=clock), clock, ops)


@SETTINGS
@given(ops=OPS)
def test_redis_engine_keeps_invariants(redis_client: Redis, ops: list[Op]) -> None:
    redis_client.flushdb()
    clock = FakeClock(T0)
    run_with_invariants(RedisEngine(redis_client, config=CONFIG, clock=clock), clock, ops)


@settings(SETTINGS, max_examples=300)
@given(ops=OPS)
def test_redis_and_reference_engines_agree(redis_client: Redis, ops: list[Op]) -> None:
    redis_client.flushdb()
    clock = FakeClock(T0)
    run_both(
        RedisEngine(redis_client, config=CONFIG, clock=clock),
        ReferenceEngine(config=CONFIG, clock=clock),
        clock,
        ops,
    )


@settings(SETTINGS, max_examples=300)
@given(ops=OPS, batch_size=BATCH_SIZES)
def test_batched_places_agree_with_one_by_one(
    redis_client: Redis, ops: list[Op], batch_size: int
) -> None:
    redis_client.flushdb()
    clock = FakeClock(T0)
    run_batched(
        RedisEngine(redis_client, config=CONFIG, clock=clock),
        ReferenceEngine(config=CONFIG, clock=clock),
        clock,
        ops,
        batch_size,
    )


@pytest.mark.cluster
@settings(SETTINGS, max_examples=40)
@given(ops=OPS, batch_size=BATCH_SIZES)
def test_batched_places_agree_on_a_redis_cluster(
    cluster_client: RedisCluster, ops: list[Op], batch_size: int
) -> None:
    cluster_client.flushall(target_nodes=RedisCluster.PRIMARIES)
    clock = FakeClock(T0)
    engine = RedisEngine(cluster_client, config=CONFIG, clock=clock)
    run_batched(engine, ReferenceEngine(config=CONFIG, clock=clock), clock, ops, batch_size)


@pytest.mark.cluster
@settings(SETTINGS, max_examples=60)
@given(ops=OPS)
def test_engines_agree_on_a_redis_cluster(cluster_client: RedisCluster, ops: list[Op]) -> None:
    cluster_client.flushall(target_nodes=RedisCluster.PRIMARIES)
    clock = FakeClock(T0)
    engine = RedisEngine(cluster_client, config=CONFIG, clock=clock)
    run_both(engine, ReferenceEngine(config=CONFIG, clock=clock), clock, ops)
    cluster_client.flushall(target_nodes=RedisCluster.PRIMARIES)
    clock.now = T0
    run_with_invariants(engine, clock, ops)
