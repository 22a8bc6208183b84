"""Placing, editing and cancelling bids and asks: validate, write the row, call the engine.

The row is committed first and then sent to the engine with its id as the engine's order id
(`b<id>` / `a<id>`), which is also the engine's idempotency key. If the process dies between
the two, `resubmit_unseen` sends the row again: the engine answers a replay with the first
outcome, so nothing happens twice. Trades, fills and status changes reach the database through
the journal consumer (services/journal.py), the one writer of what the engine decided.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, ParamSpec, cast

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import Integer, Select, Table, bindparam, exists, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from sneakers_app import logs, metrics
from sneakers_app.models import (
    Ask,
    Bid,
    EngineFill,
    ProductVariant,
    User,
    utcnow,
)
from sneakers_app.models import Trade as TradeRow
from sneakers_app.money import format_usd
from sneakers_app.redis_client import get_matching_engine
from sneakers_app.services import addresses, book_sequences, fees, notifications, orders, payments
from sneakers_app.services.read_once import forget, read_once
from sneakers_app.vocabulary import LISTING_OPEN, ListingStatus, match_headline
from trading.engine import RedisEngine
from trading.events import Trade, trade_row
from trading.orders import (
    DEFAULT_CONFIG,
    CancelOrder,
    ModifyOrder,
    PlaceOrder,
    PlaceResult,
    RejectCode,
    Rejected,
    Side,
    TimeInForce,
)

SideName = Literal["bid", "ask"]
P = ParamSpec("P")
_log = logs.get_logger(__name__)
BID_EXPIRY_DAYS = (1, 3, 7, 14, 30)
ASK_EXPIRY_DAYS = (7, 14, 30, 60, 90)
DEFAULT_EXPIRY_DAYS = 30
MIN_PRICE_CENTS = DEFAULT_CONFIG.min_price_cents
MAX_PRICE_CENTS = DEFAULT_CONFIG.max_price_cents
_CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
IOC_SEND_WINDOW = timedelta(seconds=10)
"""A Buy Now / Sell Now (IOC) is sent by the request that wrote it, within this long of being
written, or never: the engine refuses it after that (`too_late`), the resubmit sweep never
re-sends one and cancels it with a notice when the engine never saw it."""
BOOK_PAUSED = (
    "Trading in this size is paused for a moment while its order book is restored. Nothing "
    "was placed; please try again shortly."
)
ENGINE_UNSURE = (
    "The market did not answer in time. If your order went through it will show in your "
    "orders within a minute; if not, it is cancelled and nothing is charged."
)
_BOOK_FAULTS = frozenset({RejectCode.UNKNOWN_BOOK, RejectCode.BOOK_HALTED, RejectCode.BOOK_BEHIND})
_ENGINE_DOWN = (RedisConnectionError, RedisTimeoutError)


class MarketError(Exception):
    def __init__(self, message: str, field: str = "", *, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason or field or "rule"
        """Why, in a word that labels the refusal in the metrics (the field at fault, a rule,
        or the engine's code), never the text shown."""


@dataclass(frozen=True, kw_only=True)
class Placed:
    side: SideName
    row_id: int
    status: str
    filled_quantity: int
    resting_quantity: int
    message: str
    replayed: bool = False


def engine_order_id(side: SideName, row_id: int) -> str:
    return f"{side[0]}{row_id}"


def parse_engine_order_id(order_id: str) -> tuple[SideName, int] | None:
    if len(order_id) < 2 or order_id[0] not in "ba" or not order_id[1:].isdigit():
        return None
    return ("bid" if order_id[0] == "b" else "ask"), int(order_id[1:])


def _get(session: Session, side: SideName, row_id: int) -> Bid | Ask | None:
    return session.get(Bid, row_id) if side == "bid" else session.get(Ask, row_id)


def _by_client_key(session: Session, side: SideName, client_key: str) -> Bid | Ask | None:
    if side == "bid":
        return session.exec(select(Bid).where(Bid.client_key == client_key)).first()
    return session.exec(select(Ask).where(Ask.client_key == client_key)).first()


def _unseen(session: Session, side: SideName, cutoff: datetime) -> list[Bid | Ask]:
    table: Any = Bid if side == "bid" else Ask
    rows = session.exec(
        select(table).where(
            col(table.engine_accepted).is_(False),
            col(table.status).in_(LISTING_OPEN),
            col(table.created_at) <= cutoff,
        )
    ).all()
    return list(rows)


def check_price(price_cents: object, *, side: SideName) -> int:
    if not isinstance(price_cents, int) or isinstance(price_cents, bool):
        raise MarketError("Enter a price in whole cents.", "price")
    if price_cents < MIN_PRICE_CENTS:
        raise MarketError(f"The lowest price is ${MIN_PRICE_CENTS // 100}.", "price")
    if price_cents > MAX_PRICE_CENTS:
        raise MarketError(f"The highest price is ${MAX_PRICE_CENTS // 100:,}.", "price")
    if side == "ask" and price_cents < fees.minimum_ask_cents():
        raise MarketError(
            f"Asks start at ${fees.minimum_ask_cents() // 100}: below that the fees would "
            "exceed your payout.",
            "price",
        )
    return price_cents


def _check_client_key(client_key: str) -> str:
    if not _CLIENT_KEY.match(client_key or ""):
        raise MarketError(
            "This form has expired; reload the page and try again.", reason="form_expired"
        )
    return client_key


NO_CARD = "Add a card in your account as your payment method before you bid or buy."
NO_ADDRESS = "Add a shipping address before you bid or buy: it is where the pair goes."
NO_PAYOUT = "Add your payout details in your account before you sell."
NOT_YOUR_ADDRESS = "That address is not one of yours. Choose one of your saved addresses."
NOT_YOUR_CARD = "That card is not one of yours. Choose one of your saved cards."


def trade_blocker(*, session: Session, user_id: int, side: SideName) -> str:
    """Why the user may not bid or buy (a card on file, not blocked by failed charges) or ask
    or sell (payout details) now, or "" when they may."""
    return _blocked(order_facts(session=session, user_id=user_id, side=side), side)


def order_checks(
    *, session: Session, user_id: int, side: SideName, variant_id: int, price_cents: int
) -> tuple[str, int | None]:
    """(`trade_blocker`, `own_crossing_price`) for an order about to be placed, read in one
    query that placing it then reuses (the trade dialog checks before it places)."""
    facts = order_facts(
        session=session, user_id=user_id, side=side, variant_id=variant_id, price_cents=price_cents
    )
    return _blocked(facts, side), facts.crossing


@dataclass(frozen=True, kw_only=True)
class OrderFacts:
    """What the rules of placing an order read, in one round trip (`order_facts`)."""

    user_found: bool
    card_on_file: bool = False
    default_address_id: int | None = None
    card_failures: int = 0
    default_card_id: int | None = None
    payout: bool = False
    variant_found: bool = False
    crossing: int | None = None
    """The price of the user's own resting order this order would cross (None: none)."""
    recorded_sequence: int = 0
    """The book's last sequence the database recorded (`book_sequences.recorded`)."""


def order_facts(
    *,
    session: Session,
    user_id: int,
    side: SideName,
    variant_id: int | None = None,
    price_cents: int | None = None,
    now: datetime | None = None,
) -> OrderFacts:
    """Who may trade on this side (the user, their card on file and its recent failures, their
    default address and card, or their payout details) and, for an order of a size at a price,
    the size, the user's own crossing price and the book's recorded sequence: one query, read
    once per transaction (services/read_once.py)."""
    order = _is_id(variant_id) and _is_id(price_cents)
    key = ("facts", user_id, side) + ((variant_id, price_cents) if order else ())
    return read_once(
        session,
        key,
        lambda: _read_facts(
            session, user_id, side, variant_id if order else None, price_cents, now or utcnow()
        ),
    )


def _read_facts(
    session: Session,
    user_id: int,
    side: SideName,
    variant_id: int | None,
    price_cents: int | None,
    now: datetime,
) -> OrderFacts:
    params: dict[str, Any] = {"user_id": user_id}
    if side == "bid":
        params["since"] = now - payments.CARD_FAILURE_WINDOW
    if variant_id is not None:
        params |= {"variant_id": variant_id, "price_cents": price_cents}
    query = _facts_query(side, variant_id is not None)
    row = session.connection().execute(query, params).one()._mapping
    if not row["user_found"]:
        return OrderFacts(user_found=False, variant_found=bool(row.get("variant_found")))
    crossing = row.get("crossing")
    return OrderFacts(
        user_found=True,
        card_on_file=payments.has_card_on_file(row["customer"], row.get("method")),
        default_address_id=row["address_id"],
        card_failures=int(row.get("failures") or 0),
        default_card_id=row.get("card_id"),
        payout=bool(row.get("payout")),
        variant_found=bool(row.get("variant_found")),
        crossing=int(crossing) if crossing is not None else None,
        recorded_sequence=int(row.get("sequence") or 0),
    )


@functools.cache
def _facts_query(side: SideName, order: bool) -> Select[Any]:
    """The one query of `order_facts`, built once per side (bound parameters: user_id, since,
    variant_id, price_cents)."""
    user_id = bindparam("user_id", type_=Integer)
    users = User.__table__.c  # type: ignore[attr-defined]

    def of_user(column: Any) -> Any:
        return select(column).where(users.id == user_id).scalar_subquery()

    columns: list[Any] = [
        exists().where(users.id == user_id).label("user_found"),
        of_user(users.stripe_customer_id).label("customer"),
        addresses.default_address_id(user_id).label("address_id"),
    ]
    if side == "bid":
        columns += [
            of_user(users.default_payment_method_id).label("method"),
            payments.charge_failures_since(user_id, bindparam("since")).label("failures"),
            payments.default_card_id(user_id).label("card_id"),
        ]
    else:
        columns.append(payments.has_payout_account(user_id).label("payout"))
    if order:
        variant_id = bindparam("variant_id", type_=Integer)
        price = bindparam("price_cents", type_=Integer)
        variants = ProductVariant.__table__.c  # type: ignore[attr-defined]
        columns += [
            exists().where(variants.id == variant_id).label("variant_found"),
            _crossing_query(user_id, side, variant_id, price).label("crossing"),
            book_sequences.recorded_query(variant_id).label("sequence"),
        ]
    query: Select[Any] = select(*columns)
    return query


def _blocked(facts: OrderFacts, side: SideName) -> str:
    """Why the user these facts describe may not trade on this side, or ""."""
    if side == "bid":
        if not facts.user_found or not facts.card_on_file:
            return NO_CARD
        if facts.default_address_id is None:
            return NO_ADDRESS
        return payments.blocked_by_failures(facts.card_failures)
    if not facts.payout:
        return NO_PAYOUT
    return ""


def _check_party(facts: OrderFacts, side: SideName) -> None:
    """Refuses a user who may not trade on this side."""
    if not facts.user_found:
        raise MarketError("Log in to trade.", reason="not_logged_in")
    blocked = _blocked(facts, side)
    if blocked:
        raise MarketError(blocked, reason="cannot_trade")


@dataclass(frozen=True, kw_only=True)
class Destination:
    """What a listing keeps besides its price: a bid's shipping address and card, an ask's
    return address (None: none saved; the match falls back to the owner's default)."""

    address_id: int | None
    payment_card_id: int | None = None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_destination(
    *,
    session: Session,
    user_id: int,
    side: SideName,
    address_id: object = None,
    payment_card_id: object = None,
    facts: OrderFacts | None = None,
) -> Destination:
    """The address (and for a bid the card) a listing stores: the ones chosen, which must be
    the caller's own, else the defaults. A bid needs an address; an ask's return address is
    optional (the seller's default at the time of a return is used when it has none).
    A bid of a user whose card predates saved cards (no card row, only the user's default
    payment method) stores no card: the charge falls back to the user's default. `facts`: the
    user's `order_facts`, whose default address and card it uses (no query)."""
    facts = facts or order_facts(session=session, user_id=user_id, side=side)
    chosen: int | None
    if address_id is None:
        chosen = facts.default_address_id
    else:
        address = (
            addresses.find_owned(session=session, user_id=user_id, address_id=address_id)
            if isinstance(address_id, int)
            else None
        )
        if address is None:
            raise MarketError(NOT_YOUR_ADDRESS, "address")
        chosen = address.id
    if side == "ask":
        return Destination(address_id=chosen)
    if chosen is None:
        raise MarketError(NO_ADDRESS, "address")
    card_id: int | None
    if payment_card_id is None:
        card_id = facts.default_card_id
    else:
        card = payments.find_card(session=session, user_id=user_id, card_id=payment_card_id)
        if card is None:
            raise MarketError(NOT_YOUR_CARD, "card")
        card_id = card.id
    return Destination(address_id=chosen, payment_card_id=card_id)


def own_crossing_price(
    *, session: Session, user_id: int, side: str, variant_id: int, price_cents: int
) -> int | None:
    """The price of the user's own resting order that a new order at `price_cents` would cross
    (a bid at or above their own ask, an ask at or below their own bid), else None. The engine
    would cancel such an order (self-trade prevention, see docs/trading.md). Read once per
    transaction with the rest of `order_facts` (the trade dialog checks before it places, and
    placing checks again)."""
    return order_facts(
        session=session,
        user_id=user_id,
        side="bid" if side == "bid" else "ask",
        variant_id=variant_id,
        price_cents=price_cents,
    ).crossing


def _crossing_query(user_id: Any, side: str, variant_id: Any, price_cents: Any) -> Any:
    """SQL for `own_crossing_price` (values or bound parameters)."""
    if side == "bid":
        asks = Ask.__table__.c  # type: ignore[attr-defined]
        return (
            select(func.min(asks.price_cents))
            .where(
                asks.user_id == user_id,
                asks.variant_id == variant_id,
                asks.status.in_(LISTING_OPEN),
                asks.price_cents <= price_cents,
            )
            .scalar_subquery()
        )
    bids = Bid.__table__.c  # type: ignore[attr-defined]
    return (
        select(func.max(bids.price_cents))
        .where(
            bids.user_id == user_id,
            bids.variant_id == variant_id,
            bids.status.in_(LISTING_OPEN),
            bids.price_cents >= price_cents,
        )
        .scalar_subquery()
    )


def _refuse_self_match(side: SideName, own: int | None) -> None:
    """An order that would meet the same user's own resting order (`own`: its price) is refused
    up front (the engine would never trade them, see docs/trading.md, and would cancel it
    instead)."""
    if own is None:
        return
    if side == "bid":
        raise MarketError(
            f"This bid would match your own ask at {format_usd(own)}. Lower the bid or "
            "cancel that ask first.",
            "price",
            reason="self_match",
        )
    raise MarketError(
        f"This ask would match your own bid at {format_usd(own)}. Raise the ask or "
        "cancel that bid first.",
        "price",
        reason="self_match",
    )


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _counted(place: Callable[P, Placed]) -> Callable[P, Placed]:
    """Counts each order the engine took, or each refusal by its reason, in the metrics and the
    log (a replayed double submit counts neither); the refusals the trade ticket finds before
    placing are counted by `ticket.refusal`."""

    @functools.wraps(place)
    def counted(*args: P.args, **kwargs: P.kwargs) -> Placed:
        side = str(kwargs.get("side"))
        side = side if side in ("bid", "ask") else "unknown"
        immediate = bool(kwargs.get("immediate"))
        try:
            placed = place(*args, **kwargs)
        except MarketError as exc:
            metrics.order_refused(side, exc.reason)
            _log.info("listing refused", side=side, immediate=immediate, reason=exc.reason)
            raise
        if not placed.replayed:
            metrics.order_placed(side, immediate=immediate)
            _log.info(
                "listing placed",
                side=side,
                immediate=immediate,
                listing_id=placed.row_id,
                status=placed.status,
                filled=placed.filled_quantity,
            )
        return placed

    return counted


@_counted
def place(
    *,
    session: Session,
    engine: RedisEngine,
    user_id: int,
    side: SideName,
    variant_id: int,
    price_cents: int,
    client_key: str,
    expiry_days: int | None = None,
    immediate: bool = False,
    now: datetime | None = None,
    address_id: int | None = None,
    payment_card_id: int | None = None,
) -> Placed:
    """Place a bid or ask (GTC with an expiry), or Buy Now / Sell Now (`immediate`, IOC).

    A bid keeps the shipping address and card it was placed with (`address_id`,
    `payment_card_id`: the caller's own, None for their defaults); an ask its return address.
    A double submit with the same `client_key` returns the first order and places nothing new.
    """
    now = now or utcnow()
    if side not in ("bid", "ask"):
        raise MarketError("Unknown order side.")
    client_key = _check_client_key(client_key)
    price_cents = check_price(price_cents, side=side)
    if not _is_id(variant_id):
        raise MarketError("Choose a size.", "size")
    facts = order_facts(
        session=session,
        user_id=user_id,
        side=side,
        variant_id=variant_id,
        price_cents=price_cents,
        now=now,
    )
    if not facts.variant_found:
        raise MarketError("That size does not exist for this product.", "size")
    _check_party(facts, side)
    destination = resolve_destination(
        session=session,
        user_id=user_id,
        side=side,
        address_id=address_id,
        payment_card_id=payment_card_id,
        facts=facts,
    )
    _refuse_self_match(side, facts.crossing)
    expires_at: datetime | None = None
    if not immediate:
        allowed = BID_EXPIRY_DAYS if side == "bid" else ASK_EXPIRY_DAYS
        days = expiry_days if expiry_days is not None else DEFAULT_EXPIRY_DAYS
        if days not in allowed:
            raise MarketError(
                "Choose an expiry of " + ", ".join(str(d) for d in allowed) + " days.", "expiry"
            )
        expires_at = now + timedelta(days=days)
    values: dict[str, Any] = {
        "user_id": user_id,
        "variant_id": variant_id,
        "price_cents": price_cents,
        "quantity": 1,
        "filled_quantity": 0,
        "status": ListingStatus.OPEN,
        "time_in_force": "ioc" if immediate else "gtc",
        "client_key": client_key,
        "engine_accepted": False,
        "engine_sequence": 0,
        "expires_at": expires_at,
        "created_at": now,
        "updated_at": now,
        "address_id": destination.address_id,
    }
    if side == "bid":
        values["payment_card_id"] = destination.payment_card_id
    row_id = _insert_listing(session, side, values)
    if row_id is None:  # the key's order was placed first: a double submit
        session.rollback()
        again = _by_client_key(session, side, client_key)
        if again is None:
            raise MarketError(
                "This form has expired; reload the page and try again.", reason="form_expired"
            )
        return _placed_from_row(side, again, "Already placed.", replayed=True)
    session.commit()
    listing = _Listing(
        side=side,
        id=row_id,
        user_id=user_id,
        variant_id=variant_id,
        price_cents=price_cents,
        quantity=1,
        time_in_force=values["time_in_force"],
        expires_at=expires_at,
        created_at=now,
    )
    return _send(session, engine, listing, min_sequence=facts.recorded_sequence)


def _listing_table(side: SideName) -> Table:
    model: Any = Bid if side == "bid" else Ask
    return cast(Table, model.__table__)


def _insert_listing(session: Session, side: SideName, values: dict[str, Any]) -> int | None:
    """Insert a new bid or ask row; its id, or None when its client key is taken (a double
    submit). One statement, compiled once."""
    conn = session.connection()
    forget(session)
    found = conn.execute(_insert_statement(conn.dialect.name, side), values).first()
    return int(found[0]) if found is not None else None


@functools.cache
def _insert_statement(dialect: str, side: SideName) -> Any:
    table = _listing_table(side)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=["client_key"]).returning(table.c.id)


