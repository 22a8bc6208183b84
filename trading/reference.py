"""The reference engine: the same rules as the Lua scripts, in plain in-memory Python.

It exists to be compared with RedisEngine (tests/trading/test_properties.py feeds both the same
random command streams and expects the same events, results and books) and as a speed baseline.
It is written to be obviously the rules rather than fast: sorted lists, one dict per order.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trading.events import Event, Expired, event_from_json
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
from trading.outcomes import modify_result, place_result

Clock = Callable[[], int]
Json = dict[str, Any]


@dataclass
class _Order:
    id: str
    status: str
    side: str
    user: str
    price: int
    orig: int
    rem: int
    filled: int
    cxl: int
    expq: int
    seq: int
    exp: int
    tif: str

    @property
    def member(self) -> str:
        return f"{self.seq:015d}|{self.id}"

    def score(self) -> int:
        return -self.price if self.side == "bid" else self.price


@dataclass
class _Book:
    variant_id: str
    state: str = "open"
    seq: int = 0
    sides: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: {"bid": [], "ask": []})
    """(score, member) sorted ascending, exactly like the ZSETs."""
    depth: dict[str, dict[int, list[int]]] = field(default_factory=lambda: {"bid": {}, "ask": {}})
    orders: dict[str, _Order] = field(default_factory=dict)
    outcomes: dict[str, tuple[int, list[Json]]] = field(default_factory=dict)
    expiry: list[tuple[int, str]] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)
    trades: list[tuple[int, str, int, int, str]] = field(default_factory=list)
    """Recent trades newest first: (at, trade id, price, quantity, taker side)."""


class _Command:
    """One command's working set: events so far, like the Lua prelude's locals."""

    def __init__(self, book: _Book, now: int, cfg: EngineConfig) -> None:
        self.book = book
        self.now = now
        self.cfg = cfg
        self.events: list[Json] = []
        self.trades: list[Json] = []

    def level_add(self, side: str, price: int, dq: int, dn: int) -> None:
        levels = self.book.depth[side]
        level = levels.setdefault(price, [0, 0])
        level[0] += dq
        level[1] += dn
        if level[1] <= 0:
            del levels[price]

    def rest(self, o: _Order) -> None:
        bisect.insort(self.book.sides[o.side], (o.score(), o.member))
        entry = (o.exp, o.id)
        i = bisect.bisect_left(self.book.expiry, entry)
        if i == len(self.book.expiry) or self.book.expiry[i] != entry:
            self.book.expiry.insert(i, entry)
        self.level_add(o.side, o.price, o.rem, 1)

    def unrest(self, o: _Order) -> None:
        side = self.book.sides[o.side]
        side.pop(bisect.bisect_left(side, (o.score(), o.member)))
        self.level_add(o.side, o.price, -o.rem, -1)

    def finish(self, o: _Order) -> None:
        entry = (o.exp, o.id)
        i = bisect.bisect_left(self.book.expiry, entry)
        if i < len(self.book.expiry) and self.book.expiry[i] == entry:
            self.book.expiry.pop(i)
        self.book.done[o.id] = self.now

    def expire_order(self, o: _Order) -> None:
        self.unrest(o)
        self.events.append(
            {"type": "expired", "order": o.id, "user": o.user, "side": o.side}
            | {"price": o.price, "qty": o.rem}
        )
        o.expq += o.rem
        o.rem = 0
        o.status = "expired"
        self.finish(o)

    def sweep(self, limit: int) -> int:
        due = [oid for exp, oid in self.book.expiry[:limit] if exp <= self.now]
        for oid in due:
            self.expire_order(self.book.orders[oid])
        return len(due)

    def match(self, t: _Order) -> int:
        opp_side = "ask" if t.side == "bid" else "bid"
        opp = self.book.sides[opp_side]
        idx = skipped = 0
        while t.rem > 0 and idx < len(opp):
            score, member = opp[idx]
            mprice = score if opp_side == "ask" else -score
            if (t.side == "bid" and mprice > t.price) or (t.side == "ask" and mprice < t.price):
                break
            m = self.book.orders[member[16:]]
            if m.exp <= self.now:
                self.expire_order(m)
            elif m.user == t.user:
                idx += 1
                skipped += 1
            else:
                q = min(t.rem, m.rem)
                self.book.seq += 1
                m.rem -= q
                m.filled += q
                t.rem -= q
                t.filled += q
                trade = {
                    "type": "trade",
                    "trade": f"{self.book.variant_id}-{self.book.seq}",
                    "price": mprice,
                    "qty": q,
                    "maker": m.id,
                    "maker_user": m.user,
                    "taker": t.id,
                    "taker_user": t.user,
                    "side": t.side,
                    "maker_left": m.rem,
                    "taker_left": t.rem,
                    "seq": self.book.seq,
                }
                self.events.append(trade)
                self.trades.append(trade)
                if m.rem == 0:
                    opp.pop(idx)
                    self.level_add(m.side, mprice, -q, -1)
                    m.status = "filled"
                    self.finish(m)
                else:
                    self.level_add(m.side, mprice, -q, 0)
        return skipped

    def settle(self, t: _Order, skipped: int) -> None:
        if t.rem > 0:
            reason = "ioc" if t.tif == "ioc" else "self_trade" if skipped > 0 else None
            if reason:
                self.events.append(
                    {"type": "cancelled", "order": t.id, "user": t.user, "side": t.side}
                    | {"price": t.price, "qty": t.rem, "reason": reason}
                )
                t.cxl += t.rem
                t.rem = 0
            else:
                self.rest(t)
                self.events.append(
                    {"type": "rested", "order": t.id, "user": t.user, "side": t.side}
                    | {"price": t.price, "qty": t.rem, "seq": t.seq, "exp": t.exp}
                )
        if t.rem == 0:
            t.status = "filled" if t.filled == t.orig else "cancelled"
            self.finish(t)

    def commit(self) -> tuple[Event, ...]:
        for trade in self.trades:
            self.book.trades.insert(
                0, (self.now, trade["trade"], trade["price"], trade["qty"], trade["side"])
            )
        del self.book.trades[self.cfg.recent_trades :]
        return tuple(
            event_from_json(e, variant_id=self.book.variant_id, at=self.now) for e in self.events
        )


def _check_book(
    book: _Book | None, variant_id: str, order_id: str | None, floor: int = 0
) -> Rejected | None:
    if book is None:
        return reject(
            variant_id, order_id, RejectCode.UNKNOWN_BOOK, "no order book for this variant"
        )
    if book.state != "open":
        return reject(
            variant_id, order_id, RejectCode.BOOK_HALTED, "the order book is being rebuilt"
        )
    if book.seq < floor:
        return reject(
            variant_id,
            order_id,
            RejectCode.BOOK_BEHIND,
            "the order book is behind the database and must be rebuilt",
        )
    return None


def _bounds(v: str, o: str, price: int, qty: int, cfg: EngineConfig) -> Rejected | None:
    if not cfg.min_price_cents <= price <= cfg.max_price_cents:
        return reject(v, o, RejectCode.INVALID_PRICE, "price out of bounds")
    if not 1 <= qty <= cfg.max_quantity:
        return reject(v, o, RejectCode.INVALID_QUANTITY, "quantity out of bounds")
    return None


class ReferenceEngine:
    """In-memory engine with RedisEngine's interface and rules."""

    def __init__(self, *, config: EngineConfig = DEFAULT_CONFIG, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.books: dict[str, _Book] = {}

    def open_book(self, variant_id: str, *, reopen: bool = False, last_sequence: int = 0) -> bool:
        book = self.books.get(variant_id)
        if book is None:
            self.books[variant_id] = _Book(variant_id=variant_id)
            self.books[variant_id].seq = last_sequence
            return True
        if book.state != "open" and reopen:
            book.state = "open"
            return True
        return False

    def place(self, cmd: PlaceOrder) -> PlaceOutcome:
        bad = place_shape_error(cmd)
        if bad:
            return bad
        now, cfg, v, oid = self.clock(), self.config, cmd.variant_id, cmd.order_id
        book = self.books.get(v)
        bad = _check_book(book, v, oid, cmd.min_sequence)
        if bad:
            return bad
        assert book is not None
        if oid in book.outcomes:
            at, raw = book.outcomes[oid]
            events = tuple(event_from_json(e, variant_id=v, at=at) for e in raw)
            return place_result(v, oid, events, replayed=True)
        bad = _bounds(v, oid, cmd.price_cents, cmd.quantity, cfg)
        if bad:
            return bad
        exp = 0
        if cmd.time_in_force == TimeInForce.GTC:
            assert cmd.expires_at is not None
            exp = cmd.expires_at
            if not now < exp <= now + cfg.max_expiry_ms:
                return reject(
                    v, oid, RejectCode.INVALID_EXPIRY, "a GTC order needs expires_at in the future"
                )
        elif cmd.deadline and cmd.deadline <= now:
            return reject(
                v, oid, RejectCode.TOO_LATE, "the order reached the book after its deadline"
            )
        c = _Command(book, now, cfg)
        c.sweep(cfg.sweep_limit)
        book.seq += 1
        o = _Order(
            id=oid,
            status="open",
            side=cmd.side.value,
            user=cmd.user_id,
            price=cmd.price_cents,
            orig=cmd.quantity,
            rem=cmd.quantity,
            filled=0,
            cxl=0,
            expq=0,
            seq=book.seq,
            exp=exp,
            tif=cmd.time_in_force.value,
        )
        c.events.append(
            {"type": "accepted", "order": oid, "user": o.user, "side": o.side, "price": o.price}
            | {"qty": o.orig, "tif": o.tif, "exp": exp, "seq": o.seq}
        )
        book.orders[oid] = o
        c.settle(o, c.match(o))
        book.outcomes[oid] = (now, list(c.events))
        return place_result(v, oid, c.commit())

    def _open_order(
        self, book: _Book | None, v: str, oid: str, user: str, now: int, floor: int = 0
    ) -> _Order | Rejected:
        bad = _check_book(book, v, oid, floor)
        if bad:
            return bad
        assert book is not None
        o = book.orders.get(oid)
        if o is None:
            return reject(v, oid, RejectCode.UNKNOWN_ORDER, "no such order in this book")
        if o.user != user:
            return reject(v, oid, RejectCode.NOT_OWNER, "the order belongs to another user")
        if o.status != "open":
            return reject(v, oid, RejectCode.ORDER_NOT_OPEN, f"the order is {o.status}")
        if o.exp <= now:
            return reject(v, oid, RejectCode.ORDER_NOT_OPEN, "the order has expired")
        return o

    def cancel(self, cmd: CancelOrder) -> CancelOutcome:
        bad = cancel_shape_error(cmd)
        if bad:
            return bad
        now, v = self.clock(), cmd.variant_id
        book = self.books.get(v)
        o = self._open_order(book, v, cmd.order_id, cmd.user_id, now)
        if isinstance(o, Rejected):
            return o
        assert book is not None
        c = _Command(book, now, self.config)
        c.sweep(self.config.sweep_limit)
        c.unrest(o)
        c.events.append(
            {"type": "cancelled", "order": o.id, "user": o.user, "side": o.side}
            | {"price": o.price, "qty": o.rem, "reason": "user"}
        )
        cancelled = o.rem
        o.cxl += o.rem
        o.rem = 0
        o.status = "cancelled"
        c.finish(o)
        return CancelResult(
            variant_id=v, order_id=o.id, cancelled_quantity=cancelled, events=c.commit()
        )

    def modify(self, cmd: ModifyOrder) -> ModifyOutcome:
        bad = modify_shape_error(cmd)
        if bad:
            return bad
        now, v, price, qty = self.clock(), cmd.variant_id, cmd.price_cents, cmd.quantity
        book = self.books.get(v)
        o = self._open_order(book, v, cmd.order_id, cmd.user_id, now, cmd.min_sequence)
        if isinstance(o, Rejected):
            return o
        assert book is not None
        bad = _bounds(v, o.id, price, qty, self.config)
        if bad:
            return bad
        if qty > o.rem:
            return reject(
                v,
                o.id,
                RejectCode.INVALID_QUANTITY,
                "quantity can only go down; place a new order for more",
            )
        if price == o.price and qty == o.rem:
            return modify_result(v, o.id, (), unchanged_sequence=o.seq, unchanged_quantity=o.rem)
        c = _Command(book, now, self.config)
        c.sweep(self.config.sweep_limit)
        old_price, old_qty = o.price, o.rem
        if price == o.price:
            c.level_add(o.side, o.price, qty - o.rem, 0)
            o.cxl += o.rem - qty
            o.rem = qty
            kept = 1
        else:
            c.unrest(o)
            o.cxl += o.rem - qty
            o.rem = qty
            o.price = price
            book.seq += 1
            o.seq = book.seq
            kept = 0
        c.events.append(
            {"type": "modified", "order": o.id, "user": o.user, "side": o.side}
            | {"old_price": old_price, "price": price, "old_qty": old_qty, "qty": qty}
            | {"kept": kept, "seq": o.seq}
        )
        if not kept:
            c.settle(o, c.match(o))
        return modify_result(v, o.id, c.commit())

    def expire(self, cmd: ExpireOrders) -> ExpireOutcome:
        bad = expire_shape_error(cmd)
        if bad:
            return bad
        now, v = self.clock(), cmd.variant_id
        book = self.books.get(v)
        bad = _check_book(book, v, None)
        if bad:
            return bad
        assert book is not None
        c = _Command(book, now, self.config)
        c.sweep(cmd.limit)
        cutoff = now - self.config.retention_ms
        old: list[str] = []  # the first finished, up to the first one finished after the cutoff
        for oid, t in book.done.items():
            if t > cutoff or len(old) == cmd.limit:
                break
            old.append(oid)
        for oid in old:
            book.orders.pop(oid, None)
            book.outcomes.pop(oid, None)
            del book.done[oid]
        events = c.commit()
        return ExpireResult(
            variant_id=v,
            expired_quantity=sum(e.quantity for e in events if isinstance(e, Expired)),
            pruned=len(old),
            events=events,
        )

    def execute(self, cmd: Command) -> PlaceOutcome | CancelOutcome | ModifyOutcome | ExpireOutcome:
        if isinstance(cmd, PlaceOrder):
            return self.place(cmd)
        if isinstance(cmd, CancelOrder):
            return self.cancel(cmd)
        if isinstance(cmd, ModifyOrder):
            return self.modify(cmd)
        return self.expire(cmd)

    # -- reads ----------------------------------------------------------------------------------

    def _resting(self, book: _Book, member: str) -> RestingOrder:
        o = book.orders[member[16:]]
        return RestingOrder(
            order_id=o.id,
            user_id=o.user,
            side=Side(o.side),
            price_cents=o.price,
            quantity=o.rem,
            sequence=o.seq,
            expires_at=o.exp,
        )

    def snapshot(self, variant_id: str) -> BookSnapshot:
        book = self.books.get(variant_id) or _Book(variant_id=variant_id)
        return BookSnapshot(
            variant_id=variant_id,
            sequence=book.seq,
            bids=tuple(self._resting(book, m) for _, m in book.sides["bid"]),
            asks=tuple(self._resting(book, m) for _, m in book.sides["ask"]),
        )

    def order(self, variant_id: str, order_id: str) -> OrderState | None:
        book = self.books.get(variant_id)
        o = book.orders.get(order_id) if book else None
        if o is None:
            return None
        return OrderState(
            order_id=o.id,
            user_id=o.user,
            side=Side(o.side),
            status=OrderStatus(o.status),
            price_cents=o.price,
            submitted=o.orig,
            remaining=o.rem,
            filled=o.filled,
            cancelled=o.cxl,
            expired=o.expq,
            sequence=o.seq,
            expires_at=o.exp,
            time_in_force=TimeInForce(o.tif),
        )

    def depth(self, variant_id: str, side: Side) -> list[tuple[int, int, int]]:
        """(price, quantity, order count) best first, from the maintained level totals."""
        book = self.books.get(variant_id)
        if book is None:
            return []
        levels = book.depth[side.value]
        prices = sorted(levels, reverse=side is Side.BID)
        return [(p, levels[p][0], levels[p][1]) for p in prices]

    def recent_trades(self, variant_id: str) -> list[tuple[int, str, int, int, str]]:
        book = self.books.get(variant_id)
        return list(book.trades) if book else []
