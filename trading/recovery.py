"""Recovery: rebuild a book in Redis from the database's open orders, and reconcile the two.

The database is the system of record for open orders (the journal consumer writes them), so
losing Redis loses no open order: drain the journal into the database first, then call
`rebuild_book` with the open orders and the highest book sequence the database has seen (so new
trade ids never repeat old ones). `reconcile` lists every difference without changing anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trading.engine import Clock, parse_order, text, wall_clock_ms
from trading.keys import book_keys
from trading.market_data import Depth, TopOfBook, depth, top_of_book
from trading.orders import OrderState, OrderStatus, Side, valid_id
from trading.scripts import ScriptRunner

Value = str | int | None


@dataclass(frozen=True, kw_only=True)
class OpenOrder:
    """An open order as the database holds it."""

    order_id: str
    user_id: str
    side: Side
    price_cents: int
    remaining: int
    sequence: int
    """The book sequence the engine gave the order (Accepted/Rested/Modified events): its time
    priority."""
    expires_at: int


@dataclass(frozen=True, kw_only=True)
class Difference:
    kind: str
    """missing_in_redis | missing_in_database | mismatch | depth | top | book."""
    order_id: str | None = None
    field: str | None = None
    redis_value: Value = None
    database_value: Value = None


def _check(o: OpenOrder) -> None:
    if not (valid_id(o.order_id) and valid_id(o.user_id)):
        raise ValueError(f"bad ids in {o}")
    if o.side not in (Side.BID, Side.ASK) or o.remaining < 1 or o.price_cents < 1:
        raise ValueError(f"not an open order: {o}")
    if o.sequence < 1 or o.expires_at < 1:
        raise ValueError(f"missing sequence or expiry: {o}")


def rebuild_book(
    client: object,
    variant_id: str,
    orders: Iterable[OpenOrder],
    *,
    last_sequence: int = 0,
    clock: Clock = wall_clock_ms,
    chunk: int = 500,
) -> int:
    """Replace the book's resting orders with `orders`; returns the book's sequence after.

    The book is halted (commands get `book_halted`) from the first step to the last. Finished
    orders, idempotency records and the journal are kept. Orders already expired at `clock()`
    are loaded too and swept by the next command, so their expiry reaches the journal."""
    if not valid_id(variant_id):
        raise ValueError("bad variant_id")
    todo = list(orders)
    for o in todo:
        _check(o)
    keys = book_keys(variant_id)
    runner = ScriptRunner(client)
    base: list[str | int] = [variant_id, keys.channel, clock(), 0, 0]
    runner.call("rebuild_begin", keys.script_keys, [*base, last_sequence])
    for start in range(0, len(todo), chunk):
        args: list[str | int] = list(base)
        for o in todo[start : start + chunk]:
            args += [
                o.order_id,
                o.user_id,
                o.side.value,
                o.price_cents,
                o.remaining,
                o.sequence,
                o.expires_at,
            ]
        runner.call("rebuild_load", keys.script_keys, args)
    reply = runner.call("rebuild_end", keys.script_keys, base)
    return int(reply[1])


def reconcile(client: object, variant_id: str, orders: Iterable[OpenOrder]) -> list[Difference]:
    """Every difference between the book in Redis and the database's open orders, plus any
    inconsistency inside Redis (level totals or top of book not matching the resting orders)."""
    keys = book_keys(variant_id)
    runner = ScriptRunner(client)
    reply = runner.call("snapshot", keys.script_keys, [variant_id, keys.channel, 0, 0, 0])
    _seq, state, bm, br, am, ar = reply
    diffs: list[Difference] = []
    if text(state) != "open":
        diffs.append(Difference(kind="book", field="state", redis_value=text(state) or None))
    redis_orders = _resting_orders([*zip(bm, br, strict=True), *zip(am, ar, strict=True)], diffs)
    diffs += _order_differences(redis_orders, {o.order_id: o for o in orders})
    # the level totals and top of book must agree with the resting orders themselves
    d = depth(client, variant_id)
    diffs += _depth_differences(redis_orders, d)
    top = top_of_book(client, variant_id)
    if redis_orders or top.sequence:
        diffs += _top_differences(top, d)
    return diffs


def _resting_orders(
    members: Iterable[tuple[object, object]], diffs: list[Difference]
) -> dict[str, OrderState]:
    """The book's resting orders by id, from its (member, record) pairs; a member without a
    record, or whose record is not an open order at the member's sequence, adds a difference."""
    redis_orders = {}
    for m, r in members:
        member, record = text(m), text(r)
        oid = member[16:]
        if not record:
            diffs.append(Difference(kind="book", order_id=oid, field="record"))
            continue
        st = parse_order(oid, record)
        redis_orders[oid] = st
        if st.status is not OrderStatus.OPEN or int(member[:15]) != st.sequence:
            diffs.append(
                Difference(kind="book", order_id=oid, field="status", redis_value=st.status)
            )
    return redis_orders


def _order_differences(
    redis_orders: dict[str, OrderState], db: dict[str, OpenOrder]
) -> list[Difference]:
    """Orders on one side only, and fields that differ, in the database's order."""
    diffs: list[Difference] = []
    for oid, o in db.items():
        r = redis_orders.get(oid)
        if r is None:
            diffs.append(Difference(kind="missing_in_redis", order_id=oid))
            continue
        pairs: list[tuple[str, Value, Value]] = [
            ("user_id", r.user_id, o.user_id),
            ("side", r.side.value, o.side.value),
            ("price_cents", r.price_cents, o.price_cents),
            ("remaining", r.remaining, o.remaining),
            ("sequence", r.sequence, o.sequence),
            ("expires_at", r.expires_at, o.expires_at),
        ]
        for name, rv, dv in pairs:
            if rv != dv:
                diffs.append(
                    Difference(
                        kind="mismatch", order_id=oid, field=name, redis_value=rv, database_value=dv
                    )
                )
    for oid in redis_orders.keys() - db.keys():
        diffs.append(Difference(kind="missing_in_database", order_id=oid))
    return diffs


def _depth_differences(redis_orders: dict[str, OrderState], d: Depth) -> list[Difference]:
    """Price levels whose total quantity or order count differs from their resting orders."""
    expected: dict[tuple[str, int], list[int]] = {}
    for r in redis_orders.values():
        level = expected.setdefault((r.side.value, r.price_cents), [0, 0])
        level[0] += r.remaining
        level[1] += 1
    actual = {("bid", lv.price_cents): [lv.quantity, lv.orders] for lv in d.bids} | {
        ("ask", lv.price_cents): [lv.quantity, lv.orders] for lv in d.asks
    }
    return [
        Difference(
            kind="depth",
            field=f"{level_key[0]}@{level_key[1]}",
            redis_value=str(actual.get(level_key)),
            database_value=str(expected.get(level_key)),
        )
        for level_key in sorted(expected.keys() | actual.keys())
        if expected.get(level_key) != actual.get(level_key)
    ]


def _top_differences(top: TopOfBook, d: Depth) -> list[Difference]:
    """The stored top of book against the best levels."""
    best_bid = d.bids[0].price_cents if d.bids else None
    best_ask = d.asks[0].price_cents if d.asks else None
    diffs: list[Difference] = []
    if top.bid_cents != best_bid:
        diffs.append(
            Difference(kind="top", field="bid", redis_value=top.bid_cents, database_value=best_bid)
        )
    if top.ask_cents != best_ask:
        diffs.append(
            Difference(kind="top", field="ask", redis_value=top.ask_cents, database_value=best_ask)
        )
    return diffs
