"""The kinds of notification: what each is called, says and links to, and which are always sent.

Templates are `str.format` strings over the rendered context (see `rendering.render_context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sneakers_app import routes
from sneakers_app.vocabulary import REFUND_LANDS

__all__ = [
    "ALWAYS_SENT",
    "KINDS",
    "Kind",
    "KindSpec",
    "NotificationError",
    "UnknownKind",
    "kind_of",
]


class NotificationError(Exception):
    """A refusal the caller can show or log as is."""


class UnknownKind(NotificationError, ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"Unknown notification kind: {kind!r}.")
        self.kind = kind


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
    BID_PAUSED = "bid_paused"
    # the sale
    BID_MATCHED = "bid_matched"
    ASK_MATCHED = "ask_matched"
    PAYMENT_FAILED = "payment_failed"
    SALE_CANCELLED = "sale_cancelled"
    SHIP_BY_REMINDER = "ship_by_reminder"
    ITEM_RECEIVED = "item_received"
    AUTHENTICATED = "authenticated"
    AUTH_FAILED = "auth_failed"
    AUTH_FAILED_BUYER = "auth_failed_buyer"
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
                "Your card was declined twice in the last 30 days, so we cancelled your "
                "{count_bids} before they could match. Update your card in your account, then "
                "bid again."
            ),
            context=("count",),
            link=routes.ACCOUNT,
            fallback_link=routes.ACCOUNT,
        ),
        KindSpec(
            kind=Kind.BID_PAUSED,
            label="Bid paused (card or address deleted)",
            title="Your bid for {item} is paused",
            body=(
                "You deleted the {what} your bid of {price} for {item} used, so the bid is off "
                "the market and cannot match. Choose another card and address for it in your "
                "portfolio to put it back."
            ),
            context=("bid_id", "price_cents", "what"),
            link=routes.PORTFOLIO,
            fallback_link=routes.PORTFOLIO,
        ),
        _spec(
            Kind.BID_MATCHED,
            "Bid matched or bought (you bought)",
            "{bought_title}",
            "{bought_lead} at {price}; we charged {total} including fees and shipping. "
            "The seller now ships it to us for authentication.",
            (*_ORDER, "price_cents", "total_cents"),
        ),
        _spec(
            Kind.ASK_MATCHED,
            "Ask matched or sold (you sold)",
            "{sold_title} for {price}",
            "{sold_lead} at {price}; your payout after fees will be {payout}. Ship it to our "
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
            Kind.AUTH_FAILED_BUYER,
            "Authentication failed (a pair you bought)",
            "{item} did not pass authentication",
            "{item} ({order_ref}) did not pass our authentication, so we will not ship it to you. "
            "{next_steps}",
            (*_ORDER, "next_steps"),
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
            "We refunded {amount} for {order_ref} ({item}) to {card}. {reason} Refunds take "
            + REFUND_LANDS
            + " to appear on your statement.",
            (*_ORDER, "amount_cents", "reason", "card"),
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
