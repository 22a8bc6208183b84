"""End-to-end fixtures: the real app (Reflex production build) on a free port, over a migrated
and seeded SQLite database, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pyotp
import pytest
import redis
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    ViewportSize,
    expect,
)
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app.db import make_engine
from sneakers_app.models import Order, Product, ProductVariant, User
from sneakers_app.seed import DEMO_ACCOUNTS
from sneakers_app.services import accounts, market, payments
from sneakers_app.settings import PROJECT_ROOT
from tests.support.stack import Stack, app_stack, production_stack
from trading import market_data
from trading.engine import RedisEngine

OUTPUT_DIR = PROJECT_ROOT / "test-output" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

E2E_STAFF = ("staff-e2e@example.com", "staff password 123")
# The staff second factor of every staff account these tests make (as an authenticator app has it).
E2E_STAFF_TOTP = "E2ESTAFFSECONDFACTORTESTS2345672"
E2E_MEMBER = ("member-e2e@example.com", "member password 123")
# Every browser here is 127.0.0.1 and the flows log in and trade quickly; the limits themselves
# are tested in test_backend_faults_limits.py.
E2E_RATE_LIMITS = {
    f"RATE_LIMIT_{name}": "1000/minute"
    for name in ("LOGIN_IP", "SIGNUP_IP", "ORDERS_USER", "ORDERS_IP")
}


LiveApp = Stack
"""The running app the browser tests drive (tests/support/stack.py)."""


# Speed figures a browser test measured (not pass marks), printed after the run.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("browser figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    # The production shape and dev.sh build the pages again in the project's .web, for their
    # own ports: the session's app serves that build, so every browser test of it runs first.
    last = [
        item
        for item in items
        if item.fspath.basename == "test_production_shape.py"
        or item.get_closest_marker("builds_pages")
    ]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _e2e_accounts(stack: Stack) -> None:
    """The staff member (with a second factor) and the member the browser tests log in as."""
    engine = make_engine(stack.database_url)
    with Session(engine) as session:
        for (email, password), staff in ((E2E_STAFF, True), (E2E_MEMBER, False)):
            made = accounts.sign_up(
                session=session,
                email=email,
                display_name="Staff" if staff else "Member",
                password=password,
                is_staff=staff,
            )
            if staff:
                accounts.enable_totp(session=session, user_id=made.id, secret=E2E_STAFF_TOTP)
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The whole marketplace as the run command starts it, on throwaway parts: SQLite, a real
    redis-server, localstripe, an SMTP server, the journal consumer, a Celery worker, Reflex."""
    with app_stack(
        tmp_path_factory.mktemp("e2e"),
        reflex="prod",
        reflex_loglevel="info",
        setup=_e2e_accounts,
        **E2E_RATE_LIMITS,
    ) as stack:
        yield stack


_BROWSER_FIXTURES = ("page", "context", "new_context", "browser")