def repair_book(*, session: Session, engine: RedisEngine, variant_id: int) -> bool:
    """Rebuild a book that refused an order because Redis lost it or is behind (books.py);
    True when this call rebuilt it. A failure here leaves it to the next trigger (beat's
    repair_books)."""
    from sneakers_app.services import books

    try:
        return books.ensure_book(session=session, client=engine.client, variant_id=variant_id)
    except Exception:  # the answer to the user does not depend on it
        session.rollback()
        return False


def _book_refused(session: Session, engine: RedisEngine, variant_id: int, code: RejectCode) -> None:
    if code in _BOOK_FAULTS:
        repair_book(session=session, engine=engine, variant_id=variant_id)
        raise MarketError(BOOK_PAUSED, reason="book_paused")


@dataclass(frozen=True, kw_only=True)
class _Listing:
    """What the engine is sent of a bid or ask row."""

    side: SideName
    id: int
    user_id: int
    variant_id: int
    price_cents: int
    quantity: int
    time_in_force: str
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, side: SideName, row: Bid | Ask) -> _Listing:
        assert row.id is not None
        return cls(
            side=side,
            id=row.id,
            user_id=row.user_id,
            variant_id=row.variant_id,
            price_cents=row.price_cents,
            quantity=row.quantity,
            time_in_force=row.time_in_force,
            expires_at=row.expires_at,
            created_at=row.created_at,
        )


