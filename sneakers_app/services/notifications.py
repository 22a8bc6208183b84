"""Notifications: the in-app inbox and email for every step of a trade's life.

How other services use it: inside their own transaction they call `notify(...)` with a
`Kind`, a context and a dedupe key naming the event (`f"outbid:{bid_id}:{new_best_bid_id}"`).
The row commits together with the state change that caused it, and so does the outbox row
that sends its email (the `send_notification_email` task, which calls `deliver_email`); after
the commit the caller may deliver it at once (`outbox_relay.after_commit`), else a sweep does.
One event never sends two emails: the dedupe key makes `notify` idempotent,
and `deliver_email` claims the row (emailed_at) before it sends.

Without a schema change the `notifications` table has no "shown in the inbox" flag, yet a
user may want an event by email only, and the email still needs a row (for the dedupe key and
the send-once claim). Such rows are stored as already read at `EMAIL_ONLY_READ_AT`, a fixed
instant no real read can have, and every inbox query leaves them out.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import String, Table, func, literal, or_, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from sneakers_app import routes
from sneakers_app.models import (
    Ask,
    Bid,
    Notification,
    NotificationPreference,
    Order,
    OutboxMessage,
    PriceAlert,
    Product,
    ProductVariant,
    User,
    utcnow,
)
from sneakers_app.money import format_usd
from sneakers_app.services import limits, outbox
from sneakers_app.services.email import (
    EmailRejected,
    EmailTransientError,
    Mailer,
    OutgoingEmail,
    address_only,
    header_text,
)
from sneakers_app.settings import Settings, get_settings

__all__ = [
    "ALWAYS_SENT",
    "EMAIL_ONLY_READ_AT",
    "KINDS",
    "MAX_INBOX_PAGE",
    "EmailRejected",
    "EmailTransientError",
    "Kind",
    "KindSpec",
    "NotificationError",
    "NotificationNotFound",
    "NotificationView",
    "NotifyResult",
    "PreferenceView",
    "PriceDrop",
    "Rendered",
    "UnknownKind",
    "build_email",
    "deliver_email",
    "email_ids",
    "inbox",
    "kind_of",
    "mark_all_read",
    "mark_read",
    "notify",
    "notify_price_drops",
    "preferences",
    "price_drop_alerts",
    "price_drop_key",
    "render",
    "render_context",
    "set_preference",
    "unread_count",
]

EMAIL_ONLY_READ_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INBOX_PAGE = 100
_TITLE_MAX = 200
_BODY_MAX = 2000
_LINK_MAX = 300


class NotificationError(Exception):
    """A refusal the caller can show or log as is."""


class UnknownKind(NotificationError, ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"Unknown notification kind: {kind!r}.")
        self.kind = kind


class NotificationNotFound(NotificationError, LookupError):
    """Missing, or somebody else's: the two are not told apart."""

    def __init__(self) -> None:
        super().__init__("Notification not found.")


class Kind(StrEnum):
    # trading
    BID_PLACED = "bid_placed"
    ASK_PLACED = "ask_placed"
    OUTBID = "outbid"
    ASK_UNDERCUT = "ask_undercut"
    BID_EXPIRING = "bid_expiring"
    ASK_EXPIRING = "ask_expiring"
    PRICE_DROP = "price_drop"
    ORDER_NOT_PLACED = "order_not_placed"
    BIDS_CANCELLED_CARD = "bids_cancelled_card"
    # the sale
    BID_MATCHED = "bid_matched"
    ASK_MATCHED = "ask_matched"
    PAYMENT_FAILED = "payment_failed"
    SALE_CANCELLED = "sale_cancelled"
    SHIP_BY_REMINDER = "ship_by_reminder"
    ITEM_RECEIVED = "item_received"
    AUTHENTICATED = "authenticated"
    AUTH_FAILED = "auth_failed"
    ITEM_RETURNED = "item_returned"
    SHIPPED_TO_BUYER = "shipped_to_buyer"
    DELIVERED = "delivered"
    ORDER_CANCELLED = "order_cancelled"
    # money
    PAYOUT_SENT = "payout_sent"
    PAYOUT_DETAILS_CHANGED = "payout_details_changed"
    REFUND_ISSUED = "refund_issued"
    PENALTY_CHARGED = "penalty_charged"
    # account security (always sent: not in the preferences)
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a kind)
    SIGN_UP_ATTEMPT = "sign_up_attempt"


