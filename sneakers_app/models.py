"""The marketplace's tables. Money is integer cents, times are UTC, rules the database can hold
(foreign keys, uniqueness, CHECK on every status) live in the database.

Alembic is the only way the schema changes: `alembic/versions/` mirrors these classes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from sneakers_app.vocabulary import ListingStatus, OrderStatus, TimeInForce


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# By column type (`sa_type`), not by a ready `sa_column`: each table built from a field gets a
# column of its own, so a non-table base (`ListingBase`) can hold timestamps for two tables.
def ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


def opt_ts() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


def status_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


# --- accounts -------------------------------------------------------------------------------


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=60)
    password_hash: str = Field(max_length=255)
    is_staff: bool = False
    is_admin: bool = False
    stripe_customer_id: str | None = Field(default=None, max_length=255)
    default_payment_method_id: str | None = Field(default=None, max_length=255)
    card_brand: str | None = Field(default=None, max_length=32)
    card_last4: str | None = Field(default=None, max_length=4)
    # When the current card was saved: off-session charge failures before it no longer count.
    card_saved_at: datetime | None = opt_ts()
    created_at: datetime = ts()
    # Staff second factor (TOTP, RFC 6238): the base32 secret, when it was confirmed with a
    # first code, and the last time step used (a code is accepted once).
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled_at: datetime | None = opt_ts()
    totp_last_step: int | None = None
    # The size system the user reads sizes in (services/sizes.py): "us_m", "us_w", "uk", ...
    size_system: str = Field(
        default="us_m", max_length=8, sa_column_kwargs={"server_default": "us_m"}
    )


class PaymentCard(SQLModel, table=True):
    """A card the user saved (Stripe payment method); the card numbers stay at Stripe. Exactly one
    is the default while the user has any; `users.default_payment_method_id` mirrors it."""

    __tablename__ = "payment_cards"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    payment_method_id: str = Field(max_length=255, unique=True)
    brand: str = Field(max_length=32)
    last4: str = Field(max_length=4)
    exp_month: int = 0
    exp_year: int = 0
    is_default: bool = False
    created_at: datetime = ts()


class Address(SQLModel, table=True):
    __tablename__ = "addresses"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    full_name: str = Field(max_length=120)
    line1: str = Field(max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(max_length=100)
    region: str = Field(default="", max_length=100)
    postal_code: str = Field(max_length=20)
    country: str = Field(default="US", max_length=2)
    is_default: bool = False
    created_at: datetime = ts()


class UserSession(SQLModel, table=True):
    """Server-side login sessions; the browser holds only a random token, we store its hash."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = ts()
    expires_at: datetime = ts()
    revoked_at: datetime | None = opt_ts()
    # When this session passed the staff second factor (TOTP); None: not (yet) verified.
    second_factor_at: datetime | None = opt_ts()