def _place_command(listing: _Listing, min_sequence: int) -> PlaceOrder:
    ioc = listing.time_in_force == "ioc"
    return PlaceOrder(
        variant_id=str(listing.variant_id),
        order_id=engine_order_id(listing.side, listing.id),
        user_id=str(listing.user_id),
        side=Side.BID if listing.side == "bid" else Side.ASK,
        price_cents=listing.price_cents,
        quantity=listing.quantity,
        time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
        expires_at=_epoch_ms(listing.expires_at) if listing.expires_at else None,
        deadline=_epoch_ms(listing.created_at + IOC_SEND_WINDOW) if ioc else None,
        min_sequence=min_sequence,
    )


def submit(*, session: Session, engine: RedisEngine, side: SideName, row: Bid | Ask) -> Placed:
    """Send a committed row to the engine (idempotent by the row's id).

    The book must exist and be at least at the sequence the database last recorded for it: a
    place never creates a book (one Redis lost would come back empty, at sequence 0, and issue
    trade ids the database already has). A book that refuses for that reason is rebuilt at once
    and the order is cancelled with a message to try again; only a book the database never
    recorded (a size nobody traded yet) is opened and the order sent again at once."""
    return _send(session, engine, _Listing.of(side, row), row=row)


def _send(
    session: Session,
    engine: RedisEngine,
    listing: _Listing,
    *,
    min_sequence: int | None = None,
    row: Bid | Ask | None = None,
) -> Placed:
    """`submit` of a committed listing; `min_sequence`: the book's recorded sequence when the
    caller read it in the transaction that wrote the row (else read now); `row`: the ORM row,
    kept in step with what is written."""
    side = listing.side
    if min_sequence is None:
        min_sequence = book_sequences.recorded(session, listing.variant_id)
    try:
        cmd = _place_command(listing, min_sequence)
        outcome = engine.place(cmd)
        if (
            isinstance(outcome, Rejected)
            and outcome.code is RejectCode.UNKNOWN_BOOK
            and cmd.min_sequence == 0
            and repair_book(session=session, engine=engine, variant_id=listing.variant_id)
        ):
            recorded = book_sequences.recorded(session, listing.variant_id)
            outcome = engine.place(_place_command(listing, recorded))
    except _ENGINE_DOWN as exc:
        # the engine may or may not have run it: the journal says which (an IOC the engine never
        # saw is cancelled with a notice by resubmit_unseen, never sent late)
        raise MarketError(ENGINE_UNSURE, reason="engine_unsure") from exc
    if isinstance(outcome, Rejected):
        values: dict[str, Any] = {"status": "cancelled", "updated_at": utcnow()}
        if outcome.code in _BOOK_FAULTS or outcome.code is RejectCode.TOO_LATE:
            # Never on the book, and the user is told to try again: the retry (the same form,
            # the same Idempotency-Key) must place the order, not replay this refusal.
            values["client_key"] = f"refused-{listing.side}-{listing.id}"
        _mark(session, listing, row, **values)
        session.commit()
        _book_refused(session, engine, listing.variant_id, outcome.code)
        if outcome.code is RejectCode.TOO_LATE:
            raise MarketError(
                "The market took too long to take your order, so it was cancelled. Nothing was "
                "bought or sold; please try again.",
                reason="engine_too_late",
            )
        raise MarketError(
            f"The order was refused: {outcome.message}", reason=f"engine_{outcome.code.value}"
        )
    _mark(session, listing, row, engine_sequence=outcome.sequence)
    _keep_fills(session, outcome.fills)
    session.commit()
    return _placed_from_result(side, listing.id, outcome)