# Security notices reach the user on both channels whatever their preferences say: a user cannot
# turn them off (someone who took over an account could).
ALWAYS_SENT = frozenset({Kind.PASSWORD_CHANGED, Kind.SIGN_UP_ATTEMPT, Kind.PAYOUT_DETAILS_CHANGED})


@dataclass(frozen=True, kw_only=True)
class KindSpec:
    """Templates are `str.format` strings over the rendered context (see `render_context`).
    `context` names the keys a caller should pass; `link` is used when every field it names is
    known, otherwise `fallback_link`."""

    kind: Kind
    label: str
    title: str
    body: str
    context: tuple[str, ...]
    link: str
    fallback_link: str


_PRODUCT_LINK = routes.product("{product_slug}")
_ORDER_LINK = routes.order("{order_id}")


def _spec(
    kind: Kind,
    label: str,
    title: str,
    body: str,
    context: tuple[str, ...],
    *,
    order: bool = True,
) -> KindSpec:
    return KindSpec(
        kind=kind,
        label=label,
        title=title,
        body=body,
        context=context,
        link=_ORDER_LINK if order else _PRODUCT_LINK,
        fallback_link=routes.ORDERS if order else routes.BROWSE,
    )


_BID = ("bid_id", "price_cents")
_ASK = ("ask_id", "price_cents")
_ORDER = ("order_id",)

