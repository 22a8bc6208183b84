"""The demo marketplace: catalog, 12+ months of sales, a few open bids and asks, demo accounts.

Idempotent: every run converges on the same catalog and accounts without duplicating rows, so
the run command can seed on every start. In production only the catalog (products and their
sizes) is loaded: no account with a published password, and no invented sales on the tape.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, insert
from sqlmodel import Session, select

from sneakers_app import catalog_data, price_history
from sneakers_app.db import session_scope
from sneakers_app.models import Ask, Bid, Product, ProductVariant, Sale, User
from sneakers_app.services import accounts, addresses, payments
from sneakers_app.settings import get_settings


@dataclass(frozen=True, kw_only=True)
class DemoAccount:
    role: str
    email: str
    display_name: str
    password: str
    is_staff: bool = False


# Shown by the run command in development only.
DEMO_ACCOUNTS = (
    DemoAccount(
        role="buyer",
        email="buyer@demo.sneakers",
        display_name="Demo Buyer",
        password="demo-buyer-pass",
    ),
    DemoAccount(
        role="seller",
        email="seller@demo.sneakers",
        display_name="Demo Seller",
        password="demo-seller-pass",
    ),
    DemoAccount(
        role="staff",
        email="staff@demo.sneakers",
        display_name="Demo Staff",
        password="demo-staff-pass",
        is_staff=True,
    ),
)
# The demo staff's second factor in development: add it to an authenticator app, or print the
# current code with `python -m sneakers_app demo-totp`.
DEMO_STAFF_TOTP_SECRET = "DEMOSTAFFSNEAKERSDEMOSTAFF234567"  # noqa: S105 (development only)
# Market makers whose resting bids and asks keep the demo books from being empty.
MARKET_MAKERS = (
    ("asks", "sole-supply@demo.sneakers", "Sole Supply Co"),
    ("bids", "heat-collector@demo.sneakers", "Heat Collector"),
)

BID_DAYS = 30
ASK_DAYS = 90


def _user_id(session: Session, email: str) -> int | None:
    return session.exec(select(User.id).where(User.email == email)).first()


def ensure_account(session: Session, *, email: str, name: str, password: str, staff: bool) -> int:
    existing = _user_id(session, email)
    if existing is not None:
        return existing
    user = accounts.sign_up(
        session=session, email=email, display_name=name, password=password, is_staff=staff
    )
    return user.id


def seed_accounts(session: Session) -> dict[str, int]:
    """The demo accounts (never in production: `seed_all` does not call this there)."""
    if not demo_allowed():
        raise RuntimeError("demo accounts are never created in production")
    ids = {
        a.role: ensure_account(
            session, email=a.email, name=a.display_name, password=a.password, staff=a.is_staff
        )
        for a in DEMO_ACCOUNTS
    }
    staff = session.get(User, ids["staff"])
    if staff is not None and staff.totp_enabled_at is None:
        accounts.enable_totp(session=session, user_id=ids["staff"], secret=DEMO_STAFF_TOTP_SECRET)
    for side, email, name in MARKET_MAKERS:
        ids[side] = ensure_account(
            session, email=email, name=name, password=secrets.token_urlsafe(18), staff=False
        )
    return ids


def seed_product(session: Session, model: catalog_data.CatalogSneaker) -> tuple[Product, bool]:
    product = session.exec(select(Product).where(Product.style_code == model.style_code)).first()
    created = product is None
    if product is None:
        product = Product(
            slug=model.slug,
            brand=model.brand,
            model=model.model,
            colorway=model.colorway,
            name=model.name,
            style_code=model.style_code,
            retail_price_cents=model.retail_cents,
            release_date=model.release_date,
            description=model.description,
            image=f"{model.slug}.svg",
            size_chart=model.size_chart,
        )
        session.add(product)
        session.flush()
    elif product.size_chart != model.size_chart:
        # Catalogs seeded before products carried their size chart converge on it.
        product.size_chart = model.size_chart
        session.add(product)
    assert product.id is not None
    existing = set(
        session.exec(select(ProductVariant.size).where(ProductVariant.product_id == product.id))
    )
    for order, size in enumerate(model.sizes):
        if size not in existing:
            session.add(ProductVariant(product_id=product.id, size=size, sort_order=order))
    session.flush()
    return product, created


def _variants_by_size(session: Session, product_id: int) -> dict[str, int]:
    rows = session.exec(
        select(ProductVariant.size, ProductVariant.id).where(
            ProductVariant.product_id == product_id
        )
    ).all()
    return {size: vid for size, vid in rows if vid is not None}


def seed_sales(
    session: Session, product: Product, history: list[price_history.HistoricalTrade]
) -> int:
    assert product.id is not None
    has_sales = session.exec(
        select(func.count()).select_from(Sale).where(Sale.product_id == product.id)
    ).one()
    if has_sales:
        return 0
    variants = _variants_by_size(session, product.id)
    rows = [
        {
            "product_id": product.id,
            "variant_id": variants[t.size],
            "price_cents": t.price_cents,
            "executed_at": t.executed_at,
        }
        for t in sorted(history, key=lambda t: t.executed_at)
    ]
    if rows:
        session.execute(insert(Sale), rows)
    return len(rows)


def seed_open_orders(
    session: Session,
    model: catalog_data.CatalogSneaker,
    product: Product,
    history: list[price_history.HistoricalTrade],
    ids: dict[str, int],
    now: datetime,
) -> int:
    """Resting asks and bids from the demo market makers, once per model (keyed, idempotent)."""
    assert product.id is not None
    variants = _variants_by_size(session, product.id)
    suggestions = price_history.suggest_open_orders(
        style_code=model.style_code,
        retail_cents=model.retail_cents,
        hype=model.hype,
        sizes=list(model.sizes),
        trades=history,
    )
    added = 0
    for n, suggestion in enumerate(suggestions):
        key = f"seed-{model.style_code}-{suggestion.size}-{suggestion.side}-{n}"
        is_ask = suggestion.side == "ask"
        table: type[Ask] | type[Bid] = Ask if is_ask else Bid
        if session.exec(select(table.id).where(table.client_key == key)).first() is not None:
            continue
        session.add(
            table(
                user_id=ids["asks" if is_ask else "bids"],
                variant_id=variants[suggestion.size],
                price_cents=suggestion.price_cents,
                quantity=1,
                client_key=key,
                expires_at=now + timedelta(days=ASK_DAYS if is_ask else BID_DAYS),
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    return added


DEMO_CARD = "4242424242424242"


def _customer_exists(customer_id: str | None) -> bool:
    settings = get_settings()
    if not customer_id:
        return False
    try:
        response = httpx.get(
            f"{settings.STRIPE_API_BASE}/v1/customers/{customer_id}",
            auth=(settings.STRIPE_SECRET_KEY, ""),
            timeout=5,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def seed_wallets(ids: dict[str, int], progress: Callable[[str], object]) -> None:
    """Demo payout details for the sellers and, with localstripe, a saved test card for the
    buyers, so the demo can trade at once. Real Stripe accounts are never touched."""
    settings = get_settings()
    with session_scope() as session:
        for role in ("seller", "asks"):
            if payments.payout_account_for(session=session, user_id=ids[role]) is None:
                payments.save_payout_account(
                    session=session,
                    user_id=ids[role],
                    kind="manual",
                    account_ref="Demo bank account 000123456789",
                    holder_name="Demo Seller",
                )
    if not settings.uses_localstripe:
        return
    for role in ("buyer", "bids"):
        with session_scope() as session:
            user = session.get(User, ids[role])
            if user is None:
                continue
            if payments.has_payment_method(user) and _customer_exists(user.stripe_customer_id):
                continue
            # localstripe keeps its data in memory: after its restart, start the wallet again.
            for stale in payments.list_cards(session=session, user_id=ids[role]):
                payments.delete_card(session=session, user_id=ids[role], card_id=stale.id)
            user.stripe_customer_id = None
            user.default_payment_method_id = None
            session.add(user)
            session.flush()
            try:
                intent = payments.create_setup_intent(session=session, user_id=ids[role])
                response = httpx.post(
                    f"{settings.STRIPE_API_BASE}/v1/setup_intents/{intent.id}/confirm",
                    json={
                        "key": settings.STRIPE_PUBLISHABLE_KEY,
                        "client_secret": intent.client_secret,
                        "payment_method_data": {
                            "type": "card",
                            "card": {
                                "number": DEMO_CARD,
                                "exp_month": 12,
                                "exp_year": 2034,
                                "cvc": "123",
                            },
                        },
                    },
                    timeout=10,
                )
                response.raise_for_status()
                payments.complete_setup(
                    session=session, user_id=ids[role], setup_intent_id=intent.id
                )
            except (
                httpx.HTTPError,
                payments.PaymentError,
                payments.PaymentTemporarilyUnavailable,
            ) as exc:
                progress(f"Skipped the demo card for {role}: {exc}")


# Where the demo members' pairs ship to (buyers) and come back to (sellers).
DEMO_ADDRESSES = {
    "buyer": ("Demo Buyer", "350 Fifth Avenue", "Apt 21B", "New York", "NY", "10118"),
    "seller": ("Demo Seller", "1 Ferry Building", "Suite 50", "San Francisco", "CA", "94111"),
    "bids": ("Heat Collector", "233 S Wacker Drive", "", "Chicago", "IL", "60606"),
    "asks": ("Sole Supply Co", "600 Congress Avenue", "", "Austin", "TX", "78701"),
}


def seed_addresses(session: Session, ids: dict[str, int]) -> None:
    """A default shipping address for each demo member that has none (bids need one)."""
    for role, (name, line1, line2, city, region, postal) in DEMO_ADDRESSES.items():
        if role not in ids or addresses.default_address(session=session, user_id=ids[role]):
            continue
        addresses.add_address(
            session=session,
            user_id=ids[role],
            data=addresses.AddressInput(
                full_name=name,
                line1=line1,
                line2=line2,
                city=city,
                region=region,
                postal_code=postal,
                country="US",
            ),
        )


def demo_allowed() -> bool:
    """Demo accounts, history and open orders: development and the test suite's stacks."""
    return get_settings().ENVIRONMENT != "production"