def _mark(session: Session, listing: _Listing, row: Bid | Ask | None, **values: Any) -> None:
    """Record that the engine answered for this listing (`engine_accepted`, and `values`): one
    UPDATE of the columns named, compiled once; the ORM row, if any, is told without being
    written again."""
    values["engine_accepted"] = True
    conn = session.connection()
    forget(session)
    statement = _mark_statement(listing.side, tuple(sorted(values)))
    conn.execute(statement, {"mark_id": listing.id, **{f"mark_{k}": v for k, v in values.items()}})
    if row is not None:
        for name, value in values.items():
            set_committed_value(row, name, value)


@functools.cache
def _mark_statement(side: SideName, columns: tuple[str, ...]) -> Any:
    table = _listing_table(side)
    return (
        update(table)
        .where(table.c.id == bindparam("mark_id"))
        .values({c: bindparam(f"mark_{c}", type_=table.c[c].type) for c in columns})
    )


def _keep_fills(session: Session, fills: Iterable[Trade]) -> None:
    """Write the fills the engine just reported, in the commit before the user is told: if Redis
    loses the journal before the consumer records them, the book's rebuild does (books.py).
    One statement per fill, which writes nothing when the journal consumer recorded the trade
    first or the fill was kept already (a replayed outcome)."""
    conn = session.connection()
    statement = None
    for t in fills:
        if statement is None:
            forget(session)
            statement = _keep_fill_statement(conn.dialect.name)
        conn.execute(
            statement,
            {
                "fill_trade_id": t.trade_id,
                "fill_variant_id": int(t.variant_id),
                "fill_at_ms": t.at,
                "fill_event": json.dumps([trade_row(t)]),
                "fill_created_at": utcnow(),
            },
        )


