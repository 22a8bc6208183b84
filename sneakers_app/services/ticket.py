"""The trade ticket: what the Buy Now / Place Bid / Sell Now / Place Ask dialog says before and
when its user confirms (no Reflex here).

- who may trade (`blocker`, the rule `market.place` applies too): a card on file to buy or bid,
  payout details to sell or ask;
- the quote (`quote`): the fee lines with their labels (from the `FeeSchedule`), the total or
  payout, the price hints (bid the lowest ask, beat the highest bid by the $1 step, sell now at
  the highest bid, undercut the lowest ask, never below the minimum ask), the fixed price of a
  Buy Now / Sell Now;
- the expiry choices of a bid or an ask;
- what refuses an order before it is placed (`refusal`): the price bounds, the blocker, and an
  order that would meet the user's own resting order (the engine would cancel it, see
  docs/trading.md).

Money is integer cents; the dataclasses hold already-formatted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session

from sneakers_app import metrics, vocabulary
from sneakers_app.money import format_usd, parse_usd
from sneakers_app.redis_client import get_matching_engine, get_redis
from sneakers_app.services import fees, market, orders
from trading import market_data

TradeKind = Literal["buy", "bid", "sell", "ask"]
KINDS: tuple[TradeKind, ...] = ("buy", "bid", "sell", "ask")
PRICE_STEP_CENTS = 100
"""How far a hint moves a price past the best one: $1."""

Top = tuple[int | None, int | None]
"""(highest bid, lowest ask) in cents, None for an empty side."""

NO_CARD = market.NO_CARD
NO_ADDRESS = market.NO_ADDRESS
NO_PAYOUT = market.NO_PAYOUT


@dataclass
class FeeLine:
    label: str
    amount: str


@dataclass
class HintView:
    text: str
    price: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Quote:
    """What the dialog shows for one kind, price and top of book."""

    fixed_price: str = ""
    """The price a Buy Now pays or a Sell Now takes ("" for a bid or an ask, or none)."""
    fee_lines: list[FeeLine] = field(default_factory=list)
    total_label: str = "Total"
    total: str = ""
    hints: list[HintView] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Opening:
    """What opening the dialog decides for its user: why they may not trade ("" when they
    may), their seller fee level, and the expiry choices (days, as the picker shows them)."""

    blocker: str
    fee_level: int
    expiry_choices: list[str]
    expiry_days: str


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """Why an order is not placed, and next to which field ("price", "size", "blocker", or
    "" for the form)."""

    field: str
    message: str


def side_of(kind: str) -> market.SideName:
    return "bid" if kind in ("buy", "bid") else "ask"


def is_immediate(kind: str) -> bool:
    """Buy Now and Sell Now trade at once at the best price; bids and asks rest."""
    return kind in ("buy", "sell")


def expiry_choices(kind: str) -> list[str]:
    days = market.BID_EXPIRY_DAYS if side_of(kind) == "bid" else market.ASK_EXPIRY_DAYS
    return [str(d) for d in days]


# --- who may trade ------------------------------------------------------------------------


def blocker(*, session: Session, user_id: int, kind: str) -> str:
    """Why the user may not trade this kind now, or "" when they may (`market.trade_blocker`,
    the rule placing an order applies too)."""
    return market.trade_blocker(session=session, user_id=user_id, side=side_of(kind))


def open_ticket(*, session: Session, user_id: int, kind: str) -> Opening:
    level = fees.DEFAULT_SCHEDULE.levels[0].level
    if side_of(kind) == "ask":
        level = orders.seller_standing(session=session, seller_id=user_id).level.level
    return Opening(
        blocker=blocker(session=session, user_id=user_id, kind=kind),
        fee_level=level,
        expiry_choices=expiry_choices(kind),
        expiry_days=str(market.DEFAULT_EXPIRY_DAYS),
    )


# --- the quote ----------------------------------------------------------------------------


def top_of_book(variant_id: int | None) -> Top:
    """(highest bid, lowest ask) of a size, from the engine right now."""
    if variant_id is None:
        return None, None
    top = market_data.top_of_book(get_redis(), str(variant_id))
    return top.bid_cents, top.ask_cents


def now_price(kind: str, top: Top) -> int | None:
    """Buy Now pays the lowest ask, Sell Now takes the highest bid."""
    bid, ask = top
    return ask if kind == "buy" else bid


def price_for(kind: str, price_text: str, top: Top) -> int | None:
    """The price a ticket quotes: the best price for Buy Now / Sell Now, else the typed one."""
    if is_immediate(kind):
        return now_price(kind, top)
    try:
        return parse_usd(price_text)
    except ValueError:
        return None


def _percent(bp: int) -> str:
    return vocabulary.percent_text(bp, signed=False)


def _level(fee_level: int, schedule: fees.FeeSchedule) -> fees.SellerLevel:
    return next((lv for lv in schedule.levels if lv.level == fee_level), schedule.levels[0])


def fee_lines(
    kind: str,
    price_cents: int | None,
    *,
    fee_level: int = 1,
    schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE,
) -> tuple[list[FeeLine], str, str]:
    """(fee lines, total label, total) for a price; no lines for no price or one out of
    bounds."""
    if side_of(kind) == "bid":
        label = "Total" if kind == "buy" else "Total if your bid matches"
    else:
        label = "Your payout"
    if price_cents is None or not market.MIN_PRICE_CENTS <= price_cents <= market.MAX_PRICE_CENTS:
        return [], label, ""
    if side_of(kind) == "ask" and price_cents < fees.minimum_ask_cents(schedule):
        return [], label, ""  # the fees would exceed the payout: refused, never previewed
    if side_of(kind) == "bid":
        q = fees.quote_buyer(price_cents, schedule)
        return (
            [
                FeeLine(label="Price", amount=format_usd(q.price_cents)),
                FeeLine(
                    label=f"Processing fee ({_percent(schedule.buyer_processing_bp)})",
                    amount=format_usd(q.processing_fee_cents),
                ),
                FeeLine(label="Shipping", amount=format_usd(q.shipping_cents)),
            ],
            label,
            format_usd(q.total_cents),
        )
    s = fees.quote_seller(price_cents, _level(fee_level, schedule), schedule)
    return (
        [
            FeeLine(label="Price", amount=format_usd(s.price_cents)),
            FeeLine(
                label=f"Transaction fee (level {s.level}, {_percent(s.fee_bp)})",
                amount="-" + format_usd(s.transaction_fee_cents),
            ),
            FeeLine(
                label=f"Payment processing ({_percent(schedule.seller_processing_bp)})",
                amount="-" + format_usd(s.processing_fee_cents),
            ),
            FeeLine(label="Shipping to verification", amount="-" + format_usd(s.shipping_cents)),
        ],
        label,
        format_usd(s.payout_cents),
    )


def _use(text: str, cents: int) -> HintView:
    return HintView(text=text, price=f"{cents / 100:.2f}", label="Use")


def ask_prices(
    top: Top, *, schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE
) -> tuple[int | None, int | None]:
    """The two prices a seller is offered for an ask: sell faster (the highest bid, which sells
    at once, when it is at least the minimum ask) and first in line (the lowest ask undercut by
    the $1 step, when that is still above the highest bid and at least the minimum ask)."""
    bid, ask = top
    minimum = fees.minimum_ask_cents(schedule)
    faster = bid if bid and bid >= minimum else None
    first = None
    if ask:
        lower = ask - PRICE_STEP_CENTS
        if lower >= minimum and (not bid or lower > bid):
            first = lower
    return faster, first


def hints(
    kind: str, top: Top, *, schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE
) -> list[HintView]:
    """Price hints for a bid or an ask, from the size's top of book (none for Buy Now /
    Sell Now)."""
    bid, ask = top
    found: list[HintView] = []
    if kind == "bid":
        if ask:
            found.append(_use(f"Buy now: bid the lowest ask, {format_usd(ask)}.", ask))
        if bid:
            better = bid + PRICE_STEP_CENTS
            if not ask or better < ask:
                found.append(
                    _use(
                        f"Be the highest bidder: {format_usd(better)} beats {format_usd(bid)}.",
                        better,
                    )
                )
        return found
    if kind != "ask":
        return found
    faster, first = ask_prices(top, schedule=schedule)
    if faster is not None:
        found.append(
            _use(f"Sell faster: ask the highest bid, {format_usd(faster)}, to sell now.", faster)
        )
    if ask:
        if first is not None:
            found.append(
                _use(
                    f"First in line: {format_usd(first)} undercuts the lowest ask, "
                    f"{format_usd(ask)}.",
                    first,
                )
            )
    elif not bid:
        found.append(
            HintView(
                text="Earn more: no one is asking in this size yet, so you set the price.",
                price="",
                label="",
            )
        )
    return found


def quote(
    kind: str,
    price_text: str,
    top: Top,
    *,
    fee_level: int = 1,
    size_chosen: bool = True,
    schedule: fees.FeeSchedule = fees.DEFAULT_SCHEDULE,
) -> Quote:
    """The dialog's quote for a kind, the typed price (bids and asks) and the size's top of
    book (`size_chosen` False: no size yet, so no hints)."""
    price = price_for(kind, price_text, top)
    lines, label, total = fee_lines(kind, price, fee_level=fee_level, schedule=schedule)
    return Quote(
        fixed_price=format_usd(price) if is_immediate(kind) and price else "",
        fee_lines=lines,
        total_label=label,
        total=total,
        hints=hints(kind, top, schedule=schedule) if size_chosen else [],
    )


# --- refusals before placing ------------------------------------------------------------


def typing_error(kind: str, price_text: str) -> str:
    """What the price field says while the user types a bid or an ask: a price out of bounds
    (an ask below the minimum, whose fees would exceed the payout) at once, not a negative
    preview; "" while the text is no price yet or a fine one."""
    if is_immediate(kind) or not price_text.strip():
        return ""
    try:
        cents = parse_usd(price_text)
    except ValueError:
        return ""
    try:
        market.check_price(cents, side=side_of(kind))
    except market.MarketError as exc:
        return exc.message
    return ""


def no_counterparty(kind: str) -> str:
    """A Buy Now / Sell Now with nobody on the other side."""
    if kind == "buy":
        return "No one is selling this size right now. Place a bid instead."
    return "No one is bidding on this size right now. Place an ask instead."


def price_changed(price_cents: int) -> str:
    return (
        f"The price just changed to {format_usd(price_cents)}. Check the total and confirm again."
    )


def self_match(kind: str, crossing: int | None, price_cents: int) -> Refusal | None:
    """The refusal of an order that would meet the user's own order at `crossing`."""
    if crossing is None:
        return None
    if is_immediate(kind):
        if crossing != price_cents:
            return None
        return Refusal(
            field="",
            message="The best price in this size is your own listing. Cancel it first, "
            "or wait for someone else's.",
        )
    side = side_of(kind)
    other = "ask" if side == "bid" else "bid"
    return Refusal(
        field="price",
        message=f"You have an {other} at {format_usd(crossing)} in this size: "
        f"this {side} would match your own listing. Cancel that {other} or "
        f"choose a {'lower' if side == 'bid' else 'higher'} price.",
    )


