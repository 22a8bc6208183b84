"""Results built from a command's events, the same way for both engines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from trading.events import (
    Accepted,
    Cancelled,
    Event,
    Modified,
    Rested,
    Trade,
    events_from_data,
)
from trading.orders import ModifyResult, OrderStatus, PlaceResult

_new = object.__new__


def parse_events(raw: str | bytes, *, variant_id: str, at: int) -> tuple[Event, ...]:
    return events_from_data(json.loads(raw), variant_id=variant_id, at=at)


def place_result(
    variant_id: str, order_id: str, events: Sequence[Event], *, replayed: bool = False
) -> PlaceResult:
    sequence = submitted = resting = cancelled = filled = 0
    reason: str | None = None
    fills: list[Trade] = []
    for e in events:
        if isinstance(e, Trade):
            if e.taker_order_id == order_id:
                fills.append(e)
                filled += e.quantity
        elif isinstance(e, Accepted):
            if e.order_id == order_id:
                sequence, submitted = e.sequence, e.quantity
        elif isinstance(e, Rested):
            if e.order_id == order_id:
                resting = e.quantity
        elif isinstance(e, Cancelled) and e.order_id == order_id:
            cancelled += e.quantity
            reason = e.reason
    if filled == submitted:
        status = OrderStatus.FILLED
    elif resting:
        status = OrderStatus.OPEN
    else:
        status = OrderStatus.CANCELLED
    # every field is given and typed above: set them without the frozen __init__ (faster)
    result = _new(PlaceResult)
    result.__dict__.update(
        variant_id=variant_id,
        order_id=order_id,
        status=status,
        sequence=sequence,
        fills=tuple(fills),
        filled_quantity=filled,
        resting_quantity=resting,
        cancelled_quantity=cancelled,
        cancel_reason=reason,
        events=tuple(events),
        replayed=replayed,
    )
    return result


def modify_result(
    variant_id: str,
    order_id: str,
    events: Sequence[Event],
    *,
    unchanged_sequence: int = 0,
    unchanged_quantity: int = 0,
) -> ModifyResult:
    """`unchanged_*` describe the order when the modify asked for what it already was."""
    if not events:
        return ModifyResult(
            variant_id=variant_id,
            order_id=order_id,
            status=OrderStatus.OPEN,
            priority_kept=True,
            sequence=unchanged_sequence,
            fills=(),
            resting_quantity=unchanged_quantity,
            cancelled_quantity=0,
            cancel_reason=None,
            events=(),
        )
    kept = False
    sequence = resting = cancelled = 0
    reason: str | None = None
    fills: list[Trade] = []
    for e in events:
        if isinstance(e, Modified) and e.order_id == order_id:
            kept, sequence = e.priority_kept, e.sequence
            cancelled += e.old_quantity - e.new_quantity
            if kept:
                resting = e.new_quantity
        elif isinstance(e, Trade) and e.taker_order_id == order_id:
            fills.append(e)
        elif isinstance(e, Rested) and e.order_id == order_id:
            resting = e.quantity
        elif isinstance(e, Cancelled) and e.order_id == order_id:
            cancelled += e.quantity
            reason = e.reason
    if resting:
        status = OrderStatus.OPEN
    elif reason is None:
        status = OrderStatus.FILLED
    else:
        status = OrderStatus.CANCELLED
    return ModifyResult(
        variant_id=variant_id,
        order_id=order_id,
        status=status,
        priority_kept=kept,
        sequence=sequence,
        fills=tuple(fills),
        resting_quantity=resting,
        cancelled_quantity=cancelled,
        cancel_reason=reason,
        events=tuple(events),
    )