@pytest.fixture(autouse=True)
def _console_listener(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Every browser test listens to the console of every page it opens (the `page` fixture's
    and any `browser.new_context()` of its own) and fails at teardown on a console error or an
    uncaught page error. A test that provokes an error on purpose names it with
    `@pytest.mark.console_errors_expected("regex", ...)`; nothing else is let through."""
    errors: list[str] = []
    if not any(name in request.fixturenames for name in _BROWSER_FIXTURES):
        yield errors
        return
    browser: Browser = request.getfixturevalue("browser")
    opened = browser.new_context

    def new_context(*args: Any, **kwargs: Any) -> BrowserContext:
        context = opened(*args, **kwargs)
        context.on("console", lambda m: _console_error(errors, m))
        context.on("weberror", lambda e: errors.append(f"page error: {e.error}"))
        return context

    monkeypatch.setattr(browser, "new_context", new_context)
    yield errors
    expected = [
        re.compile(pattern)
        for marker in request.node.iter_markers("console_errors_expected")
        for pattern in marker.args
    ]
    unexpected = [e for e in errors if not any(p.search(e) for p in expected)]
    if unexpected:
        pytest.fail("errors in the browser console:\n" + "\n".join(unexpected), pytrace=False)


def _console_error(errors: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        where = message.location
        errors.append(f"{message.text} ({where.get('url', '')}:{where.get('lineNumber', '')})")


@pytest.fixture
def console_errors(_console_listener: list[str]) -> list[str]:
    """The browser console errors of this test so far (every test fails on them at teardown;
    a test may also assert the list empty at a point of its own)."""
    return _console_listener


def shoot(page: Page, name: str) -> None:
    """Save a screenshot at the current size under test-output/screenshots/."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / f"{name}.png"), full_page=True)


def wait_hydrated(page: Page) -> None:
    """Reflex pages are interactive once the websocket is connected and on_load has run."""
    page.wait_for_load_state("networkidle")


_used_steps: dict[str, int] = {}


def pass_second_factor(page: Page, secret: str = E2E_STAFF_TOTP) -> None:
    """Type the code an authenticator app shows into the console's second-factor form. A code
    works once per account, so a second log-in within the same 30 s types the next step's code
    (accepted for clock drift), or waits for it."""
    totp = pyotp.TOTP(secret)
    while True:
        now_step = totp.timecode(time.time())
        step = max(now_step, _used_steps.get(secret, -1) + 1)
        if step <= now_step + 1:
            break
        time.sleep(1)
    _used_steps[secret] = step
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("6-digit code").fill(totp.generate_otp(step))
    page.get_by_role("button", name="Open the console").click()
    expect(page.get_by_role("heading", name="Verification console")).to_be_visible()


# --- the verification console ---------------------------------------------------------------


def queue_tab(page: Page, queue: str) -> Locator:
    """A queue's tab of the console ("To receive 3": its name, then its count)."""
    return page.get_by_role("button", name=re.compile(rf"^{queue}\b"))


def queue_row(page: Page, order_id: int) -> Locator:
    """An order's row in the queue ("#123 ... product, size, price")."""
    return page.get_by_role("button", name=re.compile(rf"^#{order_id}(?!\d)"))


def order_panel(page: Page, order_id: int) -> Locator:
    return page.get_by_role("region", name=f"Order #{order_id}")


def open_order(page: Page, queue: str, order_id: int) -> Locator:
    queue_tab(page, queue).click()
    queue_row(page, order_id).click()
    panel = order_panel(page, order_id)
    expect(panel).to_be_visible()
    return panel


CHECKS = ("Box condition", "Stitching", "Materials", "Tags", "Size matches")
"""The inspection checklist's boxes, by the start of their labels."""


def check(page: Page, name: str) -> Locator:
    return page.get_by_role("checkbox", name=re.compile(rf"^{name}\b"))


def tick_all_checks(page: Page) -> None:
    for name in CHECKS:
        check(page, name).click()


def emailed_link(app: LiveApp, to: str, route: str, timeout: float = 30.0) -> str:
    """The link to `route` in the newest email the app sent to `to` (read from the real SMTP
    server the stack sends through)."""
    pattern = re.compile(re.escape(app.url + route) + r"(\?token=[A-Za-z0-9_-]+)?")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in reversed(app.smtp.messages):
            if to in received.rcpt_tos:
                body = received.message.get_body(("plain",))
                found = pattern.search(body.get_content() if body else "")
                if found:
                    return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no email with a {route} link reached {to} within {timeout}s")


@pytest.fixture(scope="session")
def production_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The marketplace in its production shape (tests/support/stack.py `production_stack`):
    PostgreSQL, page sessions in Redis shared by two web workers, the journal consumer, a
    Celery worker and beat, each started by its role's command."""
    with production_stack(
        tmp_path_factory.mktemp("production"), setup=_e2e_accounts, settings=E2E_RATE_LIMITS
    ) as stack:
        yield stack


# --- a real trade, for the pages that show an order ------------------------------------------

# The password of the sellers the `trade` fixture makes.
PASSWORD = "seller password 123"
DEMO_BUYER = next(a for a in DEMO_ACCOUNTS if a.role == "buyer")


@dataclass
class Trade:
    order_id: int
    seller_email: str
    product_name: str
    size: str


@pytest.fixture(scope="module")
def live_db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def live_redis(live_app: LiveApp) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(live_app.redis_url)
    yield client
    client.close()


class Site(Protocol):
    """Where the pages are served: a test stack, or `./scripts/dev.sh` on its own ports."""

    url: str


def submit_login(page: Page, app: Site, email: str, password: str, next_path: str = "") -> None:
    """Fill in and send the log-in form (right or wrong)."""
    page.goto(f"{app.url}/login" + (f"?next={next_path}" if next_path else ""))
    wait_hydrated(page)  # a submit before on_load ran would be reset by it
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("form").get_by_role("button", name="Log in", exact=True).click()


# --- finding what a person finds: by role and name (ids only where nothing visible names it) ---


def button(scope: Page | Locator, name: str) -> Locator:
    """The button named exactly `name` (its text, or its aria-label for an icon)."""
    return scope.get_by_role("button", name=name, exact=True)


def combobox(scope: Page | Locator, label: str) -> Locator:
    """A select (Radix's combobox button) by its label; its text is the chosen option."""
    return scope.get_by_role("combobox", name=label)


def region(scope: Page | Locator, name: str) -> Locator:
    """A titled section of a page (a card whose heading names it)."""
    return scope.get_by_role("region", name=name, exact=True)


def rows(scope: Page | Locator, section: str) -> Locator:
    """The rows of the list in the section titled `section`."""
    return region(scope, section).get_by_role("listitem")


def address_card(page: Page, text: str) -> Locator:
    """A saved address on the account page, by a line of it (its buttons: Make default, Edit,
    Delete)."""
    return page.locator(".address-card").filter(has_text=text)


def type_card(page: Page, number: str) -> None:
    """Open the card form ("Add a card") and type a card into the Stripe Elements form that
    localstripe's stripe.js draws (its fields are named only by their placeholders)."""
    button(page, "Add a card").click()
    card = page.locator("#card-element")  # where stripe.js mounts its form
    expect(card.locator("input").first).to_be_visible()
    expect(button(page, "Save card")).to_be_enabled()
    for field, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        card.get_by_placeholder(field, exact=True).fill(value)


ADDRESS_FIELDS = ("Full name", "Street address", "City", "State / region", "ZIP / postal code")


def fill_address(scope: Page | Locator, *values: str) -> None:
    """Type an address into the address form's fields, one value per ADDRESS_FIELDS label."""
    for label, value in zip(ADDRESS_FIELDS, values, strict=True):
        scope.get_by_label(label).fill(value)


def size_tile(page: Page, label: str) -> Locator:
    """A size's tile on the product page, by the size as it reads ("US M 10", "EU 44", "GS 7Y";
    its name goes on with the size's lowest ask)."""
    sizes = page.get_by_role("group", name="Sizes")
    return sizes.get_by_role("button", name=re.compile(rf"^{re.escape(label)}(?![\d.])"))


def notifications_link(page: Page, unread: int | None = None) -> Locator:
    """The navbar's bell, named with the unread count ("Notifications, 3 unread"; none:
    "Notifications"); `unread` None: whatever the count."""
    if unread is None:
        name: str | re.Pattern[str] = re.compile(r"^Notifications(, \d+ unread)?$")
    else:
        name = f"Notifications, {unread} unread" if unread else "Notifications"
    return page.get_by_role("banner").get_by_role("link", name=name, exact=True)


def order_link(page: Page, order_id: int) -> Locator:
    """An order's row in a list of orders: a link, its text ending "Order #<id>"."""
    return page.get_by_role("link", name=re.compile(rf"Order #{order_id}(?!\d)"))


def message(page: Page, text: str | re.Pattern[str]) -> Locator:
    """A message the page shows after an action (its toast may say the same: the first)."""
    return page.get_by_text(text).first


def user_menu(page: Page) -> Locator:
    """The navbar's account menu button (named "<display name>: your account")."""
    return page.get_by_role("button", name=re.compile(r": your account$"))


def log_in(page: Page, app: Site, email: str, password: str, next_path: str = "") -> None:
    """Log in, and wait until the page shows it."""
    submit_login(page, app, email, password, next_path)
    expect(user_menu(page)).to_be_visible()


def log_out(page: Page) -> None:
    """Log out from the navbar's account menu, and wait until the page shows it."""
    user_menu(page).click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(nav_log_in(page)).to_be_visible()


def nav_log_in(page: Page) -> Locator:
    """The navbar's "Log in" link (a visitor's)."""
    return page.get_by_role("banner").get_by_role("link", name="Log in")


def wait_for_order(engine: Engine, ask_id: int, status: str, timeout: float = 60.0) -> Order:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        with Session(engine) as session:
            last = session.exec(select(Order).where(Order.ask_id == ask_id)).first()
        if last is not None and last.status == status:
            return last
        time.sleep(0.5)
    raise AssertionError(f"order for ask {ask_id} did not reach {status}: {last}")


@pytest.fixture(scope="module")
def trade(live_app: LiveApp, live_db: Engine, live_redis: redis.Redis) -> Trade:
    """A new seller's ask taken by the demo buyer: an order waiting for the seller to ship."""
    engine = RedisEngine(live_redis)
    email = f"seller-{uuid.uuid4().hex[:8]}@example.com"
    with Session(live_db, expire_on_commit=False) as session:
        seller = accounts.sign_up(
            session=session, email=email, display_name="Kicks Seller", password=PASSWORD
        )
        payments.save_payout_account(
            session=session,
            user_id=seller.id,
            kind="manual",
            account_ref="IBAN GB33BUKB20201555555555",
            holder_name="Kicks Seller",
        )
        session.commit()
        buyer = session.exec(select(User).where(User.email == DEMO_BUYER.email)).one()
        assert buyer.default_payment_method_id, "the seed saves a localstripe card for the buyer"
        product, variant = session.exec(
            select(Product, ProductVariant)
            .join(ProductVariant, col(ProductVariant.product_id) == col(Product.id))
            .where(ProductVariant.size == "10")
            .order_by(col(Product.id))
        ).first() or (None, None)
        assert product is not None and variant is not None and variant.id is not None
        top = market_data.top_of_book(live_redis, str(variant.id))
        price = (top.bid_cents or 10_000) + 500
        if top.ask_cents is not None:
            assert price < top.ask_cents, "the seeded book leaves room inside the spread"
        ask = market.place(
            session=session,
            engine=engine,
            user_id=seller.id,
            side="ask",
            variant_id=variant.id,
            price_cents=price,
            client_key=uuid.uuid4().hex,
        )
        assert ask.status == "open", ask
        bought = market.place(
            session=session,
            engine=engine,
            user_id=buyer.id or 0,
            side="bid",
            variant_id=variant.id,
            price_cents=price,
            client_key=uuid.uuid4().hex,
            immediate=True,
        )
        assert bought.status == "filled", bought
        # A second, resting ask so the dashboard also lists an active one.
        market.place(
            session=session,
            engine=engine,
            user_id=seller.id,
            side="ask",
            variant_id=variant.id,
            price_cents=price + 20_000,
            client_key=uuid.uuid4().hex,
        )
        name = product.name
    order = wait_for_order(live_db, ask.row_id, "awaiting_shipment")
    assert order.id is not None and order.ship_by is not None
    return Trade(order_id=order.id, seller_email=email, product_name=name, size="10")