def seed_all(progress: Callable[[str], object] = lambda _m: None) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if not demo_allowed():
        seed_catalog(progress)
        return
    with session_scope() as session:
        ids = seed_accounts(session)
        seed_addresses(session, ids)
    seed_wallets(ids, progress)
    new_products = sales = orders = 0
    for model in catalog_data.CATALOG:
        history = price_history.generate_trade_history(
            style_code=model.style_code,
            retail_cents=model.retail_cents,
            hype=model.hype,
            sizes=list(model.sizes),
            release_date=model.release_date,
            end=now,
        )
        with session_scope() as session:
            product, created = seed_product(session, model)
            new_products += int(created)
            sales += seed_sales(session, product, history)
            orders += seed_open_orders(session, model, product, history, ids, now)
    progress(
        f"Catalog ready: {len(catalog_data.CATALOG)} models "
        f"({new_products} new, {sales} historical sales and {orders} open orders added)."
    )


def seed_catalog(progress: Callable[[str], object] = lambda _m: None) -> None:
    """Production: the products and their sizes only."""
    new_products = 0
    for model in catalog_data.CATALOG:
        with session_scope() as session:
            _, created = seed_product(session, model)
            new_products += int(created)
    progress(
        f"Catalog ready: {len(catalog_data.CATALOG)} models ({new_products} new). Production: "
        "no demo accounts, sales or orders."
    )