@functools.cache
def _keep_fill_statement(dialect: str) -> Any:
    fills = cast(Table, EngineFill.__table__)  # type: ignore[attr-defined]
    trades = cast(Table, TradeRow.__table__)  # type: ignore[attr-defined]
    trade_id = bindparam("fill_trade_id", type_=fills.c.trade_id.type)
    chosen = select(  # type: ignore[call-overload]
        trade_id,
        bindparam("fill_variant_id", type_=fills.c.variant_id.type),
        bindparam("fill_at_ms", type_=fills.c.at_ms.type),
        bindparam("fill_event", type_=fills.c.event.type),
        bindparam("fill_created_at", type_=fills.c.created_at.type),
    ).where(~exists().where(trades.c.id == trade_id))
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(fills)
        .from_select(["trade_id", "variant_id", "at_ms", "event", "created_at"], chosen)
        .on_conflict_do_nothing(index_elements=["trade_id"])
    )


def _placed_from_result(side: SideName, row_id: int, result: PlaceResult) -> Placed:
    if result.filled_quantity and not result.resting_quantity:
        # The placer took a resting listing (Buy Now, Sell Now or a crossing price).
        role: Literal["buying", "selling"] = "buying" if side == "bid" else "selling"
        message = f"Matched! {match_headline(role, None)} it: follow the pair under Orders."
        status = "filled"
    elif result.filled_quantity:
        message = "Partly matched; the rest is live on the book."
        status = "partially_filled"
    elif result.resting_quantity:
        message = f"Your {side} is live."
        status = "open"
    elif result.cancel_reason == "self_trade":
        message = "Your order would have matched your own listing, so it was cancelled."
        status = "cancelled"
    else:
        message = "Nothing was available at that price, so nothing was bought or sold."
        status = "cancelled"
    return Placed(
        side=side,
        row_id=row_id,
        status=status,
        filled_quantity=result.filled_quantity,
        resting_quantity=result.resting_quantity,
        message=message,
        replayed=result.replayed,
    )


