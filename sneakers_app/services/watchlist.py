"""Watching a product (one size or all sizes) with an optional target price.

A watch is a `PriceAlert` row; `notifications.price_drops` tells the watcher when a new
lowest ask meets the target. A NULL variant means "any size": the unique constraint does not
cover NULLs on either database, so the row is looked up before it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from sneakers_app.models import PriceAlert, Product, ProductVariant, User
from sneakers_app.services.market import MAX_PRICE_CENTS, MIN_PRICE_CENTS


class WatchError(Exception):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, kw_only=True)
class Watch:
    id: int
    product_id: int
    variant_id: int | None
    target_price_cents: int | None


def _view(alert: PriceAlert) -> Watch:
    return Watch(
        id=alert.id or 0,
        product_id=alert.product_id,
        variant_id=alert.variant_id,
        target_price_cents=alert.target_price_cents,
    )


def _find(
    session: Session, user_id: int, product_id: int, variant_id: int | None
) -> PriceAlert | None:
    stmt = select(PriceAlert).where(
        PriceAlert.user_id == user_id, PriceAlert.product_id == product_id
    )
    if variant_id is None:
        stmt = stmt.where(col(PriceAlert.variant_id).is_(None))
    else:
        stmt = stmt.where(col(PriceAlert.variant_id) == variant_id)
    return session.exec(stmt).first()


def _check(session: Session, user_id: int, product_id: int, variant_id: int | None) -> None:
    if session.get(User, user_id) is None:
        raise WatchError("Log in to watch a sneaker.")
    if session.get(Product, product_id) is None:
        raise WatchError("That product does not exist.")
    if variant_id is not None:
        variant = session.get(ProductVariant, variant_id)
        if variant is None or variant.product_id != product_id:
            raise WatchError("That size does not exist for this product.", "size")


def get_watch(
    *, session: Session, user_id: int, product_id: int, variant_id: int | None = None
) -> Watch | None:
    alert = _find(session, user_id, product_id, variant_id)
    return _view(alert) if alert else None


def watch(
    *,
    session: Session,
    user_id: int,
    product_id: int,
    variant_id: int | None = None,
    target_price_cents: int | None = None,
) -> Watch:
    """Start watching (or change the target of an existing watch). Idempotent."""
    _check(session, user_id, product_id, variant_id)
    if target_price_cents is not None and not (
        MIN_PRICE_CENTS <= target_price_cents <= MAX_PRICE_CENTS
    ):
        raise WatchError(
            f"A target price is between ${MIN_PRICE_CENTS // 100} and ${MAX_PRICE_CENTS // 100:,}.",
            "target",
        )
    alert = _find(session, user_id, product_id, variant_id)
    if alert is None:
        alert = PriceAlert(user_id=user_id, product_id=product_id, variant_id=variant_id)
    alert.target_price_cents = target_price_cents
    alert.last_notified_at = None
    session.add(alert)
    session.flush()
    return _view(alert)


def unwatch(
    *, session: Session, user_id: int, product_id: int, variant_id: int | None = None
) -> bool:
    """Stop watching; False when there was nothing to remove."""
    alert = _find(session, user_id, product_id, variant_id)
    if alert is None:
        return False
    session.delete(alert)
    session.flush()
    return True
