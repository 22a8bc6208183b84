"""Rendering: a kind's title, body and link from a context, and the email a notification sends.

What templates may name is `render_context`'s work: every context value as text, cents also in
dollars, and what the ids in the context lead to (the product's name and size, an order's
ship-by date, a bid's or ask's expiry).
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlmodel import Session, col, select

from sneakers_app import routes, vocabulary
from sneakers_app.models import (
    Ask,
    Bid,
    Notification,
    Order,
    Product,
    ProductVariant,
    Trade,
    User,
)
from sneakers_app.money import format_usd
from sneakers_app.services import sizes
from sneakers_app.services.email import OutgoingEmail, address_only, header_text
from sneakers_app.services.notifications.kinds import KINDS, Kind
from sneakers_app.services.read_once import in_session, kept, kept_rows
from sneakers_app.settings import Settings, get_settings

__all__ = ["Rendered", "build_email", "render", "render_context"]

_TITLE_MAX = 200
_BODY_MAX = 2000
_LINK_MAX = 300


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _text(value: object) -> str:
    if isinstance(value, datetime):
        stamp = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return f"{stamp:%a %d %b %Y, %H:%M} UTC"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if "T" in value and parsed.tzinfo is not None:
            return _text(parsed)
        return value
    return str(value)


def _looked_up(
    session: Session, context: Mapping[str, object], size_system: str
) -> dict[str, object]:
    """What the ids in the context tell: the bid's, ask's or order's variant and deadline, and
    the product's name, size (also in the recipient's size system) and slug. Values the caller
    passed win."""
    out: dict[str, object] = {}
    source: Bid | Ask | Order | None = None
    order_id, bid_id, ask_id = (context.get(k) for k in ("order_id", "bid_id", "ask_id"))
    if isinstance(order_id, int):
        source = kept(session, Order, order_id)
    elif isinstance(bid_id, int):
        source = kept(session, Bid, bid_id)
    elif isinstance(ask_id, int):
        source = kept(session, Ask, ask_id)
    if isinstance(source, Order):
        out["ship_by"] = source.ship_by
        out["appeal_deadline"] = source.appeal_deadline
        if not in_session(session, Trade, source.trade_id):
            # the trade, its size and product in one read (a charge's first notice)
            kept_rows(
                session,
                select(Trade, ProductVariant, Product)
                .join(ProductVariant, col(ProductVariant.id) == col(Trade.variant_id))
                .join(Product, col(Product.id) == col(ProductVariant.product_id))
                .where(col(Trade.id) == source.trade_id),
            )
        trade = kept(session, Trade, source.trade_id)
        out["maker_side"] = trade.maker_side if trade is not None else None
    elif source is not None:
        out["expires_at"] = source.expires_at
    variant_id = context.get("variant_id", source.variant_id if source else None)
    product_id = context.get("product_id")
    variant = kept(session, ProductVariant, variant_id) if isinstance(variant_id, int) else None
    if variant is not None:
        out["size"] = variant.size
        product_id = variant.product_id
    if isinstance(product_id, int):
        product = kept(session, Product, product_id)
        if product is not None:
            out["product"] = product.name
            out["product_slug"] = product.slug
            if variant is not None:
                out["size_label"] = sizes.label(
                    brand=product.brand,
                    chart=product.size_chart,
                    size=variant.size,
                    system=size_system,
                )
    return {k: v for k, v in out.items() if v is not None}


def render_context(
    session: Session, context: Mapping[str, object], size_system: str = sizes.DEFAULT_SYSTEM
) -> dict[str, str]:
    """What templates may name: every context value as text, `<x>_cents` also as `<x>` in
    dollars, what the ids lead to (see `_looked_up`), and `item`, `order_ref`, `appeal_note`,
    `tracking_note`."""
    values: dict[str, str] = {}
    for key, value in context.items():
        values[key] = _text(value)
        if key.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
            values[key.removesuffix("_cents")] = format_usd(value)
    for key, value in _looked_up(session, context, size_system).items():
        values.setdefault(key, _text(value))
    product, size = values.get("product"), values.get("size")
    item = product or "your item"
    if product and size:
        # In the recipient's size system ("US M 10", "EU 44").
        item = f"{product} ({values.get('size_label') or 'size ' + size})"
    values.setdefault("item", item)
    order_id = context.get("order_id")
    values.setdefault("order_ref", f"Order #{order_id}" if order_id is not None else "Your order")
    if "can_appeal" in context:
        until = f" until {values['appeal_deadline']}" if values.get("appeal_deadline") else ""
        values.setdefault(
            "appeal_note",
            f"You can appeal this decision once from the order page{until}."
            if context["can_appeal"]
            else "This decision is final.",
        )
    _match_words(values)
    count = context.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        values.setdefault("count_bids", vocabulary.plural(count, "open bid"))
    values.setdefault("card", "your card")
    if values.get("tracking"):
        values.setdefault("tracking_note", f"Tracking number: {values['tracking']}.")
    return values


def _match_words(values: dict[str, str]) -> None:
    """A match told after what the member did (`vocabulary.match_headline`): the trade's maker
    side, or the taker's words when the trade is unknown."""
    maker_side = values.get("maker_side") or None
    item = values["item"]
    sides: tuple[tuple[vocabulary.Side, str], ...] = (("buying", "bought"), ("selling", "sold"))
    for side, key in sides:
        values.setdefault(f"{key}_title", vocabulary.match_title(side, maker_side, item))
        values.setdefault(f"{key}_lead", vocabulary.match_headline(side, maker_side))


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(_Blank(values))


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, kw_only=True)
class Rendered:
    title: str
    body: str
    link: str