def _placed_from_row(side: SideName, row: Bid | Ask, message: str, *, replayed: bool) -> Placed:
    return Placed(
        side=side,
        row_id=row.id or 0,
        status=row.status,
        filled_quantity=row.filled_quantity,
        resting_quantity=row.quantity - row.filled_quantity if row.status in LISTING_OPEN else 0,
        message=message,
        replayed=replayed,
    )


def already_placed(
    *, session: Session, user_id: int, side: SideName, client_key: str
) -> Placed | None:
    """The order this user placed with `client_key`, as `place` replays it to a double submit
    (None: none yet). A retry found here costs no limit: nothing new is placed."""
    row = _by_client_key(session, side, client_key)
    if row is None or row.user_id != user_id:
        return None
    return _placed_from_row(side, row, "Already placed.", replayed=True)


def _own_open_row(session: Session, user_id: int, side: SideName, row_id: int) -> Bid | Ask:
    row = _get(session, side, row_id)
    if row is None or row.user_id != user_id:
        raise MarketError(f"That {side} was not found.", reason="not_found")
    if row.status not in LISTING_OPEN:
        raise MarketError(f"That {side} is no longer open.", reason="not_open")
    return row


def cancel(
    *,
    session: Session,
    engine: RedisEngine | None = None,
    user_id: int,
    side: SideName,
    row_id: int,
) -> None:
    """Cancel your own open (or paused) bid or ask (the consumer records the cancellation).
    `engine` defaults to the app's engine client."""
    paused = _get(session, side, row_id)
    if paused is not None and paused.user_id == user_id and paused.status == ListingStatus.PAUSED:
        paused.status = ListingStatus.CANCELLED  # no book holds it: nothing to tell the engine
        paused.updated_at = utcnow()
        session.add(paused)
        session.commit()
        return
    engine = engine or get_matching_engine()
    row = _own_open_row(session, user_id, side, row_id)
    _off_the_book(session, engine, side, row, ListingStatus.CANCELLED)
    session.commit()


def _off_the_book(
    session: Session, engine: RedisEngine, side: SideName, row: Bid | Ask, status: str
) -> None:
    """Take an open row out of its book in the engine (the one path cancelling and pausing
    share) and give it `status`; the caller commits."""
    assert row.id is not None
    outcome = engine.cancel(
        CancelOrder(
            variant_id=str(row.variant_id),
            order_id=engine_order_id(side, row.id),
            user_id=str(row.user_id),
        )
    )
    if isinstance(outcome, Rejected):
        _book_refused(session, engine, row.variant_id, outcome.code)
        raise MarketError(f"Could not cancel: {outcome.message}")
    row.status = status
    row.updated_at = utcnow()
    session.add(row)


