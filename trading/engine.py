"""The Redis matching engine: each command is one EVALSHA of one book's script.

All state of a book lives under the hash tag `{book:<variant_id>}` (see keys.py), so a command is
atomic per book and the engine runs unchanged on a single Redis or a Redis Cluster. The clock is
passed in (epoch milliseconds), and trade ids come from the book's own sequence, so a test can
assert the exact trades a stream of commands produces.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from trading.events import Cancelled, Event, Expired, events_from_data
from trading.keys import BookKeys, book_keys
from trading.orders import (
    DEFAULT_CONFIG,
    BookSnapshot,
    CancelOrder,
    CancelOutcome,
    CancelResult,
    Command,
    EngineConfig,
    ExpireOrders,
    ExpireOutcome,
    ExpireResult,
    ModifyOrder,
    ModifyOutcome,
    OrderState,
    OrderStatus,
    PlaceOrder,
    PlaceOutcome,
    RejectCode,
    Rejected,
    RestingOrder,
    Side,
    TimeInForce,
    cancel_shape_error,
    expire_shape_error,
    modify_shape_error,
    place_shape_error,
    reject,
)
from trading.outcomes import modify_result, parse_events, place_result
from trading.scripts import Args, ScriptRunner

Clock = Callable[[], int]
_OK = (b"ok", "ok")
BATCH_SIZE = 500
"""Orders per `place_batch` script call in `place_many` (one book's orders per call)."""
Outcome = PlaceOutcome | CancelOutcome | ModifyOutcome | ExpireOutcome


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class MatchingEngine(Protocol):
    """What both engines offer (RedisEngine and reference.ReferenceEngine)."""

    config: EngineConfig

    def open_book(self, variant_id: str) -> bool: ...
    def place(self, cmd: PlaceOrder) -> PlaceOutcome: ...
    def cancel(self, cmd: CancelOrder) -> CancelOutcome: ...
    def modify(self, cmd: ModifyOrder) -> ModifyOutcome: ...
    def expire(self, cmd: ExpireOrders) -> ExpireOutcome: ...
    def snapshot(self, variant_id: str) -> BookSnapshot: ...
    def order(self, variant_id: str, order_id: str) -> OrderState | None: ...


def execute(engine: MatchingEngine, cmd: Command) -> Outcome:
    if isinstance(cmd, PlaceOrder):
        return engine.place(cmd)
    if isinstance(cmd, CancelOrder):
        return engine.cancel(cmd)
    if isinstance(cmd, ModifyOrder):
        return engine.modify(cmd)
    return engine.expire(cmd)


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_order(order_id: str, record: str) -> OrderState:
    """An order record from the book's orders hash (format in keys.py)."""
    st, side, user, price, orig, rem, filled, cxl, expq, seq, exp, tif = record.split("|")[:12]
    return OrderState(
        order_id=order_id,
        user_id=user,
        side=Side(side),
        status=OrderStatus(st),
        price_cents=int(price),
        submitted=int(orig),
        remaining=int(rem),
        filled=int(filled),
        cancelled=int(cxl),
        expired=int(expq),
        sequence=int(seq),
        expires_at=int(exp),
        time_in_force=TimeInForce(tif),
    )


def _resting(member: str, record: str) -> RestingOrder:
    o = parse_order(member[16:], record)
    return RestingOrder(
        order_id=o.order_id,
        user_id=o.user_id,
        side=o.side,
        price_cents=o.price_cents,
        quantity=o.remaining,
        sequence=o.sequence,
        expires_at=o.expires_at,
    )


class RedisEngine:
    """Matching engine over a redis-py `Redis` or `RedisCluster` client (bytes or str replies)."""

    def __init__(
        self,
        client: Any,
        *,
        config: EngineConfig = DEFAULT_CONFIG,
        clock: Clock = wall_clock_ms,
        load_scripts: bool = True,
    ) -> None:
        self.client = client
        self.config = config
        self.clock = clock
        self.scripts = ScriptRunner(client)
        if load_scripts:
            self.scripts.load_all()

    # -- plumbing -------------------------------------------------------------------------------

    def _args(self, keys: BookKeys, now: int, *rest: str | int) -> list[str | int]:
        c = self.config
        return [keys.variant_id, keys.channel, now, c.sweep_limit, c.recent_trades, *rest]

    def _place_args(self, cmd: PlaceOrder, now: int) -> tuple[Sequence[str], Args]:
        keys = book_keys(cmd.variant_id)
        c = self.config
        args = self._args(
            keys,
            now,
            *_order_slots(cmd),
            c.min_price_cents,
            c.max_price_cents,
            c.max_quantity,
            c.max_expiry_ms,
            cmd.min_sequence,
        )
        return keys.script_keys, args

    @staticmethod
    def _rejected(variant_id: str, order_id: str | None, reply: list[Any]) -> Rejected:
        return reject(variant_id, order_id, RejectCode(text(reply[1])), text(reply[2]))

    def _events(self, variant_id: str, reply: list[Any]) -> tuple[Event, ...]:
        return parse_events(text(reply[1]), variant_id=variant_id, at=int(text(reply[2])))

    def _place_outcome(self, cmd: PlaceOrder, reply: list[Any]) -> PlaceOutcome:
        kind = reply[0]
        if kind in _OK:  # the common case first, without decoding
            events = parse_events(reply[1], variant_id=cmd.variant_id, at=int(reply[2]))
            return place_result(cmd.variant_id, cmd.order_id, events)
        if text(kind) == "replay":
            at, _, raw = text(reply[1]).partition("|")
            events = parse_events(raw, variant_id=cmd.variant_id, at=int(at))
            return place_result(cmd.variant_id, cmd.order_id, events, replayed=True)
        return self._rejected(cmd.variant_id, cmd.order_id, reply)

    # -- commands -------------------------------------------------------------------------------

    def open_book(self, variant_id: str, *, reopen: bool = False, last_sequence: int = 0) -> bool:
        """Create the book (idempotent). True when it was created or reopened just now.

        A book created now starts from `last_sequence`: the last sequence the system of record
        saw from it (0 for a new book). A book that held orders and was lost with Redis must be
        rebuilt (trading.recovery.rebuild_book), not opened: opening brings no order back."""
        keys = book_keys(variant_id)
        args = self._args(keys, self.clock(), "1" if reopen else "0", last_sequence)
        reply = self.scripts.call("open_book", keys.script_keys, args)
        return int(reply[1]) == 1

    def place(self, cmd: PlaceOrder) -> PlaceOutcome:
        bad = place_shape_error(cmd)
        if bad:
            return bad
        keys, args = self._place_args(cmd, self.clock())
        return self._place_outcome(cmd, self.scripts.call("place", keys, args))

    def place_many(
        self, cmds: Sequence[PlaceOrder], *, batch_size: int = BATCH_SIZE
    ) -> list[PlaceOutcome]:
        """Place many orders, returning one outcome per command in the same order.

        The orders of one book go to that book's `place_batch` script, up to `batch_size` per
        call: each call is one atomic step that places its orders one after the other, with the
        same outcomes (fills, trade ids, rests, refusals, replays) as calling `place` for each
        in that order at the same clock, and writes one journal entry holding every placed
        order's events in order. The calls for all books go out in one pipelined round trip
        (per node on a cluster); across books there is no ordering guarantee."""
        now = self.clock()
        out: list[PlaceOutcome | None] = [place_shape_error(c) for c in cmds]
        groups = _batches(cmds, out, batch_size)

        def calls() -> Iterator[tuple[Sequence[str], Args]]:
            # built one at a time: the first goes out while the next ones are being built
            for keys, group in groups:
                yield keys.script_keys, self._place_batch_args(keys, now, [cmds[i] for i in group])

        def handle(k: int, reply: list[Any]) -> None:
            group = groups[k][1]
            outcomes = self._place_batch_outcomes([cmds[i] for i in group], reply)
            for i, outcome in zip(group, outcomes, strict=True):
                out[i] = outcome

        if groups:
            self.scripts.call_each("place_batch", calls(), handle)
        return [r for r in out if r is not None]

    def _place_batch_args(self, keys: BookKeys, now: int, batch: Sequence[PlaceOrder]) -> Args:
        """One `place_batch` call's arguments: the bounds, the batch's sequence floor, then
        seven slots per order."""
        c = self.config
        bounds = (c.min_price_cents, c.max_price_cents, c.max_quantity, c.max_expiry_ms)
        args = self._args(keys, now, *bounds, max(cmd.min_sequence for cmd in batch))
        for cmd in batch:
            args += _order_slots(cmd)
        return args

    def _place_batch_outcomes(
        self, batch: Sequence[PlaceOrder], reply: list[Any]
    ) -> list[PlaceOutcome]:
        """One outcome per order of a `place_batch` call, in the batch's order."""
        if reply[0] not in _OK:  # the book refused the whole batch
            return [self._rejected(cmd.variant_id, cmd.order_id, reply) for cmd in batch]
        # the journal entry's events, and per order how many of them are its own (or its
        # replay or refusal)
        events, layout, at = json.loads(reply[1]), json.loads(reply[2]), int(reply[3])
        outcomes: list[PlaceOutcome] = []
        pos = 0
        for cmd, item in zip(batch, layout, strict=True):
            v, oid = cmd.variant_id, cmd.order_id
            if type(item) is int:
                own = events_from_data(events[pos : pos + item], variant_id=v, at=at)
                outcomes.append(place_result(v, oid, own))
                pos += item
            elif item[0] == "replay":
                own = events_from_data(item[2], variant_id=v, at=item[1])
                outcomes.append(place_result(v, oid, own, replayed=True))
            else:
                outcomes.append(reject(v, oid, RejectCode(item[1]), item[2]))
        return outcomes

    def cancel(self, cmd: CancelOrder) -> CancelOutcome:
        bad = cancel_shape_error(cmd)
        if bad:
            return bad
        keys = book_keys(cmd.variant_id)
        args = self._args(keys, self.clock(), cmd.order_id, cmd.user_id)
        reply = self.scripts.call("cancel", keys.script_keys, args)
        if text(reply[0]) == "rej":
            return self._rejected(cmd.variant_id, cmd.order_id, reply)
        events = self._events(cmd.variant_id, reply)
        cancelled = sum(
            e.quantity for e in events if isinstance(e, Cancelled) and e.order_id == cmd.order_id
        )
        return CancelResult(
            variant_id=cmd.variant_id,
            order_id=cmd.order_id,
            cancelled_quantity=cancelled,
            events=events,
        )

    def modify(self, cmd: ModifyOrder) -> ModifyOutcome:
        bad = modify_shape_error(cmd)
        if bad:
            return bad
        keys = book_keys(cmd.variant_id)
        c = self.config
        args = self._args(
            keys,
            self.clock(),
            cmd.order_id,
            cmd.user_id,
            cmd.price_cents,
            cmd.quantity,
            c.min_price_cents,
            c.max_price_cents,
            c.max_quantity,
            cmd.min_sequence,
        )
        reply = self.scripts.call("modify", keys.script_keys, args)
        if text(reply[0]) == "rej":
            return self._rejected(cmd.variant_id, cmd.order_id, reply)
        events = self._events(cmd.variant_id, reply)
        if not events:
            state = self.order(cmd.variant_id, cmd.order_id)
            assert state is not None
            return modify_result(
                cmd.variant_id,
                cmd.order_id,
                (),
                unchanged_sequence=state.sequence,
                unchanged_quantity=state.remaining,
            )
        return modify_result(cmd.variant_id, cmd.order_id, events)

    def expire(self, cmd: ExpireOrders) -> ExpireOutcome:
        bad = expire_shape_error(cmd)
        if bad:
            return bad
        keys = book_keys(cmd.variant_id)
        args = self._args(keys, self.clock(), cmd.limit, self.config.retention_ms)
        reply = self.scripts.call("expire", keys.script_keys, args)
        if text(reply[0]) == "rej":
            return self._rejected(cmd.variant_id, None, reply)
        events = self._events(cmd.variant_id, reply)
        return ExpireResult(
            variant_id=cmd.variant_id,
            expired_quantity=sum(e.quantity for e in events if isinstance(e, Expired)),
            pruned=int(reply[3]),
            events=events,
        )

    def execute(self, cmd: Command) -> Outcome:
        return execute(self, cmd)

    # -- reads ----------------------------------------------------------------------------------

    def snapshot(self, variant_id: str) -> BookSnapshot:
        """Every resting order in priority order, read atomically by one script."""
        keys = book_keys(variant_id)
        reply = self.scripts.call("snapshot", keys.script_keys, self._args(keys, self.clock()))
        seq, _state, bm, br, am, ar = reply
        return BookSnapshot(
            variant_id=variant_id,
            sequence=int(text(seq)),
            bids=tuple(_resting(text(m), text(r)) for m, r in zip(bm, br, strict=True)),
            asks=tuple(_resting(text(m), text(r)) for m, r in zip(am, ar, strict=True)),
        )

    def order(self, variant_id: str, order_id: str) -> OrderState | None:
        record = self.client.hget(book_keys(variant_id).orders, order_id)
        return None if record is None else parse_order(order_id, text(record))


def _batches(
    cmds: Sequence[PlaceOrder], out: Sequence[PlaceOutcome | None], batch_size: int
) -> list[tuple[BookKeys, list[int]]]:
    """The indexes of the commands not refused yet (`out[i] is None`), per book in their order,
    cut into batches of at most `batch_size`."""
    by_book: dict[str, list[int]] = {}
    for i, r in enumerate(out):
        if r is None:
            by_book.setdefault(cmds[i].variant_id, []).append(i)
    groups: list[tuple[BookKeys, list[int]]] = []
    for variant_id, idx in by_book.items():
        keys = book_keys(variant_id)
        groups += ((keys, idx[at : at + batch_size]) for at in range(0, len(idx), batch_size))
    return groups


def _order_slots(cmd: PlaceOrder) -> tuple[str | int, ...]:
    """An order's seven slots in the place scripts' arguments."""
    return (
        cmd.order_id,
        cmd.user_id,
        cmd.side.value,
        cmd.price_cents,
        cmd.quantity,
        cmd.time_in_force.value,
        cmd.expires_at or cmd.deadline or 0,  # an IOC's slot holds its deadline
    )
