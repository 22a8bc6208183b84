"""The running backend under a stalled Stripe and under abuse, driven over its own websocket
protocol (tests/support/reflex_client.py) like a browser tab, against the whole stack
(tests/support/stack.py): real Redis, SQLite, localstripe, SMTP, consumer, worker, Reflex.

- One tab's slow outside call never holds up another tab: while localstripe is stopped
  (SIGSTOP) and a card save waits on it, other tabs' events are answered; the save gives up
  after STRIPE_TIMEOUT_SECONDS, tells the user to try again and saves nothing.
- Rate limits (services/limits.py) through the handlers: log in, sign up, placing, cancelling
  and editing orders, watching. Each refusal says "Too many attempts; try again in N seconds."
  and changes nothing in the database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from sneakers_app.db import make_engine
from sneakers_app.models import (
    AccountToken,
    Ask,
    PriceAlert,
    Product,
    ProductVariant,
    User,
    UserSession,
)
from sneakers_app.services import accounts, payments
from state.account import AccountState
from state.auth import AuthFormState
from state.base import SessionState
from state.product import ProductState
from state.product_trade import TradeState
from state.product_watch import WatchState
from state.security import RecoveryState
from state.selling import SellerState
from tests.support import trade_dialog
from tests.support.reflex_client import Tab, Update, state_name
from tests.support.stack import Stack, app_stack

AUTH = state_name(AuthFormState)
ACCOUNT = state_name(AccountState)
PRODUCT = state_name(ProductState)
TRADE = state_name(TradeState)
WATCH = state_name(WatchState)
SESSION = state_name(SessionState)
SELLER = state_name(SellerState)
RECOVERY = state_name(RecoveryState)
PASSWORD = "member password 123"
ANSWER = 60.0
"""How long a tab waits for an answer it must get (generous: this is a 2-core machine)."""
LIMITED = "Too many attempts; try again in"


@dataclass(frozen=True)
class App:
    stack: Stack
    db: Engine
    product_path: str
    slug: str
    size: str
    variant_id: int


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with app_stack(
        tmp_path_factory.mktemp("backend"),
        # A card save on a stopped localstripe waits 3 x 15 s (the SDK's two retries) before
        # it gives up: far longer than another tab's event takes, short enough to watch.
        STRIPE_TIMEOUT_SECONDS="15",
        RATE_LIMIT_LOGIN_IP="6/minute",
        RATE_LIMIT_LOGIN_USER="3/minute",
        RATE_LIMIT_SIGNUP_IP="2/hour",
        RATE_LIMIT_RESET_IP="2/hour",
        RATE_LIMIT_ORDERS_USER="3/minute",
        RATE_LIMIT_ORDERS_IP="100/minute",
        RATE_LIMIT_WATCH_USER="2/minute",
        RATE_LIMIT_WATCH_IP="100/minute",
    ) as stack:
        db = make_engine(stack.database_url)
        with Session(db) as session:
            product, variant = session.exec(
                select(Product, ProductVariant)
                .join(ProductVariant, col(ProductVariant.product_id) == col(Product.id))
                .order_by(col(Product.id), col(ProductVariant.id))
            ).first() or (None, None)
            assert product is not None and variant is not None and variant.id is not None
            found = App(
                stack=stack,
                db=db,
                product_path=f"/product/{product.slug}",
                slug=product.slug,
                size=variant.size,
                variant_id=variant.id,
            )
        yield found
        db.dispose()


@pytest.fixture(autouse=True)
def fresh_limits(app: App) -> None:
    """Every test starts with no attempts counted."""
    client = redis.Redis.from_url(app.stack.redis_url)
    keys = list(client.scan_iter("LIMITS*"))
    if keys:
        client.delete(*keys)


def member(app: App, *, seller: bool = False) -> tuple[str, int]:
    email = f"member-{uuid.uuid4().hex[:10]}@example.com"
    with Session(app.db) as session:
        user = accounts.sign_up(
            session=session, email=email, display_name="Member", password=PASSWORD
        )
        if seller:
            payments.save_payout_account(
                session=session,
                user_id=user.id,
                kind="manual",
                account_ref="IBAN GB33BUKB20201555555555",
                holder_name="Member Seller",
            )
        session.commit()
    return email, user.id


def count(app: App, statement: object) -> int:
    with Session(app.db) as session:
        return int(session.exec(statement).one())  # type: ignore[call-overload]


async def logged_in_tab(app: App, email: str, path: str, **query: str) -> Tab:
    tab = Tab(app.stack.url, path=path, query=query)
    await tab.open()
    await tab.send(AUTH, "log_in", form={"email": email, "password": PASSWORD})
    await tab.wait_for(lambda u: (u.value(SESSION, "user_id") or 0) > 0, ANSWER)
    return tab


def run(coro: object) -> None:
    """Run a tab scenario on its own loop in its own thread (the browser tests' sync Playwright
    keeps an event loop running in this one)."""
    done: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the test's thread
            done.append(exc)

    thread = threading.Thread(target=main, name="tab-scenario")
    thread.start()
    thread.join()
    if done:
        raise done[0]


# --- nothing freezes other users --------------------------------------------------------------


def test_other_tabs_are_answered_while_a_card_save_waits_on_a_stopped_stripe(app: App) -> None:
    """...and the save gives up by itself, says to try again, saves nothing; trying again once
    Stripe is back works."""
    email, user_id = member(app)

    def customer() -> str | None:
        with Session(app.db) as session:
            row = session.get(User, user_id)
            assert row is not None
            return row.stripe_customer_id

    def confirm_step(u: Update) -> bool:
        return any(e.get("name") == "_call_script" for e in u.events)

    async def scenario() -> None:
        saver = await logged_in_tab(app, email, "/account")
        await saver.send(ACCOUNT, "on_load")
        await saver.send(ACCOUNT, "open_card_form")
        # What the browser answers once stripe.js mounted the card Element.
        await saver.send(ACCOUNT, "card_form_mounted", result={"ready": True})
        await saver.wait_var(ACCOUNT, "card_form_ready", True, ANSWER)
        os.kill(app.stack.stripe.process.pid, signal.SIGSTOP)
        try:
            mark = len(saver.updates)
            await saver.send(ACCOUNT, "save_card")  # creates a Stripe customer: waits
            await saver.wait_var(ACCOUNT, "card_busy", True, ANSWER, since=mark)
            other = Tab(app.stack.url, path=app.product_path, query={"slug": app.slug})
            await other.open()
            await other.send(WATCH, "set_watch_target", value="123")
            # Answered while the save is still waiting on Stripe (before: only after it).
            await other.wait_var(WATCH, "watch_target", "123", ANSWER)
            assert not any(confirm_step(u) for u in saver.updates[mark:])
            assert saver.latest(ACCOUNT, "card_error", "") == ""
            assert saver.latest(ACCOUNT, "card_busy") is True, "the save is still waiting"
            await other.close()
            # Stripe never answers: the save gives up by itself and says to try again.
            await saver.wait_var(ACCOUNT, "card_busy", False, 4 * ANSWER, since=mark)
            assert saver.latest(ACCOUNT, "card_error") == (
                "Payments are briefly unavailable. Please try again in a minute."
            )
            assert not any(confirm_step(u) for u in saver.updates[mark:])
            assert customer() is None  # nothing half-saved
        finally:
            os.kill(app.stack.stripe.process.pid, signal.SIGCONT)
        # Stripe back: trying again goes on to the card form's confirm step.
        mark = len(saver.updates)
        await saver.send(ACCOUNT, "save_card")
        await saver.wait_for(confirm_step, ANSWER, since=mark)
        assert saver.latest(ACCOUNT, "card_error", "") == ""
        assert customer()
        await saver.close()

    run(scenario())


# --- rate limits --------------------------------------------------------------------------------


def test_log_in_is_limited_per_email_and_refuses_even_the_right_password(app: App) -> None:
    email, user_id = member(app)
    sessions = select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)

    async def scenario() -> None:
        tab = Tab(app.stack.url, path="/login")
        await tab.open()
        for _ in range(3):  # RATE_LIMIT_LOGIN_USER=3/minute
            mark = len(tab.updates)
            await tab.send(AUTH, "log_in", form={"email": email, "password": "wrong password 1"})
            await tab.wait_var(AUTH, "submitting", False, ANSWER, since=mark)
            assert LIMITED not in str(tab.latest(AUTH, "form_error", ""))
        mark = len(tab.updates)
        await tab.send(AUTH, "log_in", form={"email": email.upper(), "password": PASSWORD})
        refused = await tab.wait_for(
            lambda u: LIMITED in str(u.value(AUTH, "form_error") or ""), ANSWER, since=mark
        )
        assert str(refused.value(AUTH, "form_error")).endswith("seconds.")
        assert tab.latest(SESSION, "user_id", 0) == 0
        await tab.close()

    run(scenario())
    assert count(app, sessions) == 0


def test_log_in_is_limited_per_ip(app: App) -> None:
    async def scenario() -> None:
        tab = Tab(app.stack.url, path="/login")
        await tab.open()
        for i in range(6):  # RATE_LIMIT_LOGIN_IP=6/minute, each with another email
            mark = len(tab.updates)
            await tab.send(
                AUTH, "log_in", form={"email": f"nobody{i}@example.com", "password": "x" * 12}
            )
            await tab.wait_var(AUTH, "submitting", False, ANSWER, since=mark)
            assert LIMITED not in str(tab.latest(AUTH, "form_error", ""))
        email, _ = member(app)
        mark = len(tab.updates)
        await tab.send(AUTH, "log_in", form={"email": email, "password": PASSWORD})
        await tab.wait_for(
            lambda u: LIMITED in str(u.value(AUTH, "form_error") or ""), ANSWER, since=mark
        )
        assert tab.latest(SESSION, "user_id", 0) == 0
        await tab.close()

    run(scenario())


def test_sign_up_is_limited_per_ip_and_the_refused_one_sends_no_link(app: App) -> None:
    emails = [f"new-{uuid.uuid4().hex[:10]}@example.com" for _ in range(3)]

    async def scenario() -> None:
        for i, email in enumerate(emails):  # RATE_LIMIT_SIGNUP_IP=2/hour
            tab = Tab(app.stack.url, path="/signup")
            await tab.open()
            mark = len(tab.updates)
            form = {"email": email, "display_name": "New", "password": PASSWORD}
            await tab.send(AUTH, "sign_up", form=form)
            if i < 2:  # "we sent you a link"
                await tab.wait_for(lambda u: bool(u.value(AUTH, "sign_up_sent_to")), ANSWER)
            else:
                refused = await tab.wait_for(
                    lambda u: LIMITED in str(u.value(AUTH, "form_error") or ""),
                    ANSWER,
                    since=mark,
                )
                assert "seconds." in str(refused.value(AUTH, "form_error"))
            await tab.close()

    run(scenario())
    links = (
        select(func.count())
        .select_from(AccountToken)
        .where(col(AccountToken.email).in_(emails), AccountToken.purpose == "sign_up")
    )
    assert count(app, links) == 2
    third = select(func.count()).select_from(AccountToken).where(AccountToken.email == emails[2])
    assert count(app, third) == 0


def test_password_reset_requests_are_limited_per_ip(app: App) -> None:
    """Each request can email someone: one client cannot mail every member."""
    emails = [f"someone-{uuid.uuid4().hex[:10]}@example.com" for _ in range(3)]

    async def scenario() -> None:
        for i, email in enumerate(emails):  # RATE_LIMIT_RESET_IP=2/hour
            tab = Tab(app.stack.url, path="/forgot-password")
            await tab.open()
            mark = len(tab.updates)
            await tab.send(RECOVERY, "request_reset", form={"email": email})
            if i < 2:  # the same answer whether or not the address has an account
                await tab.wait_for(lambda u: bool(u.value(RECOVERY, "sent_to")), ANSWER)
            else:
                await tab.wait_for(
                    lambda u: LIMITED in str(u.value(RECOVERY, "email_error") or ""),
                    ANSWER,
                    since=mark,
                )
            await tab.close()

    run(scenario())


def test_placing_cancelling_and_editing_orders_share_one_limit_per_user(app: App) -> None:
    email, user_id = member(app, seller=True)
    asks = select(func.count()).select_from(Ask).where(Ask.user_id == user_id)
    query = {"slug": app.slug, "size": app.size}

    async def place(tab: Tab, price: str) -> str:
        return await trade_dialog.submit(
            tab, kind="ask", size=app.size, price=price, timeout=ANSWER
        )

    async def scenario() -> None:
        tab = await logged_in_tab(app, email, app.product_path, **query)
        await tab.send(PRODUCT, "on_load")
        for price in ("4100", "4200", "4300"):  # RATE_LIMIT_ORDERS_USER=3/minute
            assert await place(tab, price) == ""
        assert count(app, asks) == 3
        refused = await place(tab, "4400")
        assert refused.startswith(LIMITED)
        assert count(app, asks) == 3
        with Session(app.db) as session:
            first = session.exec(
                select(Ask).where(Ask.user_id == user_id).order_by(col(Ask.id))
            ).first()
            assert first is not None
            first_id, first_price = first.id, first.price_cents
        # Cancelling counts against the same limit: refused, the ask stays open.
        mark = len(tab.updates)
        await tab.send(PRODUCT, "cancel_listing", key=f"a{first_id}")
        await tab.wait_for(
            lambda u: LIMITED in str(u.value(PRODUCT, "listing_message") or ""), ANSWER, since=mark
        )
        # So does editing the price from the seller dashboard.
        selling = await logged_in_tab(app, email, "/sell")
        await selling.send(SELLER, "on_load")
        await selling.send(SELLER, "open_edit_listing", listing_id=first_id)
        mark = len(selling.updates)
        await selling.send(SELLER, "save_listing_price", form={"price": "4050"})
        await selling.wait_for(
            lambda u: LIMITED in str(u.value(SELLER, "edit_listing_error") or ""),
            ANSWER,
            since=mark,
        )
        with Session(app.db) as session:
            row = session.get(Ask, first_id)
            assert row is not None
            assert row.status == "open" and row.price_cents == first_price
        await tab.close()
        await selling.close()

    run(scenario())


def test_a_watch_is_saved_with_the_target_its_form_sends(app: App) -> None:
    """Save sends the form's field: the debounced field may not have sent what was typed yet
    (a click within 300 ms of typing saved the target typed before)."""
    email, user_id = member(app)

    async def scenario() -> None:
        tab = await logged_in_tab(app, email, app.product_path, slug=app.slug)
        await tab.send(PRODUCT, "on_load")
        await tab.send(WATCH, "set_watch_target", value="abc")  # what the field last sent
        mark = len(tab.updates)
        await tab.send(WATCH, "save_watch", form_data={"target": "125"})
        await tab.wait_var(WATCH, "watching", True, ANSWER, since=mark)
        await tab.close()

    run(scenario())
    with Session(app.db) as session:
        alert = session.exec(select(PriceAlert).where(PriceAlert.user_id == user_id)).one()
        assert alert.target_price_cents == 12_500


def test_watching_is_limited_per_user(app: App) -> None:
    email, user_id = member(app)
    alerts = select(func.count()).select_from(PriceAlert).where(PriceAlert.user_id == user_id)
    query = {"slug": app.slug}

    async def scenario() -> None:
        tab = await logged_in_tab(app, email, app.product_path, **query)
        await tab.send(PRODUCT, "on_load")
        for target in ("150", "140"):  # RATE_LIMIT_WATCH_USER=2/minute
            await tab.send(WATCH, "set_watch_target", value=target)
            mark = len(tab.updates)
            await tab.send(WATCH, "save_watch")
            await tab.wait_var(WATCH, "watching", True, ANSWER, since=mark)
        with Session(app.db) as session:
            alert = session.exec(select(PriceAlert).where(PriceAlert.user_id == user_id)).one()
            assert alert.target_price_cents == 14_000
        await tab.send(WATCH, "set_watch_target", value="100")
        mark = len(tab.updates)
        await tab.send(WATCH, "save_watch")
        await tab.wait_for(
            lambda u: LIMITED in str(u.value(WATCH, "watch_error") or ""), ANSWER, since=mark
        )
        mark = len(tab.updates)
        await tab.send(WATCH, "remove_watch")
        await tab.wait_for(
            lambda u: LIMITED in str(u.value(WATCH, "watch_error") or ""), ANSWER, since=mark
        )
        await tab.close()

    run(scenario())
    assert count(app, alerts) == 1
    with Session(app.db) as session:
        alert = session.exec(select(PriceAlert).where(PriceAlert.user_id == user_id)).one()
        assert alert.target_price_cents == 14_000
