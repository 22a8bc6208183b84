"""Short builders for commands in tests."""

from __future__ import annotations

from trading.orders import (
    DAY_MS,
    CancelOrder,
    ModifyOrder,
    PlaceOrder,
    Side,
    TimeInForce,
)

T0 = 1_700_000_000_000


def bid(
    order_id: str,
    user: str,
    price: int,
    qty: int = 1,
    *,
    book: str = "v1",
    ioc: bool = False,
    expires_at: int | None = None,
) -> PlaceOrder:
    return _place(Side.BID, order_id, user, price, qty, book=book, ioc=ioc, expires_at=expires_at)


def ask(
    order_id: str,
    user: str,
    price: int,
    qty: int = 1,
    *,
    book: str = "v1",
    ioc: bool = False,
    expires_at: int | None = None,
) -> PlaceOrder:
    return _place(Side.ASK, order_id, user, price, qty, book=book, ioc=ioc, expires_at=expires_at)


def _place(
    side: Side,
    order_id: str,
    user: str,
    price: int,
    qty: int,
    *,
    book: str,
    ioc: bool,
    expires_at: int | None,
) -> PlaceOrder:
    return PlaceOrder(
        variant_id=book,
        order_id=order_id,
        user_id=user,
        side=side,
        price_cents=price,
        quantity=qty,
        time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
        expires_at=None if ioc else (expires_at if expires_at is not None else T0 + 30 * DAY_MS),
    )


def cancel(order_id: str, user: str, *, book: str = "v1") -> CancelOrder:
    return CancelOrder(variant_id=book, order_id=order_id, user_id=user)


def modify(order_id: str, user: str, price: int, qty: int, *, book: str = "v1") -> ModifyOrder:
    return ModifyOrder(
        variant_id=book, order_id=order_id, user_id=user, price_cents=price, quantity=qty
    )