class AccountToken(SQLModel, table=True):
    """A one-time emailed link: confirm a sign-up (the pending account lives here until the
    link is opened) or reset a password. Only the token's SHA-256 is stored; the token itself is
    an HMAC of `nonce` under SECRET_KEY, so the database alone cannot produce a working link."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        status_check("purpose", ("sign_up", "password_reset"), "ck_account_tokens_purpose"),
        Index("ix_account_tokens_email_purpose", "email", "purpose"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=20)
    email: str = Field(max_length=254)
    user_id: int | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="CASCADE"
    )
    display_name: str = Field(default="", max_length=60)
    password_hash: str = Field(default="", max_length=255)
    nonce: str = Field(max_length=64, unique=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = ts()
    expires_at: datetime = ts()
    used_at: datetime | None = opt_ts()
    emailed_at: datetime | None = opt_ts()


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "attempted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    succeeded: bool = False
    attempted_at: datetime = ts()


class PayoutAccount(SQLModel, table=True):
    """Where a seller is paid: a Stripe Connect account id, or details for a manual payout."""

    __tablename__ = "payout_accounts"
    __table_args__ = (
        status_check("kind", ("stripe_connect", "manual"), "ck_payout_accounts_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)
    account_ref: str = Field(max_length=255)
    holder_name: str = Field(default="", max_length=120)
    created_at: datetime = ts()


# --- catalog --------------------------------------------------------------------------------


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("retail_price_cents > 0", name="ck_products_retail_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=160, unique=True, index=True)
    brand: str = Field(max_length=60, index=True)
    model: str = Field(max_length=120)
    colorway: str = Field(max_length=120)
    name: str = Field(max_length=240)
    style_code: str = Field(max_length=40, unique=True)
    retail_price_cents: int
    release_date: date = Field(index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    image: str = Field(max_length=200)
    # Which size chart its sizes are on (services/sizes.py): "men", "women", "gs", ...
    size_chart: str = Field(
        default="men", max_length=12, sa_column_kwargs={"server_default": "men"}
    )
    created_at: datetime = ts()


class ProductVariant(SQLModel, table=True):
    """A product in one size: the unit an order book trades."""

    __tablename__ = "product_variants"
    __table_args__ = (UniqueConstraint("product_id", "size", name="uq_variant_product_size"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True, ondelete="CASCADE")
    size: str = Field(max_length=10)
    sort_order: int


# --- trading --------------------------------------------------------------------------------

ORDER_SIDE_STATUSES = tuple(ListingStatus)
TIME_IN_FORCE = tuple(TimeInForce)


def _order_side_args(table: str) -> tuple[Any, ...]:
    return (
        status_check("status", ORDER_SIDE_STATUSES, f"ck_{table}_status"),
        status_check("time_in_force", TIME_IN_FORCE, f"ck_{table}_tif"),
        CheckConstraint("price_cents > 0", name=f"ck_{table}_price_positive"),
        CheckConstraint("quantity BETWEEN 1 AND 100", name=f"ck_{table}_quantity"),
        CheckConstraint(
            "filled_quantity >= 0 AND filled_quantity <= quantity", name=f"ck_{table}_filled"
        ),
        Index(f"ix_{table}_book", "variant_id", "status", "price_cents"),
        Index(f"ix_{table}_user_status", "user_id", "status"),
    )


class ListingBase(SQLModel):
    """What a bid and an ask share (the two tables differ only in name and side). Not a table:
    `Bid` and `Ask` are."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    variant_id: int = Field(foreign_key="product_variants.id")
    price_cents: int
    quantity: int = 1
    filled_quantity: int = 0
    status: str = Field(default=ListingStatus.OPEN, max_length=20)
    time_in_force: str = Field(default=TimeInForce.GTC, max_length=3)
    client_key: str = Field(max_length=64, unique=True)
    engine_accepted: bool = False
    # The book sequence the engine gave the order (its time priority), for rebuilding books.
    engine_sequence: int = 0
    expires_at: datetime | None = opt_ts()
    created_at: datetime = ts()
    updated_at: datetime = ts()
    # Bid: where the pair goes. Ask: where a pair that fails authentication comes back to.
    address_id: int | None = Field(default=None, foreign_key="addresses.id", ondelete="SET NULL")


class Bid(ListingBase, table=True):
    __tablename__ = "bids"
    __table_args__ = _order_side_args("bids")

    # The card a match charges; a bid whose card or address is deleted is paused.
    payment_card_id: int | None = Field(
        default=None, foreign_key="payment_cards.id", ondelete="SET NULL"
    )


class Ask(ListingBase, table=True):
    __tablename__ = "asks"
    __table_args__ = _order_side_args("asks")


class OrderBook(SQLModel, table=True):
    """What the database knows of each book in the engine: the last sequence it saw from it
    (journal entries, rebuilds). A book in Redis below it lost state and is rebuilt."""

    __tablename__ = "order_books"

    variant_id: int = Field(primary_key=True, foreign_key="product_variants.id", ondelete="CASCADE")
    last_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    rebuilt_at: datetime | None = opt_ts()
    updated_at: datetime = ts()