KINDS: dict[Kind, KindSpec] = {
    s.kind: s
    for s in (
        _spec(
            Kind.BID_PLACED,
            "Bid placed",
            "Bid placed: {price} for {item}",
            "Your bid of {price} for {item} is live. We'll tell you when it matches, or if "
            "someone outbids you.",
            _BID,
            order=False,
        ),
        _spec(
            Kind.ASK_PLACED,
            "Ask placed",
            "Ask placed: {price} for {item}",
            "Your ask of {price} for {item} is live. We'll tell you as soon as it sells.",
            _ASK,
            order=False,
        ),
        _spec(
            Kind.OUTBID,
            "Outbid",
            "You've been outbid on {item}",
            "Someone bid {new_price} for {item}, more than your bid of {your_price}. Raise "
            "your bid to stay first in line.",
            ("variant_id", "your_price_cents", "new_price_cents"),
            order=False,
        ),
        _spec(
            Kind.ASK_UNDERCUT,
            "Ask undercut",
            "Your ask for {item} is no longer the lowest",
            "Another seller asks {new_price} for {item}, less than your {your_price}. Lower "
            "your ask to sell first.",
            ("variant_id", "your_price_cents", "new_price_cents"),
            order=False,
        ),
        _spec(
            Kind.BID_EXPIRING,
            "Bid expiring",
            "Your bid for {item} expires soon",
            "Your bid of {price} for {item} expires {expires_at}. Renew it to keep it live.",
            _BID,
            order=False,
        ),
        _spec(
            Kind.ASK_EXPIRING,
            "Ask expiring",
            "Your ask for {item} expires soon",
            "Your ask of {price} for {item} expires {expires_at}. Renew it to keep it listed.",
            _ASK,
            order=False,
        ),
        _spec(
            Kind.PRICE_DROP,
            "Price drop on a watched item",
            "Price drop: {item} now {lowest_ask}",
            "The lowest ask for {item} is now {lowest_ask}, at or below your target of "
            "{target_price}.",
            ("variant_id", "lowest_ask_cents", "target_price_cents"),
            order=False,
        ),
        _spec(
            Kind.ORDER_NOT_PLACED,
            "Buy Now / Sell Now not completed",
            "Your {action} for {item} did not go through",
            "The market did not confirm your {action} for {item} at {price} in time, so we "
            "cancelled it. Nothing was bought or sold and nothing was charged; you can place it "
            "again.",
            ("variant_id", "price_cents", "action"),
            order=False,
        ),
        KindSpec(
            kind=Kind.BIDS_CANCELLED_CARD,
            label="Bids cancelled after card declines",
            title="Your open bids were cancelled",
            body=(
                "Your card was declined twice in the last 30 days, so we cancelled your {count} "
                "open bid(s) before they could match. Update your card in your account, then "
                "bid again."
            ),
            context=("count",),
            link=routes.ACCOUNT,
            fallback_link=routes.ACCOUNT,
        ),
        _spec(
            Kind.BID_MATCHED,
            "Bid matched (you bought)",
            "You bought {item}",
            "Your bid matched at {price}; we charged {total} including fees and shipping. "
            "The seller now ships it to us for authentication.",
            (*_ORDER, "price_cents", "total_cents"),
        ),
        _spec(
            Kind.ASK_MATCHED,
            "Ask matched (you sold)",
            "Sold: {item} for {price}",
            "Your ask sold for {price}; your payout after fees will be {payout}. Ship it to our "
            "authentication centre by {ship_by}.",
            (*_ORDER, "price_cents", "payout_cents"),
        ),
        _spec(
            Kind.PAYMENT_FAILED,
            "Payment failed",
            "Payment failed for {item}",
            "We couldn't charge your saved card for {item}: {reason} The purchase is cancelled; "
            "update your payment method to keep bidding.",
            (*_ORDER, "reason"),
        ),
        _spec(
            Kind.SALE_CANCELLED,
            "Sale cancelled",
            "Sale cancelled: {item}",
            "Your sale of {item} ({order_ref}) was cancelled. {reason}",
            (*_ORDER, "reason"),
        ),
        _spec(
            Kind.SHIP_BY_REMINDER,
            "Ship-by reminder",
            "Ship {item} by {ship_by}",
            "{order_ref} must be shipped to our authentication centre by {ship_by}. Late "
            "shipments are cancelled and a penalty applies.",
            _ORDER,
        ),
        _spec(
            Kind.ITEM_RECEIVED,
            "Item received for authentication",
            "{item} arrived for authentication",
            "We received {item} for {order_ref}. Our authenticators inspect it next.",
            _ORDER,
        ),
        _spec(
            Kind.AUTHENTICATED,
            "Authentication passed",
            "{item} passed authentication",
            "{item} ({order_ref}) is verified authentic and moves on to the next step.",
            _ORDER,
        ),
        _spec(
            Kind.AUTH_FAILED,
            "Authentication failed",
            "{item} did not pass authentication",
            "{item} ({order_ref}) did not pass authentication. Reason: {reason} {appeal_note}",
            (*_ORDER, "reason", "can_appeal"),
        ),
        _spec(
            Kind.ITEM_RETURNED,
            "Item returned",
            "{item} is on its way back to you",
            "We shipped {item} ({order_ref}) back to you. {tracking_note}",
            (*_ORDER, "tracking"),
        ),
        _spec(
            Kind.SHIPPED_TO_BUYER,
            "Shipped to you",
            "{item} has shipped",
            "Your verified {item} is on its way. {tracking_note}",
            (*_ORDER, "tracking"),
        ),
        _spec(
            Kind.DELIVERED,
            "Delivered",
            "{item} was delivered",
            "{item} ({order_ref}) was delivered. Enjoy your pair!",
            _ORDER,
        ),
        _spec(
            Kind.ORDER_CANCELLED,
            "Order cancelled",
            "{order_ref} was cancelled",
            "{order_ref} for {item} was cancelled. {reason}",
            (*_ORDER, "reason"),
        ),
        _spec(
            Kind.PAYOUT_SENT,
            "Payout sent",
            "Payout sent: {amount}",
            "We released your payout of {amount} for {order_ref} ({item}).",
            (*_ORDER, "amount_cents"),
        ),
        KindSpec(
            kind=Kind.PAYOUT_DETAILS_CHANGED,
            label="Payout details changed",
            title="Your payout details were changed",
            body=(
                "Your payouts now go to {destination} ({holder}). If you did not make this "
                "change, change your password and contact us at once."
            ),
            context=("destination", "holder"),
            link=routes.ACCOUNT,
            fallback_link=routes.ACCOUNT,
        ),
        _spec(
            Kind.REFUND_ISSUED,
            "Refund issued",
            "Refund issued: {amount}",
            "We refunded {amount} for {order_ref} ({item}) to your card. {reason}",
            (*_ORDER, "amount_cents", "reason"),
        ),
        _spec(
            Kind.PENALTY_CHARGED,
            "Seller penalty",
            "Penalty charged: {amount}",
            "A penalty of {amount} was charged for {order_ref} ({item}). {reason}",
            (*_ORDER, "amount_cents", "reason"),
        ),
        KindSpec(
            kind=Kind.PASSWORD_CHANGED,
            label="Password changed",
            title="Your password was changed",
            body="The password of your account was changed on {changed_at}, and every other "
            "device was logged out. If this was not you, reset your password now.",
            context=("changed_at",),
            link=routes.FORGOT_PASSWORD,
            fallback_link=routes.FORGOT_PASSWORD,
        ),
        KindSpec(
            kind=Kind.SIGN_UP_ATTEMPT,
            label="Sign-up with your email",
            title="Someone tried to sign up with your email",
            body="On {attempted_at} someone (maybe you) tried to create an account with this "
            "email address. You already have one: log in, or reset your password if you forgot "
            "it. If it was not you, there is nothing to do.",
            context=("attempted_at",),
            link=routes.FORGOT_PASSWORD,
            fallback_link=routes.FORGOT_PASSWORD,
        ),
    )
}


