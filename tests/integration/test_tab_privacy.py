"""A tab whose user leaves keeps nothing of them on the server, and no client event can set the
vars the handlers use as guards.

The handlers are driven through Reflex's own event lookup and processing (`tests.support.
reflex_events`), against a real database and a real redis-server, logged in with the real
log-in handler.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from reflex.state import BaseState
from sqlmodel import select

from sneakers_app import db
from sneakers_app.models import User, UserSession, utcnow
from sneakers_app.services import accounts, addresses, orders, payments
from state.account import AccountState
from state.auth import AuthFormState
from state.base import SessionState
from state.catalog import BrowseState
from state.notifications import NotificationState
from state.orders import OrderDetailState, OrdersState
from state.portfolio import PortfolioState
from state.product import USER_VARS, ProductState
from state.product_trade import TradeState
from state.product_watch import WatchState
from state.security import SecondFactorState
from state.selling import SellerState
from state.shipping import OrderShippingState
from state.staff import VerificationState
from tests.support import factories
from tests.support.reflex_events import NoSuchEvent, Tab

PASSWORD = "a long enough password"
IBAN = "GB33BUKB20201555555555"
ROOT = Path(__file__).resolve().parents[2]


def _email(user_id: int) -> str:
    with db.session_scope() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user.email


def _seller_with_a_sale() -> tuple[int, int]:
    """A member with an address, payout details and a sale (to another member)."""
    with db.session_scope() as s:
        seller, buyer = factories.user(s, "Seller"), factories.user(s, "Buyer")
        addresses.add_address(
            session=s,
            user_id=seller,
            data=addresses.AddressInput(
                full_name="Sam Seller",
                line1="1 Main Street",
                city="New York",
                region="NY",
                postal_code="10001",
            ),
            make_default=True,
        )
        payments.save_payout_account(
            session=s, user_id=seller, kind="manual", account_ref=IBAN, holder_name="Sam Seller"
        )
        trade = factories.trade(s, buyer_id=buyer, seller_id=seller)
        order, _ = orders.create_from_trade(session=s, trade=trade)
        assert order.id is not None
        return seller, order.id


async def open_console(tab: Tab, staff: int, secret: str, order_id: int) -> Any:
    """Staff log in, pass their second factor and open one order in the console."""
    await _log_in(tab, staff)
    await tab.send(SecondFactorState, "submit_code", form={"code": pyotp.TOTP(secret).now()})
    await tab.send(VerificationState, "on_load")
    await tab.send(VerificationState, "select_order", order_id=order_id)
    return await tab.state(VerificationState)


async def _log_in(tab: Tab, user_id: int) -> None:
    await tab.send(AuthFormState, "log_in", form={"email": _email(user_id), "password": PASSWORD})
    session = await tab.state(SessionState)
    assert session.user_id == user_id and session.auth_token


# Vars that are not user data: the notification watcher's own run flags (it stops by itself
# when the session token changes).
NOT_USER_DATA = {
    (NotificationState, name)
    for name in ("_watching", "_stop_requested", "_watch_beat", "_watch_copy", "_watch_sid")
}


async def _left_over(tab: Tab) -> dict[str, Any]:
    """Every var of every page state that still differs from its default (the product page:
    its user vars only; browse holds only the public catalog)."""
    found: dict[str, Any] = {}

    def walk(state: BaseState) -> None:
        for sub in state.substates.values():
            cls = type(sub)
            if cls is not BrowseState:
                for name, f in cls.get_fields().items():
                    if f._owner is not cls or (cls, name) in NOT_USER_DATA:
                        continue
                    if cls is ProductState and name not in USER_VARS:
                        continue
                    value = getattr(sub, name)
                    if value != f.default_value():
                        found[f"{cls.__name__}.{name}"] = value
            walk(sub)

    walk(await tab.state(SessionState))
    return found


@pytest.mark.usefixtures("app_db")
def test_log_out_leaves_nothing_of_the_user_in_the_tab() -> None:
    seller, order_id = _seller_with_a_sale()

    async def scenario() -> None:
        tab = Tab()
        await _log_in(tab, seller)
        for page in (AccountState, OrdersState, PortfolioState, SellerState, NotificationState):
            await tab.send(page, "on_load")
        account = await tab.state(AccountState)
        assert account.payout_ref == IBAN and account.addresses
        assert [row.id for row in (await tab.state(OrdersState)).selling] == [order_id]
        assert (await tab.state(SellerState)).pending
        product = await tab.state(ProductState)
        (await tab.state(WatchState)).watch_target = "250"  # what a product page would hold
        product.own_levels = ["250.00"]
        assert await _left_over(tab)

        await tab.send(SessionState, "log_out")

        assert await _left_over(tab) == {}
        session = await tab.state(SessionState)
        assert (session.user_id, session.user_email, session.auth_token) == (0, "", "")

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
def test_a_revoked_session_clears_the_staff_console_detail() -> None:
    _, order_id = _seller_with_a_sale()
    secret = pyotp.random_base32()
    with db.session_scope() as s:
        staff = factories.user(s, "Staff", staff=True)
        accounts.enable_totp(session=s, user_id=staff, secret=secret)

    async def scenario() -> None:
        tab = Tab()
        console = await open_console(tab, staff, secret, order_id)
        assert console.selected_id == order_id and "@" in console.d_buyer_email
        token = (await tab.state(SessionState)).auth_token

        with db.session_scope() as s:  # the session ends elsewhere (expiry, revocation)
            accounts.log_out(session=s, token=token)
        await tab.send(VerificationState, "on_load")

        assert await _left_over(tab) == {}
        assert console.d_buyer_email == console.d_seller_email == console.d_buyer_total == ""

    asyncio.run(scenario())


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize("page_load", ["load_session", "require_login"])
def test_an_expired_session_clears_the_tab_at_the_next_page_load(page_load: str) -> None:
    seller, _ = _seller_with_a_sale()

    async def scenario() -> None:
        tab = Tab()
        await _log_in(tab, seller)
        for page in (AccountState, OrdersState, SellerState):
            await tab.send(page, "on_load")
        assert (await tab.state(AccountState)).payout_ref == IBAN

        with db.session_scope() as s:  # the session's time runs out
            for row in s.exec(select(UserSession).where(UserSession.user_id == seller)).all():
                row.expires_at = utcnow() - timedelta(seconds=1)
                s.add(row)
        await tab.send(SessionState, page_load)

        assert await _left_over(tab) == {}
        assert (await tab.state(SessionState)).user_id == 0

    asyncio.run(scenario())


# --- guard vars --------------------------------------------------------------------------

# Vars the handlers decide with: who is calling, which order or listing an action applies to,
# and the flags that stop a double submit.
GUARDS: dict[type[BaseState], tuple[str, ...]] = {
    SessionState: ("user_id", "user_is_staff", "user_email", "session_checked"),
    VerificationState: ("access", "selected_id", "paying_id", "busy"),
    SellerState: ("ship_order_id", "appeal_order_id", "accept_order_id", "edit_listing_id", "busy"),
    PortfolioState: ("edit_listing_id", "busy"),
    ProductState: ("_product_id",),
    TradeState: ("submitting", "dialog_kind", "_client_key"),
    AccountState: ("editing_address_id", "card_busy"),
    OrderDetailState: ("order_id", "role"),
    OrderShippingState: ("shown", "label_href"),
}


@pytest.mark.parametrize(
    ("cls", "var"), [(cls, var) for cls, names in GUARDS.items() for var in names]
)
def test_no_client_event_sets_a_guard_var(cls: type[BaseState], var: str) -> None:
    async def scenario() -> None:
        tab = Tab()
        target = await tab.state(cls)
        before = getattr(target, var)
        forged: Any = not before if isinstance(before, bool) else 99
        if isinstance(before, str):
            forged = "granted" if var == "access" else "1"
        # A generated setter would be an event of its own: there is none.
        with pytest.raises(NoSuchEvent):
            await tab.send(cls, f"set_{var}", value=forged)
        # The generic `setvar` event exists on every state; it finds no setter for the var.
        with pytest.raises(AttributeError):
            await tab.send(cls, "setvar", var_name=var, value=forged)
        assert getattr(target, var) == before

    asyncio.run(scenario())


def test_the_app_refuses_to_start_with_generated_setters() -> None:
    """REFLEX_STATE_AUTO_SETTERS=true would give the browser a setter for every var, guards
    included: loading the app's states then fails with a message saying so."""
    env = {**os.environ, "REFLEX_STATE_AUTO_SETTERS": "true", "ENVIRONMENT": "test"}
    probe = "import state.base, state.staff; print('loaded')"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0, done.stdout
    assert "state_auto_setters" in done.stderr