def render(
    *,
    session: Session,
    kind: Kind,
    context: Mapping[str, object],
    size_system: str = sizes.DEFAULT_SYSTEM,
) -> Rendered:
    """One notice's text for its recipient (sizes in their size system)."""
    spec = KINDS[kind]
    values = render_context(session, context, size_system)
    fields = {name for _, name, _, _ in string.Formatter().parse(spec.link) if name}
    link = _fill(spec.link, values) if all(values.get(f) for f in fields) else spec.fallback_link
    return Rendered(
        title=header_text(_fill(spec.title, values), max_length=_TITLE_MAX),
        body=_squash(_fill(spec.body, values))[:_BODY_MAX],
        link=link[:_LINK_MAX],
    )


def build_email(
    *, notification: Notification, user: User, settings: Settings | None = None
) -> OutgoingEmail:
    """Plain text plus a simple HTML part. Header values go through `header_text` (no CR/LF can
    start a header of its own), and the envelope recipient is the account's address alone."""
    settings = settings or get_settings()
    to_address = address_only(user.email)
    from_address = address_only(settings.EMAIL_FROM)
    from_name = header_text(settings.EMAIL_FROM.rsplit("<", 1)[0].strip().strip('"'))
    domain = from_address.rsplit("@", 1)[1]
    link = settings.APP_URL.rstrip("/") + (notification.link or routes.NOTIFICATIONS)
    prefs = settings.APP_URL.rstrip("/") + routes.ACCOUNT

    message = EmailMessage()
    message["Subject"] = header_text(notification.title)
    message["From"] = formataddr((from_name, from_address)) if from_name else from_address
    message["To"] = formataddr((header_text(user.display_name, max_length=60), to_address))
    message["Date"] = format_datetime(notification.created_at.astimezone(UTC))
    # Stable per notification: a receiving server can drop a duplicate by it.
    message["Message-ID"] = f"<notification-{notification.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Sneakers-Notification"] = f"{notification.id}:{notification.kind}"
    message.set_content(
        f"{notification.title}\n\n{notification.body}\n\n{link}\n\n"
        f"-- \nSneakers Marketplace. Choose which emails you get: {prefs}\n"
    )
    esc = html.escape
    message.add_alternative(
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{esc(notification.title)}</h2><p>{esc(notification.body)}</p>"
        f'<p><a href="{esc(link, quote=True)}">Open in Sneakers Marketplace</a></p>'
        f'<hr><p style="color:#666;font-size:12px">'
        f'<a href="{esc(prefs, quote=True)}">Choose which emails you get</a></p>'
        "</body></html>",
        subtype="html",
    )
    return OutgoingEmail(message=message, sender=from_address, recipients=(to_address,))