def kind_of(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise UnknownKind(kind) from None


# --- rendering -----------------------------------------------------------------------------


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


def _looked_up(session: Session, context: Mapping[str, object]) -> dict[str, object]:
    """What the ids in the context tell: the bid's, ask's or order's variant and deadline, and
    the product's name, size and slug. Values the caller passed win."""
    out: dict[str, object] = {}
    source: Bid | Ask | Order | None = None
    order_id, bid_id, ask_id = (context.get(k) for k in ("order_id", "bid_id", "ask_id"))
    if isinstance(order_id, int):
        source = session.get(Order, order_id)
    elif isinstance(bid_id, int):
        source = session.get(Bid, bid_id)
    elif isinstance(ask_id, int):
        source = session.get(Ask, ask_id)
    if isinstance(source, Order):
        out["ship_by"] = source.ship_by
    elif source is not None:
        out["expires_at"] = source.expires_at
    variant_id = context.get("variant_id", source.variant_id if source else None)
    product_id = context.get("product_id")
    if isinstance(variant_id, int):
        variant = session.get(ProductVariant, variant_id)
        if variant is not None:
            out["size"] = variant.size
            product_id = variant.product_id
    if isinstance(product_id, int):
        product = session.get(Product, product_id)
        if product is not None:
            out["product"] = product.name
            out["product_slug"] = product.slug
    return {k: v for k, v in out.items() if v is not None}


def render_context(session: Session, context: Mapping[str, object]) -> dict[str, str]:
    """What templates may name: every context value as text, `<x>_cents` also as `<x>` in
    dollars, what the ids lead to (see `_looked_up`), and `item`, `order_ref`, `appeal_note`,
    `tracking_note`."""
    values: dict[str, str] = {}
    for key, value in context.items():
        values[key] = _text(value)
        if key.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
            values[key.removesuffix("_cents")] = format_usd(value)
    for key, value in _looked_up(session, context).items():
        values.setdefault(key, _text(value))
    product, size = values.get("product"), values.get("size")
    item = product or "your item"
    if product and size:
        item = f"{product} (size {size})"
    values.setdefault("item", item)
    order_id = context.get("order_id")
    values.setdefault("order_ref", f"Order #{order_id}" if order_id is not None else "Your order")
    if "can_appeal" in context:
        values.setdefault(
            "appeal_note",
            "You can appeal this decision once from the order page."
            if context["can_appeal"]
            else "This decision is final.",
        )
    if values.get("tracking"):
        values.setdefault("tracking_note", f"Tracking number: {values['tracking']}.")
    return values


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(_Blank(values))


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, kw_only=True)
class Rendered:
    title: str
    body: str
    link: str