def refusal(
    *, session: Session, user_id: int, kind: str, variant_id: int, price_cents: int
) -> Refusal | None:
    """Why this order is not placed (price out of bounds, the user may not trade, it would
    meet their own order), or None. A refusal is counted in the metrics by its reason, as
    `market.place` counts the ones it finds itself."""
    side = side_of(kind)
    found, reason = _refusal(
        session=session,
        user_id=user_id,
        kind=kind,
        variant_id=variant_id,
        price_cents=price_cents,
    )
    if found is not None:
        metrics.order_refused(side, reason)
    return found


def _refusal(
    *, session: Session, user_id: int, kind: str, variant_id: int, price_cents: int
) -> tuple[Refusal | None, str]:
    side = side_of(kind)
    try:
        market.check_price(price_cents, side=side)
    except market.MarketError as exc:
        return Refusal(field=exc.field, message=exc.message), exc.reason
    blocked, crossing = market.order_checks(
        session=session, user_id=user_id, side=side, variant_id=variant_id, price_cents=price_cents
    )
    if blocked:
        return Refusal(field="blocker", message=blocked), "cannot_trade"
    return self_match(kind, crossing, price_cents), "self_match"


def place(
    *,
    session: Session,
    user_id: int,
    kind: str,
    variant_id: int,
    price_cents: int,
    client_key: str,
    expiry_days: int,
    address_id: int | None = None,
    payment_card_id: int | None = None,
) -> market.Placed:
    """Place the ticket's order on the engine: a bid or an ask resting for `expiry_days`, or a
    Buy Now / Sell Now trading at once (no expiry). A bid or Buy Now ships to `address_id` and
    charges `payment_card_id` (the caller's own; None: their defaults); an ask keeps
    `address_id` as its return address."""
    immediate = is_immediate(kind)
    return market.place(
        session=session,
        engine=get_matching_engine(),
        user_id=user_id,
        side=side_of(kind),
        variant_id=variant_id,
        price_cents=price_cents,
        client_key=client_key,
        expiry_days=None if immediate else expiry_days,
        immediate=immediate,
        address_id=address_id,
        payment_card_id=payment_card_id if side_of(kind) == "bid" else None,
    )