def pause_bids(
    *,
    session: Session,
    engine: RedisEngine,
    user_id: int,
    address_id: int | None = None,
    payment_card_id: int | None = None,
) -> list[int]:
    """Pause the user's resting bids that use this address or card (about to be deleted): out
    of the book, so they cannot match with nowhere to ship or nothing to charge, until the user
    picks another (`resume_bid`). One notice per bid. Returns the paused bids' ids; the caller
    deletes the address or card and commits."""
    conditions = []
    if address_id is not None:
        conditions.append(col(Bid.address_id) == address_id)
    if payment_card_id is not None:
        conditions.append(col(Bid.payment_card_id) == payment_card_id)
    if not conditions:
        return []
    bids = session.exec(
        select(Bid).where(
            Bid.user_id == user_id, col(Bid.status).in_(LISTING_OPEN), or_(*conditions)
        )
    ).all()
    what = "card" if payment_card_id is not None else "address"
    paused: list[int] = []
    for bid in bids:
        if bid.time_in_force != "gtc":
            continue  # a Buy Now in flight either traded or is gone
        try:
            _off_the_book(session, engine, "bid", bid, ListingStatus.PAUSED)
        except MarketError:
            continue  # filled or gone meanwhile: the journal says which
        paused.append(bid.id or 0)
        notifications.notify(
            session=session,
            user_id=user_id,
            kind=notifications.Kind.BID_PAUSED,
            context={"bid_id": bid.id, "price_cents": bid.price_cents, "what": what},
            dedupe_key=f"bid_paused:{bid.id}",
        )
    return paused


def resume_bid(
    *,
    session: Session,
    engine: RedisEngine,
    user_id: int,
    bid_id: int,
    address_id: object = None,
    payment_card_id: object = None,
) -> Placed:
    """Put a paused bid back on the book with another address and card: the same price and
    expiry, with the time priority of now (a new row; the engine never reuses an order id, and
    a paused bid was out of the queue). The paused row ends cancelled; a second click replays."""
    paused = session.get(Bid, bid_id) if _is_id(bid_id) else None
    if paused is None or paused.user_id != user_id:
        raise MarketError("That bid was not found.")
    client_key = f"resume-{paused.id}"
    existing = _by_client_key(session, "bid", client_key)
    if existing is not None:
        return _placed_from_row("bid", existing, "Already back on the market.", replayed=True)
    if paused.status != ListingStatus.PAUSED:
        raise MarketError("That bid is not paused.")
    now = utcnow()
    if paused.expires_at is not None and orders.aware(paused.expires_at) <= now:
        paused.status = ListingStatus.EXPIRED
        paused.updated_at = now
        session.add(paused)
        session.commit()
        raise MarketError("That bid has expired. Place a new one.")
    facts = order_facts(
        session=session,
        user_id=user_id,
        side="bid",
        variant_id=paused.variant_id,
        price_cents=paused.price_cents,
    )
    _check_party(facts, "bid")
    destination = resolve_destination(
        session=session,
        user_id=user_id,
        side="bid",
        address_id=address_id,
        payment_card_id=payment_card_id,
        facts=facts,
    )
    _refuse_self_match("bid", facts.crossing)
    row = Bid(
        user_id=user_id,
        variant_id=paused.variant_id,
        price_cents=paused.price_cents,
        quantity=paused.quantity - paused.filled_quantity,
        time_in_force="gtc",
        client_key=client_key,
        expires_at=paused.expires_at,
        created_at=now,
        updated_at=now,
        address_id=destination.address_id,
        payment_card_id=destination.payment_card_id,
    )
    paused.status = ListingStatus.CANCELLED
    paused.updated_at = now
    session.add(paused)
    session.add(row)
    session.commit()
    return submit(session=session, engine=engine, side="bid", row=row)


def cancel_bids_of_blocked_buyer(
    *, session: Session, engine: RedisEngine, user_id: int, now: datetime | None = None
) -> int:
    """A buyer whose card was declined twice cannot buy until the card is updated: their
    resting bids are taken off the book (each as if they cancelled it) and they are told once.
    Does nothing while the card is not blocked; returns how many bids were cancelled."""
    if not payments.card_blocked_reason(session=session, user_id=user_id, now=now):
        return 0
    bids = session.exec(
        select(Bid.id).where(Bid.user_id == user_id, col(Bid.status).in_(LISTING_OPEN))
    ).all()
    cancelled: list[int] = []
    for bid_id in bids:
        try:
            cancel(session=session, engine=engine, user_id=user_id, side="bid", row_id=bid_id or 0)
        except MarketError:
            continue  # filled or cancelled meanwhile
        cancelled.append(bid_id or 0)
    if cancelled:
        notifications.notify(
            session=session,
            user_id=user_id,
            kind=notifications.Kind.BIDS_CANCELLED_CARD,
            context={"count": len(cancelled)},
            dedupe_key=f"bids_cancelled_card:{user_id}:{max(cancelled)}",
        )
        session.commit()
    return len(cancelled)