def render(*, session: Session, kind: Kind, context: Mapping[str, object]) -> Rendered:
    spec = KINDS[kind]
    values = render_context(session, context)
    fields = {name for _, name, _, _ in string.Formatter().parse(spec.link) if name}
    link = _fill(spec.link, values) if all(values.get(f) for f in fields) else spec.fallback_link
    return Rendered(
        title=header_text(_fill(spec.title, values), max_length=_TITLE_MAX),
        body=_squash(_fill(spec.body, values))[:_BODY_MAX],
        link=link[:_LINK_MAX],
    )


# --- preferences ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PreferenceView:
    kind: Kind
    label: str
    in_app: bool
    email: bool


def _effective(session: Session, user_id: int, kind: str) -> tuple[bool, bool]:
    if kind in ALWAYS_SENT:
        return True, True
    row = session.get(NotificationPreference, (user_id, kind))
    return (True, True) if row is None else (row.in_app, row.email)


def preferences(*, session: Session, user_id: int) -> list[PreferenceView]:
    """Every kind with its effective channels (a kind never set is on for both)."""
    rows = session.exec(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    ).all()
    saved = {row.kind: row for row in rows}
    views = []
    for kind, spec in KINDS.items():
        if kind.value in ALWAYS_SENT:
            continue  # not the user's to turn off
        row = saved.get(kind.value)
        views.append(
            PreferenceView(
                kind=kind,
                label=spec.label,
                in_app=True if row is None else row.in_app,
                email=True if row is None else row.email,
            )
        )
    return views


