"""Price drops on watched items: a new lowest ask at or below a watcher's target tells them
once per price level (the watch itself is `services.watchlist`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from sneakers_app.models import Notification, PriceAlert, ProductVariant, utcnow
from sneakers_app.services.notifications.delivery import NotifyResult, notify
from sneakers_app.services.notifications.kinds import Kind

__all__ = ["PriceDrop", "notify_price_drops", "price_drop_alerts", "price_drop_key"]


@dataclass(frozen=True, kw_only=True)
class PriceDrop:
    """One watcher to tell that a watched size (or any size of a watched product) can now be
    bought at or below their target. Pass `context` and `dedupe_key` straight to `notify`."""

    alert_id: int
    user_id: int
    product_id: int
    variant_id: int
    target_price_cents: int
    lowest_ask_cents: int
    dedupe_key: str
    context: Mapping[str, object] = field(default_factory=dict)


def price_drop_key(*, alert_id: int, lowest_ask_cents: int) -> str:
    """One notice per alert per price level: the same level again (the ask pulled and
    re-listed) is not news, a lower level is."""
    return f"price_drop:{alert_id}:{lowest_ask_cents}"


def price_drop_alerts(
    *, session: Session, variant_id: int, lowest_ask_cents: int
) -> list[PriceDrop]:
    """The alerts a new lowest ask of `lowest_ask_cents` on `variant_id` satisfies: watching
    this size or the whole product, target at or above the ask, not yet told of this level."""
    if lowest_ask_cents <= 0:
        return []
    variant = session.get(ProductVariant, variant_id)
    if variant is None:
        return []
    alerts = session.exec(
        select(PriceAlert)
        .where(
            PriceAlert.product_id == variant.product_id,
            or_(
                col(PriceAlert.variant_id) == variant_id,
                col(PriceAlert.variant_id).is_(None),
            ),
            col(PriceAlert.target_price_cents).is_not(None),
            col(PriceAlert.target_price_cents) >= lowest_ask_cents,
        )
        .order_by(col(PriceAlert.id))
    ).all()
    keys = {
        alert.id: price_drop_key(alert_id=alert.id or 0, lowest_ask_cents=lowest_ask_cents)
        for alert in alerts
    }
    told: set[str] = set()
    if keys:
        told = set(
            session.exec(
                select(Notification.dedupe_key).where(
                    col(Notification.dedupe_key).in_(list(keys.values()))
                )
            ).all()
        )
    drops = []
    for alert in alerts:
        key = keys[alert.id]
        if key in told or alert.id is None or alert.target_price_cents is None:
            continue
        drops.append(
            PriceDrop(
                alert_id=alert.id,
                user_id=alert.user_id,
                product_id=alert.product_id,
                variant_id=variant_id,
                target_price_cents=alert.target_price_cents,
                lowest_ask_cents=lowest_ask_cents,
                dedupe_key=key,
                context={
                    "variant_id": variant_id,
                    "lowest_ask_cents": lowest_ask_cents,
                    "target_price_cents": alert.target_price_cents,
                },
            )
        )
    return drops


def notify_price_drops(
    *,
    session: Session,
    variant_id: int,
    lowest_ask_cents: int,
    now: datetime | None = None,
    caused_by: int | None = None,
) -> list[NotifyResult]:
    """`price_drop_alerts` then `notify` for each, stamping the alert's last_notified_at.
    Returns what was notified (the due emails are in the outbox)."""
    now = now or utcnow()
    results: list[NotifyResult] = []
    for drop in price_drop_alerts(
        session=session, variant_id=variant_id, lowest_ask_cents=lowest_ask_cents
    ):
        result = notify(
            session=session,
            user_id=drop.user_id,
            kind=Kind.PRICE_DROP,
            context=drop.context,
            dedupe_key=drop.dedupe_key,
            now=now,
            caused_by=caused_by,
        )
        alert = session.get(PriceAlert, drop.alert_id)
        if alert is not None:
            alert.last_notified_at = now
            session.add(alert)
        if result is not None:
            results.append(result)
    session.flush()
    return results