class EngineFill(SQLModel, table=True):
    """A fill the engine reported to the user who placed the order, written in the same commit
    that records the engine's answer, before the user is told. The journal consumer deletes it
    once the trade is recorded; if Redis lost the journal first, the book's rebuild records the
    trade from here, so nothing a user was told "Matched!" for is lost."""

    __tablename__ = "engine_fills"

    trade_id: str = Field(primary_key=True, max_length=64)
    variant_id: int = Field(foreign_key="product_variants.id", index=True, ondelete="CASCADE")
    at_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    event: str = Field(sa_column=Column(Text, nullable=False))
    """The engine's trade event as JSON (the journal's array form)."""
    created_at: datetime = ts()


class Trade(SQLModel, table=True):
    """A match from the engine (the original design's "match"); its id is the engine's trade id."""

    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="ck_trades_price_positive"),
        CheckConstraint("quantity > 0", name="ck_trades_quantity_positive"),
        CheckConstraint("buyer_id <> seller_id", name="ck_trades_no_self_trade"),
        Index("ix_trades_variant_executed", "variant_id", "executed_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    variant_id: int = Field(foreign_key="product_variants.id")
    bid_id: int = Field(foreign_key="bids.id", index=True)
    ask_id: int = Field(foreign_key="asks.id", index=True)
    buyer_id: int = Field(foreign_key="users.id", index=True)
    seller_id: int = Field(foreign_key="users.id", index=True)
    price_cents: int
    quantity: int = 1
    maker_side: str = Field(max_length=3)
    executed_at: datetime = ts()


class Sale(SQLModel, table=True):
    """The public tape: one row per unit sold, the source of last sale, charts and stats.

    Price history is derived from these rows (aggregated per day when charted). Live trades add a
    row per unit with `trade_id` set; the demo catalog's imported history has no trade.
    """

    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="ck_sales_price_positive"),
        Index("ix_sales_variant_executed", "variant_id", "executed_at"),
        Index("ix_sales_product_executed", "product_id", "executed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id")
    variant_id: int = Field(foreign_key="product_variants.id")
    trade_id: str | None = Field(default=None, foreign_key="trades.id", max_length=64)
    price_cents: int
    executed_at: datetime = ts()
    # Set when the trade was voided (never paid): the row leaves every public figure.
    voided_at: datetime | None = opt_ts()


# --- orders and money -----------------------------------------------------------------------

ORDER_STATUSES = tuple(OrderStatus)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        status_check("status", ORDER_STATUSES, "ck_orders_status"),
        CheckConstraint("price_cents > 0", name="ck_orders_price_positive"),
        Index("ix_orders_status_updated", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    trade_id: str = Field(foreign_key="trades.id", max_length=64, unique=True)
    unit: int = 1
    buyer_id: int = Field(foreign_key="users.id", index=True)
    seller_id: int = Field(foreign_key="users.id", index=True)
    variant_id: int = Field(foreign_key="product_variants.id")
    status: str = Field(default="created", max_length=30)
    price_cents: int
    # Fee snapshot: what both sides were shown and agreed to at the time of the match.
    buyer_processing_fee_cents: int = 0
    buyer_shipping_cents: int = 0
    buyer_total_cents: int = 0
    seller_level: int = 1
    seller_fee_bp: int = 0
    seller_transaction_fee_cents: int = 0
    seller_processing_fee_cents: int = 0
    seller_shipping_cents: int = 0
    seller_payout_cents: int = 0
    ship_by: datetime | None = opt_ts()
    ship_by_extended: bool = False
    # After a failed inspection the seller may appeal once until this time; then it is final.
    appeal_deadline: datetime | None = opt_ts()
    appeal_used: bool = False
    ask_id: int | None = Field(default=None, foreign_key="asks.id")
    bid_id: int | None = Field(default=None, foreign_key="bids.id")
    penalty_cents: int = 0
    inbound_tracking: str | None = Field(default=None, max_length=64)
    outbound_tracking: str | None = Field(default=None, max_length=64)
    # The pair's way back to the seller after a final failed authentication.
    return_tracking: str | None = Field(default=None, max_length=64)
    # Snapshots taken at the match (JSON of the address fields; "" when there was none), so a
    # later edit of an address book never moves a pair in transit.
    buyer_address: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )
    seller_address: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )
    # The card the buyer is charged (and refunded to).
    payment_method_id: str | None = Field(default=None, max_length=255)
    card_brand: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    card_last4: str = Field(default="", max_length=4, sa_column_kwargs={"server_default": ""})
    created_at: datetime = ts()
    updated_at: datetime = ts()