def _insert(session: Session, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT on both SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def set_preference(
    *, session: Session, user_id: int, kind: str, in_app: bool, email: bool
) -> PreferenceView:
    """Upsert one kind's channels (safe against a concurrent save of the same kind)."""
    known = kind_of(kind)
    if known in ALWAYS_SENT:
        raise NotificationError("Security notices are always sent.")
    session.flush()
    stmt = (
        _insert(session, _table(NotificationPreference))
        .values(user_id=user_id, kind=known.value, in_app=in_app, email=email)
        .on_conflict_do_update(
            index_elements=["user_id", "kind"], set_={"in_app": in_app, "email": email}
        )
    )
    session.execute(stmt)
    session.get(NotificationPreference, (user_id, known.value), populate_existing=True)
    return PreferenceView(kind=known, label=KINDS[known].label, in_app=in_app, email=email)


# --- notify --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NotifyResult:
    """`created` is False when the dedupe key had already been used (nothing new was written).
    `email_notification_id` is set when an email is due: `notify` wrote its outbox row, which
    goes out after the commit; queuing it twice is harmless."""

    notification: Notification
    created: bool
    in_app: bool
    email_due: bool

    @property
    def email_notification_id(self) -> int | None:
        return self.notification.id if self.email_due else None


def _by_key(session: Session, dedupe_key: str) -> Notification | None:
    return session.exec(
        select(Notification)
        .where(Notification.dedupe_key == dedupe_key)
        .execution_options(populate_existing=True)
    ).first()


def notify(
    *,
    session: Session,
    user_id: int,
    kind: str,
    context: Mapping[str, object] | None = None,
    dedupe_key: str,
    now: datetime | None = None,
    caused_by: int | None = None,
) -> NotifyResult | None:
    """Record one event for one user, once per `dedupe_key`, on the channels they want.

    `caused_by`: the user whose action caused this event for someone else (outbid, price
    drop). Such emails are rate limited (limits.allow_email): over the limit the in-app notice
    is still recorded, the email is not sent.

    None when the user has turned both channels off for this kind (nothing is stored). Flushes;
    the caller commits. A concurrent call with the same key (another worker, on PostgreSQL or
    SQLite) is absorbed by INSERT ... ON CONFLICT DO NOTHING, which unlike a failed INSERT in a
    savepoint never aborts the caller's transaction.
    """
    known = kind_of(kind)
    if not dedupe_key or len(dedupe_key) > 200:
        raise NotificationError("A dedupe key of 1 to 200 characters is required.")
    in_app, email = _effective(session, user_id, known.value)
    existing = _by_key(session, dedupe_key)
    if existing is None:
        if email and caused_by is not None:
            email = limits.allow_email(kind=known.value, recipient_id=user_id, caused_by=caused_by)
        if not in_app and not email:
            return None
        now = now or utcnow()
        text = render(session=session, kind=known, context=context or {})
        result = session.execute(
            _insert(session, _table(Notification))
            .values(
                user_id=user_id,
                kind=known.value,
                title=text.title,
                body=text.body,
                link=text.link,
                dedupe_key=dedupe_key,
                emailed_at=None,
                read_at=None if in_app else EMAIL_ONLY_READ_AT,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_table(Notification).c.id)
        )
        created = result.first() is not None
        row = _by_key(session, dedupe_key)
        assert row is not None, "a row with this dedupe key exists: ours or a concurrent one"
    else:
        created, row = False, existing
    if row.user_id != user_id or row.kind != known.value:
        raise NotificationError(f"Dedupe key {dedupe_key!r} already names another event.")
    email_due = email and row.emailed_at is None
    if email_due:
        # In this transaction: the email cannot be lost between the commit and the broker.
        outbox.add(session, EMAIL_TASK, row.id, key=email_key(row.id or 0))
    session.flush()
    return NotifyResult(
        notification=row,
        created=created,
        in_app=row.read_at != EMAIL_ONLY_READ_AT,
        email_due=email_due,
    )


EMAIL_TASK = "sneakers.send_notification_email"


def email_key(notification_id: int) -> str:
    """The outbox key of a notification's email (`notify` writes the row)."""
    return f"email:{notification_id}"


# --- email ---------------------------------------------------------------------------------


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


def deliver_email(
    *,
    session: Session,
    notification_id: int,
    mailer: Mailer,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> bool:
    """Send a notification's email at most once; True if this call sent it.

    Unlike the other functions here it commits: the claim (emailed_at set where it was NULL,
    one row changed or none) must be visible to every other worker before the message leaves,
    and no lock may be held while a slow SMTP server answers. On a transient failure the claim is
    released and `EmailTransientError` propagates for the task to retry; `EmailRejected` keeps the
    claim (a 5xx would only repeat). A worker that dies between claim and send loses that one
    email: at most once, by design.
    """
    row = session.get(Notification, notification_id, populate_existing=True)
    if row is None or row.emailed_at is not None:
        return False
    user = session.get(User, row.user_id)
    if user is None or not _effective(session, row.user_id, row.kind)[1]:
        return False
    outgoing = build_email(notification=row, user=user, settings=settings)
    claimed_at = now or utcnow()
    table = _table(Notification)
    claim = session.execute(
        update(table)
        .where(table.c.id == notification_id, table.c.emailed_at.is_(None))
        .values(emailed_at=claimed_at)
        .returning(table.c.id)
    )
    claimed = claim.first() is not None
    session.commit()
    if not claimed:
        session.expire(row)
        return False
    try:
        mailer.send(outgoing)
    except EmailRejected:
        raise
    except BaseException:
        session.execute(
            update(table)
            .where(table.c.id == notification_id, table.c.emailed_at == claimed_at)
            .values(emailed_at=None)
        )
        session.commit()
        raise
    finally:
        session.expire(row)
    return True


def emails_pending(
    *, session: Session, created_after: datetime, created_before: datetime, limit: int = 500
) -> list[int]:
    """Notifications created in the window whose email was due and was never sent (its task
    lost with the broker, or still retrying): the sweep queues them again; `deliver_email`
    sends each at most once. Only notices that got an email row in the outbox when they were
    made count: one whose email a rate limit refused stays in the inbox only."""
    rows = session.exec(
        select(Notification.id, Notification.user_id, Notification.kind)
        .join(
            OutboxMessage,
            col(OutboxMessage.dedupe_key)
            == literal("email:", String) + sql_cast(col(Notification.id), String),
        )
        .where(
            col(Notification.emailed_at).is_(None),
            col(Notification.created_at) > created_after,
            col(Notification.created_at) <= created_before,
        )
        .order_by(col(Notification.id))
        .limit(limit)
    ).all()
    return [
        notification_id
        for notification_id, user_id, kind in rows
        if notification_id is not None and _effective(session, user_id, kind)[1]
    ]


# --- inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


def _visible() -> Any:
    return or_(col(Notification.read_at).is_(None), col(Notification.read_at) != EMAIL_ONLY_READ_AT)


def inbox(
    *, session: Session, user_id: int, limit: int = 20, before_id: int | None = None
) -> list[NotificationView]:
    """Newest first; pass the last id seen as `before_id` for the next page."""
    limit = max(1, min(limit, MAX_INBOX_PAGE))
    stmt = select(Notification).where(Notification.user_id == user_id, _visible())
    if before_id is not None:
        stmt = stmt.where(col(Notification.id) < before_id)
    rows = session.exec(stmt.order_by(col(Notification.id).desc()).limit(limit)).all()
    return [
        NotificationView(
            id=row.id or 0,
            kind=row.kind,
            title=row.title,
            body=row.body,
            link=row.link,
            created_at=row.created_at,
            read=row.read_at is not None,
        )
        for row in rows
    ]


def unread_count(*, session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
    ).one()


def mark_read(
    *, session: Session, user_id: int, notification_id: int, now: datetime | None = None
) -> bool:
    """True if this call marked it read, False if it already was. Someone else's notification
    (or one that does not exist) raises `NotificationNotFound` and changes nothing."""
    row = session.exec(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id, _visible()
        )
    ).first()
    if row is None:
        raise NotificationNotFound()
    if row.read_at is not None:
        return False
    row.read_at = now or utcnow()
    session.add(row)
    session.flush()
    return True


def mark_all_read(*, session: Session, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    session.flush()
    table = _table(Notification)
    result = session.execute(
        update(table)
        .where(table.c.user_id == user_id, table.c.read_at.is_(None))
        .values(read_at=now or utcnow())
        .returning(table.c.id)
    )
    changed = len(result.all())
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Notification) and obj.user_id == user_id:
            session.expire(obj, ["read_at"])
    return changed


# --- price drops ---------------------------------------------------------------------------


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


def email_ids(results: Sequence[NotifyResult | None]) -> tuple[int, ...]:
    """The notification ids whose email is due (their outbox rows are written)."""
    return tuple(
        r.email_notification_id
        for r in results
        if r is not None and r.email_notification_id is not None
    )
