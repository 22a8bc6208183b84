"""Random command streams for the property tests, and the invariants every engine must keep.

The invariants are written against the engine's public reads (snapshot, order) and its events,
never against its internals, so each can catch a broken engine on its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import strategies as st

from trading.engine import MatchingEngine
from trading.events import Accepted, Cancelled, Event, Expired, Modified, Trade
from trading.orders import (
    CancelOrder,
    Command,
    ExpireOrders,
    ModifyOrder,
    PlaceOrder,
    PlaceResult,
    RestingOrder,
    Side,
    TimeInForce,
)

BOOKS = ("A", "B")
USERS = ("u0", "u1", "u2", "u3")
PRICES = (9_800, 9_900, 10_000, 10_100, 10_200, 50)  # 50 cents is out of bounds: a rejection
QUANTITIES = st.sampled_from([1, 2, 3, 4, 5] * 4 + [0, 101])

place_op = st.tuples(
    st.just("place"),
    st.integers(0, len(BOOKS) - 1),
    st.integers(0, len(USERS) - 1),
    st.sampled_from(["bid", "ask"]),
    st.sampled_from([0, 1, 2, 3, 4] * 4 + [-1]),  # price step, see to_command
    QUANTITIES,
    st.booleans() | st.just(False),
    st.sampled_from([100, 1_000, 5_000, 60_000, 3_600_000]) | st.integers(1, 10_000),
    st.integers(0, 99_999),  # a multiple of 10 replays an earlier order id
)
_OTHER_OPS = {
    "cancel": st.tuples(st.just("cancel"), st.integers(0, 10_000), st.booleans() | st.just(False)),
    "modify": st.tuples(
        st.just("modify"),
        st.integers(0, 10_000),
        st.sampled_from(PRICES[:5]),
        st.integers(1, 5),
        st.sampled_from([False, False, True]),
    ),
    "expire": st.tuples(st.just("expire"), st.integers(0, len(BOOKS) - 1)),
    "tick": st.tuples(st.just("tick"), st.integers(1, 2_000)),
}
# weighted: places dominate, so books fill up and trade
OPS = st.lists(
    st.sampled_from(
        ["place"] * 6 + ["cancel", "modify", "modify", "expire", "tick", "tick"]
    ).flatmap(lambda kind: place_op if kind == "place" else _OTHER_OPS[kind]),
    min_size=20,
    max_size=80,
)


@dataclass
class StreamState:
    """What the test driver remembers: ids it placed (to replay, cancel, modify them)."""

    placed: list[tuple[str, str, str]] = field(default_factory=list)  # (book, order id, user)
    counter: int = 0


def to_command(op: tuple[object, ...], s: StreamState, now: int) -> Command | int | None:
    """A command, or an int (advance the clock by that many ms), or None (nothing to do)."""
    kind = op[0]
    if kind == "tick":
        assert isinstance(op[1], int)
        return op[1]
    if kind == "expire":
        assert isinstance(op[1], int)
        return ExpireOrders(variant_id=BOOKS[op[1]])
    if kind == "place":
        _, b, u, side, step, qty, ioc, exp_in, replay = op
        assert isinstance(b, int) and isinstance(u, int) and isinstance(exp_in, int)
        assert isinstance(step, int) and isinstance(qty, int) and isinstance(side, str)
        # small steps are aggressive (bids high, asks low) so streams trade a lot; -1 is an
        # out-of-bounds price
        price = 50 if step < 0 else (10_200 - 100 * step if side == "bid" else 9_800 + 100 * step)
        book, user = BOOKS[b], USERS[u]
        assert isinstance(replay, int)
        if replay % 10 == 0 and s.placed:
            book, order_id, user = s.placed[(replay // 10) % len(s.placed)]
        else:
            s.counter += 1
            order_id = f"o{s.counter}"
            s.placed.append((book, order_id, user))
        return PlaceOrder(
            variant_id=book,
            order_id=order_id,
            user_id=user,
            side=Side(side),
            price_cents=price,
            quantity=qty,
            time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
            expires_at=None if ioc else now + exp_in,
        )
    if not s.placed:
        return None
    assert isinstance(op[1], int)
    book, order_id, user = s.placed[op[1] % len(s.placed)]
    if kind == "cancel":
        return CancelOrder(
            variant_id=book, order_id=order_id, user_id="intruder" if op[2] else user
        )
    _, _, new_price, new_qty, intruder = op
    assert isinstance(new_price, int) and isinstance(new_qty, int)
    return ModifyOrder(
        variant_id=book,
        order_id=order_id,
        user_id="intruder" if intruder else user,
        price_cents=new_price,
        quantity=new_qty,
    )


def events_of(outcome: object) -> tuple[Event, ...]:
    return tuple(getattr(outcome, "events", ()))


def _priority(o: RestingOrder) -> tuple[int, int]:
    return (-o.price_cents if o.side is Side.BID else o.price_cents, o.sequence)


class Ledger:
    """Per-order totals rebuilt from the events alone, to check conservation of quantity."""

    def __init__(self) -> None:
        self.submitted: dict[str, int] = defaultdict(int)
        self.filled: dict[str, int] = defaultdict(int)
        self.cancelled: dict[str, int] = defaultdict(int)
        self.expired: dict[str, int] = defaultdict(int)
        self.book_of: dict[str, str] = {}

    def add(self, book: str, events: tuple[Event, ...]) -> None:
        for e in events:
            if isinstance(e, Accepted):
                self.submitted[e.order_id] += e.quantity
                self.book_of[e.order_id] = book
            elif isinstance(e, Trade):
                self.filled[e.maker_order_id] += e.quantity
                self.filled[e.taker_order_id] += e.quantity
            elif isinstance(e, Cancelled):
                self.cancelled[e.order_id] += e.quantity
            elif isinstance(e, Expired):
                self.expired[e.order_id] += e.quantity
            elif isinstance(e, Modified):
                self.cancelled[e.order_id] += e.old_quantity - e.new_quantity


def check_invariants(
    engine: MatchingEngine,
    cmd: Command,
    outcome: object,
    before: dict[str, tuple[RestingOrder, ...]],
    now: int,
    ledger: Ledger,
    first_outcomes: dict[str, PlaceResult],
) -> None:
    book = cmd.variant_id
    snap = engine.snapshot(book)
    after = snap.bids + snap.asks
    replayed = isinstance(outcome, PlaceResult) and outcome.replayed
    events = () if replayed else events_of(outcome)  # a replay's events happened before
    # 1. never crossed, and each side in price-then-time order
    if snap.bids and snap.asks:
        assert snap.bids[0].price_cents < snap.asks[0].price_cents, ("crossed", snap)
    for side in (snap.bids, snap.asks):
        keys = [_priority(o) for o in side]
        assert keys == sorted(keys), ("side out of priority order", side)
    # 2. every trade: another user, the maker's price, an unexpired maker, within the limit,
    #    and no better-priority eligible resting order left behind
    prior = {o.order_id: o for o in before[book]}
    remaining_after = {o.order_id: o for o in after}
    for t in (e for e in events if isinstance(e, Trade)):
        assert t.maker_user_id != t.taker_user_id, ("self trade", t)
        maker = prior.get(t.maker_order_id)
        assert maker is not None, ("maker was not resting before", t)
        assert t.price_cents == maker.price_cents, ("not the maker's price", t)
        assert maker.expires_at > now, ("expired maker traded", t)
        limit = getattr(cmd, "price_cents", None)
        assert limit is not None
        if t.taker_side == "bid":
            assert t.price_cents <= limit, ("above the bid's limit", t)
        else:
            assert t.price_cents >= limit, ("below the ask's limit", t)
        for x in before[book]:
            if (
                x.side == maker.side
                and _priority(x) < _priority(maker)
                and x.user_id != t.taker_user_id
                and x.expires_at > now
            ):
                assert x.order_id not in remaining_after, ("priority skipped", x, t)
    # 3. conservation per order, from the events; and the engine's own counters agree
    ledger.add(book, events)
    for order_id in {getattr(e, "order_id", None) for e in events} | {
        getattr(e, "maker_order_id", None) for e in events
    }:
        if order_id is None or order_id not in ledger.submitted:
            continue
        resting = remaining_after[order_id].quantity if order_id in remaining_after else 0
        total = (
            ledger.filled[order_id]
            + resting
            + ledger.cancelled[order_id]
            + ledger.expired[order_id]
        )
        assert total == ledger.submitted[order_id], ("quantity not conserved", order_id)
        state = engine.order(book, order_id)
        assert state is not None
        assert state.filled == ledger.filled[order_id], ("filled", state)
        assert state.remaining == resting, ("remaining", state)
        assert state.filled + state.remaining + state.cancelled + state.expired == state.submitted
    # 4. a replayed order id changes nothing and returns the first outcome
    if isinstance(cmd, PlaceOrder) and isinstance(outcome, PlaceResult):
        if outcome.replayed:
            first = first_outcomes[cmd.order_id]
            assert outcome.fills == first.fills and outcome.sequence == first.sequence
            assert after == before[book], "a replay changed the book"
        else:
            assert cmd.order_id not in first_outcomes, "an order id was accepted twice"
            first_outcomes[cmd.order_id] = outcome
