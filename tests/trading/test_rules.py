"""The engine's rules, example by example, on the reference engine, a Redis server and a Redis
Cluster (the `engine` fixture)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.trading.conftest import FakeClock
from tests.trading.helpers import T0, ask, bid, cancel, modify
from trading.engine import MatchingEngine, RedisEngine
from trading.events import Expired, Trade
from trading.orders import (
    DAY_MS,
    CancelResult,
    ExpireOrders,
    ExpireResult,
    ModifyResult,
    OrderStatus,
    PlaceOrder,
    PlaceResult,
    RejectCode,
    Rejected,
    Side,
    TimeInForce,
)
from trading.reference import ReferenceEngine


def placed(engine: MatchingEngine, cmd: PlaceOrder) -> PlaceResult:
    result = engine.place(cmd)
    assert isinstance(result, PlaceResult), result
    return result


def trades(result: PlaceResult | ModifyResult) -> list[tuple[str, int, int, str, str]]:
    return [
        (t.trade_id, t.price_cents, t.quantity, t.maker_order_id, t.taker_order_id)
        for t in result.fills
    ]


def book_ids(engine: MatchingEngine, variant: str = "v1") -> tuple[list[str], list[str]]:
    snap = engine.snapshot(variant)
    return [o.order_id for o in snap.bids], [o.order_id for o in snap.asks]


@pytest.fixture(autouse=True)
def _book(engine: MatchingEngine) -> None:
    assert engine.open_book("v1") is True
    assert engine.open_book("v1") is False


def test_unknown_book_is_refused(engine: MatchingEngine) -> None:
    result = engine.place(bid("b1", "u1", 10_000, book="nope"))
    assert isinstance(result, Rejected)
    assert result.code is RejectCode.UNKNOWN_BOOK
    assert engine.snapshot("nope").bids == ()


def test_price_then_time_priority_and_maker_price(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 21_000))
    placed(engine, ask("a2", "s2", 20_000))
    placed(engine, ask("a3", "s3", 20_000))
    placed(engine, ask("a4", "s4", 19_000, 2))
    result = placed(engine, bid("b1", "u1", 20_500, 4))
    # best price first (a4 at 190.00), then the older of the two 200.00 asks, then the newer;
    # each trade at the resting ask's price, never the bid's 205.00
    assert trades(result) == [
        ("v1-6", 19_000, 2, "a4", "b1"),
        ("v1-7", 20_000, 1, "a2", "b1"),
        ("v1-8", 20_000, 1, "a3", "b1"),
    ]
    assert result.status is OrderStatus.FILLED
    assert result.sequence == 5
    assert book_ids(engine) == ([], ["a1"])


def test_bid_side_priority_mirrors_ask_side(engine: MatchingEngine) -> None:
    placed(engine, bid("b1", "u1", 10_000))
    placed(engine, bid("b2", "u2", 12_000))
    placed(engine, bid("b3", "u3", 12_000))
    placed(engine, bid("b4", "u4", 11_000))
    assert book_ids(engine) == (["b2", "b3", "b4", "b1"], [])
    result = placed(engine, ask("a1", "s1", 10_500, 3))
    assert trades(result) == [
        ("v1-6", 12_000, 1, "b2", "a1"),
        ("v1-7", 12_000, 1, "b3", "a1"),
        ("v1-8", 11_000, 1, "b4", "a1"),
    ]
    assert book_ids(engine) == (["b1"], [])


def test_partial_fill_rests_remainder_and_keeps_maker_partially(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_000, 5))
    result = placed(engine, bid("b1", "u1", 20_000, 2))
    assert result.filled_quantity == 2 and result.resting_quantity == 0
    maker = engine.order("v1", "a1")
    assert maker is not None
    assert (maker.remaining, maker.filled, maker.status) == (3, 2, OrderStatus.OPEN)
    result = placed(engine, bid("b2", "u2", 20_000, 7))
    assert result.filled_quantity == 3 and result.resting_quantity == 4
    assert result.status is OrderStatus.OPEN
    snap = engine.snapshot("v1")
    assert [(o.order_id, o.quantity) for o in snap.bids] == [("b2", 4)]
    assert snap.asks == ()


def test_no_trade_when_prices_do_not_cross(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_001))
    result = placed(engine, bid("b1", "u1", 20_000))
    assert result.fills == () and result.resting_quantity == 1
    assert book_ids(engine) == (["b1"], ["a1"])


def test_ioc_fills_what_it_can_and_never_rests(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_000, 1))
    placed(engine, ask("a2", "s2", 30_000, 1))
    result = placed(engine, bid("b1", "u1", 25_000, 3, ioc=True))
    assert trades(result) == [("v1-4", 20_000, 1, "a1", "b1")]
    assert result.cancelled_quantity == 2 and result.cancel_reason == "ioc"
    assert result.status is OrderStatus.CANCELLED
    assert book_ids(engine) == ([], ["a2"])
    nothing = placed(engine, ask("a3", "s3", 40_000, 1, ioc=True))
    assert nothing.fills == () and nothing.cancelled_quantity == 1
    assert book_ids(engine) == ([], ["a2"])


def test_self_trade_skips_own_orders_and_cancels_a_crossing_remainder(
    engine: MatchingEngine,
) -> None:
    placed(engine, ask("a1", "me", 20_000))  # my own ask, best price
    placed(engine, ask("a2", "s2", 20_000))  # someone else's, same price, later
    placed(engine, ask("a3", "s3", 20_500))
    result = placed(engine, bid("b1", "me", 21_000, 3))
    # passes over its own a1 (which keeps its place), trades with a2 and a3, and the last unit
    # would rest crossing a1, so it is cancelled instead of resting
    assert trades(result) == [("v1-5", 20_000, 1, "a2", "b1"), ("v1-6", 20_500, 1, "a3", "b1")]
    assert result.cancelled_quantity == 1 and result.cancel_reason == "self_trade"
    assert book_ids(engine) == ([], ["a1"])
    own = engine.order("v1", "a1")
    assert own is not None and own.remaining == 1 and own.filled == 0


def test_self_trade_remainder_rests_when_it_does_not_cross_own_orders(
    engine: MatchingEngine,
) -> None:
    placed(engine, ask("a1", "me", 30_000))
    result = placed(engine, bid("b1", "me", 20_000))
    assert result.resting_quantity == 1 and result.cancel_reason is None
    ioc = placed(engine, bid("b2", "me", 35_000, ioc=True))
    assert ioc.fills == () and ioc.cancel_reason == "ioc"
    assert book_ids(engine) == (["b1"], ["a1"])


def test_idempotent_place_returns_first_outcome_and_changes_nothing(
    engine: MatchingEngine, clock: FakeClock
) -> None:
    placed(engine, ask("a1", "s1", 20_000, 2))
    first = placed(engine, bid("b1", "u1", 20_000, 3))
    before = engine.snapshot("v1")
    clock.advance(1_000)
    # same id, different everything: still the first outcome
    again = placed(engine, bid("b1", "u1", 99_999, 1))
    assert again.replayed and not first.replayed
    assert again.fills == first.fills
    assert (again.status, again.resting_quantity, again.sequence) == (
        first.status,
        first.resting_quantity,
        first.sequence,
    )
    assert engine.snapshot("v1") == before


def test_replay_of_an_order_that_rested_whole_survives_what_happened_to_it_since(
    engine: MatchingEngine, clock: FakeClock
) -> None:
    # An order that simply rested is replayed from its own record: a later fill as maker, a
    # price change (new sequence) or a cancel must not change what the retry returns.
    orders = [bid("b1", "u1", 20_000, 3), bid("b2", "u2", 19_000, 2), bid("b3", "u3", 18_000)]
    first = [placed(engine, o) for o in orders]
    placed(engine, ask("a1", "s1", 20_000, 1))  # b1 partly filled as maker
    assert isinstance(engine.modify(modify("b2", "u2", 19_500, 1)), ModifyResult)
    assert isinstance(engine.cancel(cancel("b3", "u3")), CancelResult)
    clock.advance(5_000)
    for order, was in zip(orders, first, strict=True):
        again = placed(engine, order)
        assert again.replayed and dataclasses.replace(again, replayed=False) == was


def test_a_taker_sweeps_more_makers_than_one_read_of_the_book_holds(
    engine: MatchingEngine,
) -> None:
    # 45 asks a cent apart, every ninth the taker's own: one bid takes the other 40 in price
    # order and passes over its own (the Redis engine reads a side a few entries at a time).
    for i in range(45):
        placed(engine, ask(f"a{i}", "me" if i % 9 == 0 else f"s{i}", 20_000 + i))
    result = placed(engine, bid("b1", "me", 30_000, 40))
    makers = [i for i in range(45) if i % 9]
    assert [(t.maker_order_id, t.price_cents) for t in result.fills] == [
        (f"a{i}", 20_000 + i) for i in makers
    ]
    assert result.status is OrderStatus.FILLED and result.resting_quantity == 0
    assert book_ids(engine) == ([], [f"a{i}" for i in range(0, 45, 9)])


def test_replay_wins_over_later_validation(engine: MatchingEngine, clock: FakeClock) -> None:
    first = placed(engine, bid("b1", "u1", 20_000, expires_at=T0 + 1_000))
    clock.advance(5_000)  # the retry's expires_at is now in the past
    again = placed(engine, bid("b1", "u1", 20_000, expires_at=T0 + 1_000))
    assert again.replayed and again.sequence == first.sequence


def test_expired_orders_never_match_and_are_swept(engine: MatchingEngine, clock: FakeClock) -> None:
    placed(engine, ask("a1", "s1", 20_000, expires_at=T0 + 1_000))
    placed(engine, ask("a2", "s2", 21_000, expires_at=T0 + 60_000))
    clock.advance(1_000)  # a1 expires exactly now
    result = placed(engine, bid("b1", "u1", 22_000))
    assert trades(result) == [("v1-4", 21_000, 1, "a2", "b1")]
    assert any(isinstance(e, Expired) and e.order_id == "a1" for e in result.events)
    a1 = engine.order("v1", "a1")
    assert a1 is not None and a1.status is OrderStatus.EXPIRED and a1.expired == 1
    assert book_ids(engine) == ([], [])


def test_expired_maker_is_skipped_even_beyond_the_sweep_limit(
    engine: MatchingEngine, clock: FakeClock
) -> None:
    # more expired orders than the per-command sweep removes: the rest expire during matching
    n = engine.config.sweep_limit + 3
    for i in range(n):
        placed(engine, ask(f"old{i}", f"s{i}", 20_000, expires_at=T0 + 10))
    placed(engine, ask("fresh", "s", 20_000))
    clock.advance(10)
    result = placed(engine, bid("b1", "u1", 20_000))
    assert trades(result) == [(f"v1-{n + 3}", 20_000, 1, "fresh", "b1")]
    assert sum(isinstance(e, Expired) for e in result.events) == n


def test_expire_command_sweeps_and_reports(engine: MatchingEngine, clock: FakeClock) -> None:
    placed(engine, bid("b1", "u1", 10_000, 2, expires_at=T0 + 100))
    placed(engine, bid("b2", "u2", 10_000, 3, expires_at=T0 + 200))
    placed(engine, ask("a1", "s1", 20_000, 1, expires_at=T0 + 300))
    clock.advance(250)
    result = engine.expire(ExpireOrders(variant_id="v1"))
    assert isinstance(result, ExpireResult)
    assert result.expired_quantity == 5
    assert [e.order_id for e in result.events if isinstance(e, Expired)] == ["b1", "b2"]
    assert book_ids(engine) == ([], ["a1"])
    nothing = engine.expire(ExpireOrders(variant_id="v1"))
    assert isinstance(nothing, ExpireResult) and nothing.events == ()


def test_finished_orders_are_pruned_after_retention(
    engine: MatchingEngine, clock: FakeClock
) -> None:
    placed(engine, bid("b1", "u1", 10_000, ioc=True))
    clock.advance(engine.config.retention_ms + 1)
    result = engine.expire(ExpireOrders(variant_id="v1"))
    assert isinstance(result, ExpireResult) and result.pruned == 1
    assert engine.order("v1", "b1") is None


def test_pruning_takes_the_first_finished_up_to_the_limit(
    engine: MatchingEngine, clock: FakeClock
) -> None:
    placed(engine, bid("b1", "u1", 10_000, ioc=True))
    placed(engine, bid("b2", "u1", 10_000, ioc=True))
    placed(engine, ask("a1", "s1", 10_000))
    placed(engine, bid("b3", "u2", 10_000))  # one command finishes a1, then b3
    clock.advance(engine.config.retention_ms + 1)
    placed(engine, bid("b4", "u1", 10_000, ioc=True))  # finished after the cutoff
    first = engine.expire(ExpireOrders(variant_id="v1", limit=3))
    assert isinstance(first, ExpireResult) and first.pruned == 3
    known = {o: engine.order("v1", o) is not None for o in ("b1", "b2", "a1", "b3", "b4")}
    assert known == {"b1": False, "b2": False, "a1": False, "b3": True, "b4": True}
    rest = engine.expire(ExpireOrders(variant_id="v1", limit=10))
    assert isinstance(rest, ExpireResult) and rest.pruned == 1
    assert engine.order("v1", "b3") is None and engine.order("v1", "b4") is not None
    # a pruned id is new again
    assert not placed(engine, bid("b1", "u1", 10_000, ioc=True)).replayed


def test_cancel(engine: MatchingEngine, clock: FakeClock) -> None:
    placed(engine, bid("b1", "u1", 10_000, 3))
    not_mine = engine.cancel(cancel("b1", "u2"))
    assert isinstance(not_mine, Rejected) and not_mine.code is RejectCode.NOT_OWNER
    result = engine.cancel(cancel("b1", "u1"))
    assert isinstance(result, CancelResult) and result.cancelled_quantity == 3
    assert book_ids(engine) == ([], [])
    twice = engine.cancel(cancel("b1", "u1"))
    assert isinstance(twice, Rejected) and twice.code is RejectCode.ORDER_NOT_OPEN
    unknown = engine.cancel(cancel("zzz", "u1"))
    assert isinstance(unknown, Rejected) and unknown.code is RejectCode.UNKNOWN_ORDER
    placed(engine, bid("b2", "u1", 10_000, expires_at=T0 + 5))
    clock.advance(5)
    expired = engine.cancel(cancel("b2", "u1"))
    assert isinstance(expired, Rejected) and expired.code is RejectCode.ORDER_NOT_OPEN


def test_quantity_decrease_keeps_time_priority(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_000, 5))
    placed(engine, ask("a2", "s2", 20_000, 5))
    result = engine.modify(modify("a1", "s1", 20_000, 2))
    assert isinstance(result, ModifyResult)
    assert result.priority_kept and result.sequence == 1 and result.cancelled_quantity == 3
    assert book_ids(engine) == ([], ["a1", "a2"])
    fill = placed(engine, bid("b1", "u1", 20_000, 1))
    assert trades(fill)[0][3] == "a1"


def test_price_change_loses_time_priority(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_500))
    placed(engine, ask("a2", "s2", 20_000))
    result = engine.modify(modify("a1", "s1", 20_000, 1))
    assert isinstance(result, ModifyResult) and not result.priority_kept
    assert result.sequence == 3
    assert book_ids(engine) == ([], ["a2", "a1"])


def test_modify_can_trade_and_respects_self_trade(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_000, 1))
    placed(engine, ask("a2", "me", 20_000, 1))
    placed(engine, bid("b1", "me", 15_000, 3))
    result = engine.modify(modify("b1", "me", 20_000, 2))
    assert isinstance(result, ModifyResult)
    assert trades(result) == [("v1-5", 20_000, 1, "a1", "b1")]
    assert result.cancel_reason == "self_trade" and result.cancelled_quantity == 2
    assert result.status is OrderStatus.CANCELLED
    state = engine.order("v1", "b1")
    assert state is not None
    assert (state.filled, state.cancelled, state.remaining, state.submitted) == (1, 2, 0, 3)


def test_modify_rules(engine: MatchingEngine) -> None:
    placed(engine, ask("a1", "s1", 20_000, 2))
    more = engine.modify(modify("a1", "s1", 20_000, 3))
    assert isinstance(more, Rejected) and more.code is RejectCode.INVALID_QUANTITY
    same = engine.modify(modify("a1", "s1", 20_000, 2))
    assert isinstance(same, ModifyResult) and same.events == () and same.resting_quantity == 2
    bad_price = engine.modify(modify("a1", "s1", 50, 1))
    assert isinstance(bad_price, Rejected) and bad_price.code is RejectCode.INVALID_PRICE
    other = engine.modify(modify("a1", "s2", 20_000, 1))
    assert isinstance(other, Rejected) and other.code is RejectCode.NOT_OWNER
    assert book_ids(engine) == ([], ["a1"])


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (bid("b1", "u1", 99), RejectCode.INVALID_PRICE),
        (bid("b1", "u1", 10_000_001), RejectCode.INVALID_PRICE),
        (bid("b1", "u1", 10_000, 0), RejectCode.INVALID_QUANTITY),
        (bid("b1", "u1", 10_000, 101), RejectCode.INVALID_QUANTITY),
        (bid("b1", "u|1", 10_000), RejectCode.INVALID_ID),
        (bid("", "u1", 10_000), RejectCode.INVALID_ID),
        (bid("b1", "u1", 10_000, expires_at=T0), RejectCode.INVALID_EXPIRY),
        (bid("b1", "u1", 10_000, expires_at=T0 + 401 * DAY_MS), RejectCode.INVALID_EXPIRY),
        (
            PlaceOrder(
                variant_id="v1",
                order_id="b1",
                user_id="u1",
                side=Side.BID,
                price_cents=100.5,  # type: ignore[arg-type]
                quantity=1,
                expires_at=T0 + 1,
            ),
            RejectCode.INVALID_PRICE,
        ),
        (
            PlaceOrder(
                variant_id="v1",
                order_id="b1",
                user_id="u1",
                side="buy",  # type: ignore[arg-type]
                price_cents=10_000,
                quantity=1,
                expires_at=T0 + 1,
            ),
            RejectCode.INVALID_SIDE,
        ),
        (
            PlaceOrder(
                variant_id="v1",
                order_id="b1",
                user_id="u1",
                side=Side.BID,
                price_cents=10_000,
                quantity=1,
                time_in_force=TimeInForce.IOC,
                expires_at=T0 + 1,
            ),
            RejectCode.INVALID_EXPIRY,
        ),
        (
            PlaceOrder(
                variant_id="v1",
                order_id="b1",
                user_id="u1",
                side=Side.BID,
                price_cents=10_000,
                quantity=1,
                time_in_force="fok",  # type: ignore[arg-type]
                expires_at=T0 + 1,
            ),
            RejectCode.INVALID_TIME_IN_FORCE,
        ),
    ],
)
def test_validation_rejects_without_changing_anything(
    engine: MatchingEngine, cmd: PlaceOrder, code: RejectCode
) -> None:
    placed(engine, ask("a1", "s1", 10_000))
    before = engine.snapshot("v1")
    result = engine.place(cmd)
    assert isinstance(result, Rejected) and result.code is code
    assert engine.snapshot("v1") == before
    # the refused order id was not consumed: a valid place with it now works
    good = engine.place(bid("b1", "u9", 9_000))
    assert isinstance(good, PlaceResult) and not good.replayed


def test_trade_ids_are_unique_per_book_and_deterministic(engine: MatchingEngine) -> None:
    engine.open_book("v2")
    placed(engine, ask("a1", "s1", 10_000, book="v2"))
    r2 = placed(engine, bid("b1", "u1", 10_000, book="v2"))
    placed(engine, ask("a1", "s1", 10_000))
    r1 = placed(engine, bid("b1", "u1", 10_000))
    assert [t.trade_id for t in r1.fills] == ["v1-3"]
    assert [t.trade_id for t in r2.fills] == ["v2-3"]
    t = r1.fills[0]
    assert isinstance(t, Trade)
    assert (t.buyer_user_id, t.seller_user_id, t.bid_order_id, t.ask_order_id) == (
        "u1",
        "s1",
        "b1",
        "a1",
    )
    assert t.at == T0


def test_a_book_behind_the_callers_last_sequence_refuses_and_changes_nothing(
    engine: MatchingEngine,
) -> None:
    """After a failover to a replica that was behind, the book's sequence is below the last one
    the database saw: a place, a batch or a modify that names that floor is refused, so no trade
    id the database already holds is issued twice."""
    placed(engine, ask("a1", "s1", 20_000))
    before = engine.snapshot("v1")
    assert before.sequence == 1
    behind = dataclasses.replace(bid("b1", "u1", 20_000), min_sequence=2)
    result = engine.place(behind)
    assert isinstance(result, Rejected) and result.code is RejectCode.BOOK_BEHIND
    edit = dataclasses.replace(modify("a1", "s1", 19_000, 1), min_sequence=2)
    refused = engine.modify(edit)
    assert isinstance(refused, Rejected) and refused.code is RejectCode.BOOK_BEHIND
    assert engine.snapshot("v1") == before
    # at or above the floor the book trades as usual
    at_floor = dataclasses.replace(bid("b1", "u1", 20_000), min_sequence=1)
    assert trades(placed(engine, at_floor)) == [("v1-3", 20_000, 1, "a1", "b1")]


def test_a_book_opened_from_a_last_sequence_continues_above_it(
    engine: RedisEngine | ReferenceEngine,
) -> None:
    assert engine.open_book("v9", last_sequence=41) is True
    placed(engine, ask("a1", "s1", 20_000, book="v9"))
    result = placed(engine, bid("b1", "u1", 20_000, book="v9"))
    assert [t.trade_id for t in result.fills] == ["v9-44"]


def test_an_ioc_that_reaches_the_book_after_its_deadline_is_refused(
    engine: MatchingEngine, clock: FakeClock
) -> None:
    placed(engine, ask("a1", "s1", 20_000))
    late = dataclasses.replace(bid("b1", "u1", 20_000, ioc=True), deadline=clock() - 1)
    result = engine.place(late)
    assert isinstance(result, Rejected) and result.code is RejectCode.TOO_LATE
    assert book_ids(engine) == ([], ["a1"])
    in_time = dataclasses.replace(bid("b2", "u1", 20_000, ioc=True), deadline=clock() + 5_000)
    assert trades(placed(engine, in_time)) == [("v1-3", 20_000, 1, "a1", "b2")]
