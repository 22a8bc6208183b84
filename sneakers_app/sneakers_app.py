"""The Reflex app: the only place pages and routes are registered."""

from __future__ import annotations

import reflex as rx

from sneakers_app import gc_tuning, health, logs, outbox_relay, routes, warm_up
from sneakers_app.api import api_app
from sneakers_app.pages.account import ACCOUNT_ON_LOAD, account_page
from sneakers_app.pages.auth import (
    confirm_signup_page,
    forgot_password_page,
    login_page,
    reset_password_page,
    signup_page,
)
from sneakers_app.pages.browse import browse_page
from sneakers_app.pages.not_found import not_found_page
from sneakers_app.pages.notifications import NOTIFICATIONS_ON_LOAD, notifications_page
from sneakers_app.pages.orders import ORDER_ON_LOAD, ORDERS_ON_LOAD, order_page, orders_page
from sneakers_app.pages.portfolio import PORTFOLIO_ON_LOAD, portfolio_page
from sneakers_app.pages.product import product_page
from sneakers_app.pages.sell import SELL_ON_LOAD, sell_page
from sneakers_app.pages.verification import verification_page
from state import product_chart, worker_sessions
from state.auth import AuthFormState
from state.base import SessionState
from state.catalog import BrowseState
from state.hydrate import MarketOnHydrate
from state.log_context import LogContext
from state.notifications import NotificationState
from state.product import ProductState
from state.product_trade import TradeState
from state.security import RecoveryState
from state.staff import VerificationState

logs.configure()

app = rx.App(
    api_transformer=api_app,
    stylesheets=["/styles.css"],
    head_components=[rx.el.link(rel="icon", href="/logo.svg", type="image/svg+xml")],
    # One toast at a time: a stack of confirmations grew up the page when hovered (and hovering
    # pauses them), covering the controls in the bottom-right corner.
    toaster=rx.toast.provider(position="bottom-right", visible_toasts=1),
)

TITLE = "Sneakers Marketplace"
member_load = [SessionState.require_login]
# A tab that reconnects (to another web worker, after its own went away) runs its page's
# on_load again but mounts nothing: the live pages start the notification watcher there too
# (its guard keeps one copy per tab).
RESUME_LIVE = [NotificationState.watch]

app.add_page(
    browse_page,
    route=routes.BROWSE,
    title=TITLE,
    on_load=[SessionState.load_session, BrowseState.on_load, *RESUME_LIVE],
)
app.add_page(
    product_page,
    route=routes.PRODUCT,
    title=f"{TITLE} | Product",
    on_load=[
        SessionState.load_session,
        ProductState.on_load,
        TradeState.open_from_link,
        *RESUME_LIVE,
    ],
)
app.add_page(
    login_page, route=routes.LOGIN, title=f"Log in | {TITLE}", on_load=AuthFormState.reset_form
)
app.add_page(
    signup_page, route=routes.SIGNUP, title=f"Sign up | {TITLE}", on_load=AuthFormState.reset_form
)
app.add_page(
    portfolio_page,
    route=routes.PORTFOLIO,
    title=f"Portfolio | {TITLE}",
    on_load=PORTFOLIO_ON_LOAD,
)
app.add_page(sell_page, route=routes.SELL, title=f"Sell | {TITLE}", on_load=SELL_ON_LOAD)
app.add_page(orders_page, route=routes.ORDERS, title=f"Orders | {TITLE}", on_load=ORDERS_ON_LOAD)
app.add_page(order_page, route=routes.ORDER, title=f"Order | {TITLE}", on_load=ORDER_ON_LOAD)
app.add_page(
    notifications_page,
    route=routes.NOTIFICATIONS,
    title=f"Notifications | {TITLE}",
    on_load=NOTIFICATIONS_ON_LOAD,
)
app.add_page(
    account_page, route=routes.ACCOUNT, title=f"Account | {TITLE}", on_load=ACCOUNT_ON_LOAD
)
app.add_page(
    confirm_signup_page,
    route=routes.CONFIRM_SIGNUP,
    title=f"Sign up | {TITLE}",
    on_load=RecoveryState.confirm_sign_up,
)
app.add_page(
    forgot_password_page,
    route=routes.FORGOT_PASSWORD,
    title=f"Forgot your password | {TITLE}",
    on_load=RecoveryState.open_forgot,
)
app.add_page(
    reset_password_page,
    route=routes.RESET_PASSWORD,
    title=f"New password | {TITLE}",
    on_load=RecoveryState.open_reset,
)
app.add_page(
    verification_page,
    route=routes.VERIFICATION,
    title=f"Verification | {TITLE}",
    on_load=VerificationState.on_load,
)
app.add_page(
    not_found_page, route="404", title=f"Not found | {TITLE}", on_load=SessionState.load_session
)
product_chart.warm_up()
app.register_lifespan_task(warm_up.ready_before_serving)
app.register_lifespan_task(gc_tuning.tune_after_startup)
app.register_lifespan_task(outbox_relay.sweep_forever)
app.register_lifespan_task(health.watch_worker)
app.add_middleware(LogContext())
app.add_middleware(MarketOnHydrate())
app.register_lifespan_task(worker_sessions.keep_alive)