def edit_price(
    *,
    session: Session,
    engine: RedisEngine | None = None,
    user_id: int,
    side: SideName,
    row_id: int,
    price_cents: int,
) -> Placed:
    """Change the price of your open bid or ask (it loses its place in the queue). `engine`
    defaults to the app's engine client."""
    engine = engine or get_matching_engine()
    row = _own_open_row(session, user_id, side, row_id)
    price_cents = check_price(price_cents, side=side)
    if side == "bid":
        _check_party(order_facts(session=session, user_id=user_id, side=side), side)
    remaining = row.quantity - row.filled_quantity
    outcome = engine.modify(
        ModifyOrder(
            variant_id=str(row.variant_id),
            order_id=engine_order_id(side, row_id),
            user_id=str(user_id),
            price_cents=price_cents,
            quantity=remaining,
            min_sequence=book_sequences.recorded(session, row.variant_id),
        )
    )
    if isinstance(outcome, Rejected):
        _book_refused(session, engine, row.variant_id, outcome.code)
        raise MarketError(f"Could not change the price: {outcome.message}")
    row.price_cents = price_cents
    row.engine_sequence = outcome.sequence
    row.updated_at = utcnow()
    session.add(row)
    _keep_fills(session, (e for e in outcome.events if isinstance(e, Trade)))
    session.commit()
    filled = remaining - outcome.resting_quantity - outcome.cancelled_quantity
    return Placed(
        side=side,
        row_id=row_id,
        status="filled" if outcome.resting_quantity == 0 and filled else row.status,
        filled_quantity=filled,
        resting_quantity=outcome.resting_quantity,
        message="Matched at the new price!" if filled else "Price updated.",
    )


def _drop_unsent_immediate(
    session: Session, engine: RedisEngine, side: SideName, row: Bid | Ask, emails: list[int] | None
) -> bool:
    """An IOC row the engine has not seen, past its send window: cancel it and tell the user,
    unless the engine did see it (the journal consumer then records what happened)."""
    assert row.id is not None
    if engine.order(str(row.variant_id), engine_order_id(side, row.id)) is not None:
        return False
    row.status = "cancelled"
    row.updated_at = utcnow()
    session.add(row)
    result = notifications.notify(
        session=session,
        user_id=row.user_id,
        kind=notifications.Kind.ORDER_NOT_PLACED,
        context={
            "variant_id": row.variant_id,
            "price_cents": row.price_cents,
            "action": "Buy Now" if side == "bid" else "Sell Now",
        },
        dedupe_key=f"not_placed:{side}:{row.id}",
    )
    session.commit()
    if result is not None and result.email_notification_id is not None and emails is not None:
        emails.append(result.email_notification_id)
    return True


def resubmit_unseen(
    *,
    session: Session,
    engine: RedisEngine,
    older_than: timedelta = timedelta(seconds=30),
    emails: list[int] | None = None,
) -> int:
    """Repair a crash between writing a row and calling the engine: send the bids and asks it
    has not seen. A Buy Now / Sell Now (IOC) is never sent late: one the engine has not seen
    after IOC_SEND_WINDOW is cancelled with a notice (a user who saw it fail may already have
    clicked again: sending it now could buy twice). The notices' email ids go to `emails`, for
    the caller to send after this returns."""
    cutoff = utcnow() - older_than
    ioc_cutoff = utcnow() - IOC_SEND_WINDOW
    sent = 0
    sides: tuple[SideName, ...] = ("bid", "ask")
    for side in sides:
        for row in _unseen(session, side, max(cutoff, ioc_cutoff)):
            if row.time_in_force == "ioc":
                if row.created_at <= ioc_cutoff:
                    _drop_unsent_immediate(session, engine, side, row, emails)
                continue
            if row.created_at > cutoff:
                continue
            if row.time_in_force == "gtc" and row.expires_at and row.expires_at <= utcnow():
                row.status = "expired"
                session.add(row)
                session.commit()
                continue
            try:
                submit(session=session, engine=engine, side=side, row=row)
            except MarketError:
                continue
            sent += 1
    return sent


def relist_ask(
    *, session: Session, engine: RedisEngine, ask_id: int, reason_key: str
) -> Placed | None:
    """Put a seller's ask back on the book after the buyer's payment failed, if still valid.

    The re-listed ask is a new row (the engine never reuses an order id) with the same price and
    expiry; `reason_key` (e.g. the order id) makes a repeated call re-list once.
    """
    original = session.get(Ask, ask_id)
    if original is None or original.time_in_force != "gtc" or original.expires_at is None:
        return None
    if original.expires_at <= utcnow():
        return None
    client_key = f"relist-{reason_key}"[:64]
    existing = session.exec(select(Ask).where(Ask.client_key == client_key)).first()
    if existing is not None:
        return _placed_from_row("ask", existing, "Already re-listed.", replayed=True)
    row = Ask(
        user_id=original.user_id,
        variant_id=original.variant_id,
        price_cents=original.price_cents,
        quantity=1,
        time_in_force="gtc",
        client_key=client_key,
        expires_at=original.expires_at,
        address_id=original.address_id,
    )
    session.add(row)
    session.commit()
    return submit(session=session, engine=engine, side="ask", row=row)