class OrderEvent(SQLModel, table=True):
    """Append-only history of an order's transitions."""

    __tablename__ = "order_events"
    __table_args__ = (
        status_check("actor_kind", ("system", "buyer", "seller", "staff"), "ck_events_actor"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    from_status: str | None = Field(default=None, max_length=30)
    to_status: str = Field(max_length=30)
    actor_kind: str = Field(default="system", max_length=10)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    reason: str = Field(default="", max_length=500)
    created_at: datetime = ts()


class Inspection(SQLModel, table=True):
    """A staff member's verification of one order's pair (an appeal adds a second row)."""

    __tablename__ = "inspections"
    __table_args__ = (
        status_check("result", ("pass", "fail"), "ck_inspections_result"),
        UniqueConstraint("order_id", "is_appeal", name="uq_inspections_order_appeal"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    inspector_id: int = Field(foreign_key="users.id")
    is_appeal: bool = False
    box_ok: bool = False
    stitching_ok: bool = False
    materials_ok: bool = False
    tags_ok: bool = False
    size_ok: bool = False
    result: str = Field(max_length=4)
    reason: str = Field(default="", max_length=500)
    notes: str = Field(default="", max_length=2000)
    created_at: datetime = ts()


class Payment(SQLModel, table=True):
    """A charge or refund through Stripe."""

    __tablename__ = "payments"
    __table_args__ = (
        status_check("kind", ("charge", "refund"), "ck_payments_kind"),
        status_check(
            "status",
            ("pending", "succeeded", "failed", "requires_action"),
            "ck_payments_status",
        ),
        CheckConstraint("amount_cents > 0", name="ck_payments_amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: str = Field(max_length=10)
    status: str = Field(default="pending", max_length=20)
    amount_cents: int
    idempotency_key: str = Field(max_length=100, unique=True)
    stripe_id: str | None = Field(default=None, max_length=255, index=True)
    failure_reason: str = Field(default="", max_length=500)
    created_at: datetime = ts()
    updated_at: datetime = ts()


class Payout(SQLModel, table=True):
    __tablename__ = "payouts"
    __table_args__ = (
        status_check("status", ("pending", "paid", "failed"), "ck_payouts_status"),
        CheckConstraint("amount_cents > 0", name="ck_payouts_amount_positive"),
        # payouts due, counted at each metrics scrape (services/operations.py)
        Index("ix_payouts_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", unique=True)
    seller_id: int = Field(foreign_key="users.id", index=True)
    amount_cents: int
    status: str = Field(default="pending", max_length=10)
    method: str = Field(max_length=20)
    reference: str | None = Field(default=None, max_length=255)
    paid_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = ts()
    paid_at: datetime | None = opt_ts()
    # Where the money goes, copied from the seller's payout details when the payout is created.
    destination_kind: str = Field(default="", max_length=20)
    destination_ref: str = Field(default="", max_length=255)
    destination_holder: str = Field(default="", max_length=120)
    # Why the last Stripe Connect transfer attempt was refused (status "failed").
    failure_reason: str = Field(default="", max_length=500)


class LedgerTransaction(SQLModel, table=True):
    """One balanced posting; its id is unique, so a posting can never be written twice."""

    __tablename__ = "ledger_transactions"

    id: str = Field(primary_key=True, max_length=100)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    memo: str = Field(default="", max_length=200)
    created_at: datetime = ts()


class LedgerEntry(SQLModel, table=True):
    """Double-entry ledger: the entries of one `txn_id` sum to zero."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="ck_ledger_nonzero"),
        Index("ix_ledger_account", "account"),
    )

    id: int | None = Field(default=None, primary_key=True)
    txn_id: str = Field(max_length=100, index=True, foreign_key="ledger_transactions.id")
    account: str = Field(max_length=60)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    memo: str = Field(default="", max_length=200)
    created_at: datetime = ts()


class DeliveryConfirmation(SQLModel, table=True):
    """Who confirmed an order's delivery to the buyer: staff members, or the carrier's event.
    A valuable order needs a carrier event or two different staff members."""

    __tablename__ = "delivery_confirmations"
    __table_args__ = (
        status_check("source", ("staff", "carrier"), "ck_delivery_confirmations_source"),
        UniqueConstraint("order_id", "staff_id", name="uq_delivery_confirmations_staff"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    source: str = Field(max_length=10)
    staff_id: int | None = Field(default=None, foreign_key="users.id")
    carrier_event: str = Field(default="", max_length=100)
    created_at: datetime = ts()


class StripeEvent(SQLModel, table=True):
    """Webhook events by Stripe's id: a replayed event is a no-op."""

    __tablename__ = "stripe_events"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = ts()
    processed_at: datetime | None = opt_ts()


# --- notifications, watchlist, portfolio ---------------------------------------------------


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    link: str = Field(default="", max_length=300)
    dedupe_key: str = Field(max_length=200, unique=True)
    emailed_at: datetime | None = opt_ts()
    # When the user read it in the inbox (None: unread, or never shown there).
    read_at: datetime | None = opt_ts()
    # Sent by email only (the user turned the in-app channel off for its kind): the row exists
    # for the dedupe key and the send-once claim, and the inbox never shows or counts it.
    email_only: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = ts()


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preferences"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=40)
    in_app: bool = True
    email: bool = True


class PriceAlert(SQLModel, table=True):
    """A watched product (optionally one size) with an optional target price."""

    __tablename__ = "price_alerts"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id", "variant_id", name="uq_price_alert"),
        CheckConstraint(
            "target_price_cents IS NULL OR target_price_cents > 0", name="ck_alert_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="products.id")
    variant_id: int | None = Field(default=None, foreign_key="product_variants.id")
    target_price_cents: int | None = None
    last_notified_at: datetime | None = opt_ts()
    created_at: datetime = ts()


class PortfolioItem(SQLModel, table=True):
    __tablename__ = "portfolio_items"
    __table_args__ = (
        status_check("source", ("bought", "manual"), "ck_portfolio_source"),
        CheckConstraint("purchase_price_cents > 0", name="ck_portfolio_price_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    variant_id: int = Field(foreign_key="product_variants.id")
    purchase_price_cents: int
    purchased_on: date
    source: str = Field(default="manual", max_length=10)
    order_id: int | None = Field(default=None, foreign_key="orders.id", unique=True)
    created_at: datetime = ts()


# --- outbox --------------------------------------------------------------------------------


class OutboxMessage(SQLModel, table=True):
    """A Celery task that must follow a commit, written in that commit (services/outbox.py)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "delivered_at", "available_at"),
        CheckConstraint("attempts >= 0", name="ck_outbox_attempts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task: str = Field(max_length=100)
    args: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    dedupe_key: str = Field(max_length=200, unique=True)
    created_at: datetime = ts()
    available_at: datetime = ts()
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)
    delivered_at: datetime | None = opt_ts()


# --- public API -----------------------------------------------------------------------------


class ApiKey(SQLModel, table=True):
    """A key a member made on /account for the public API (services/api_keys.py). The key
    itself is shown once; only its SHA-256 is stored, found by its public `prefix`."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    prefix: str = Field(max_length=24, unique=True)
    secret_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=40)
    """Space-separated: "read" or "read trade"."""
    created_at: datetime = ts()
    last_used_at: datetime | None = opt_ts()
    revoked_at: datetime | None = opt_ts()


class ApiRequest(SQLModel, table=True):
    """A write through the public API made with an `Idempotency-Key`: its retry gets the first
    answer back (services/api_requests.py). `status` is 0 while the first one is running."""

    __tablename__ = "api_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_api_requests_user_key"),
        Index("ix_api_requests_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    idempotency_key: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    """SHA-256 of the method, path and body: the same key with another request is refused."""
    status: int = 0
    response: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = ts()
