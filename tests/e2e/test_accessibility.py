"""Every page checked by axe-core (axe-playwright-python) at desktop and phone width, as a
visitor, a buyer, a seller and staff past the second factor: the run fails on any serious or
critical violation (WCAG 2.2 A and AA rules and axe's best practices), and on a page that has
not exactly one `h1`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, ViewportSize, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app.models import Order, Product, ProductVariant, User
from sneakers_app.services import saga
from tests.e2e.conftest import (
    DEMO_BUYER,
    DESKTOP,
    E2E_STAFF,
    PASSWORD,
    PHONE,
    LiveApp,
    Trade,
    button,
    combobox,
    emailed_link,
    log_in,
    message,
    order_panel,
    pass_second_factor,
    queue_row,
    queue_tab,
    shoot,
    size_tile,
    wait_hydrated,
)
from trading import market_data

AXE = Axe()
FAILING_IMPACTS = ("serious", "critical")
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}

# (name, path, what shows once the page has its data); a path may hold {slug} and {order}.
PUBLIC_PAGES = (
    ("browse", "/", "#product-grid"),
    ("product", "/product/{slug}", "#product-name"),
    ("product-missing", "/product/no-such-sneaker", "#not-found"),
    ("login", "/login", "#login-submit"),
    ("signup", "/signup", "#signup-submit"),
    ("forgot-password", "/forgot-password", "form"),
    ("reset-password", "/reset-password", "#link-error"),
    ("not-found", "/no-such-page", "h1"),
)
BUYER_PAGES = (
    ("product", "/product/{slug}", "#product-name"),
    ("portfolio", "/portfolio", "#total-value"),
    ("orders", "/orders", "#order-row-{order}"),
    ("order", "/orders/{order}", "#order-headline"),
    ("notifications", "/notifications", "h1"),
    ("account", "/account", "#payouts"),
)
SELLER_PAGES = (
    ("sell", "/sell", "#sale-{order}"),
    ("order", "/orders/{order}", "#order-headline"),
)


def _serious(page: Page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line per element."""
    results: dict[str, Any] = AXE.run(page).response
    found = []
    for violation in results["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            for node in violation["nodes"]:
                found.append(
                    f"{violation['impact']} {violation['id']} ({violation['help']}): "
                    f"{node['target']} {node['failureSummary']!r}"
                )
    return found


class Audit:
    """Visits pages and keeps every problem found, so one run reports them all."""

    def __init__(self, page: Page, app: LiveApp, width: str, fill: dict[str, object]) -> None:
        self.page, self.app, self.width, self.fill = page, app, width, fill
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        """axe and the heading outline on the page as it is now."""
        where = f"{name} ({self.width}, {self.page.url})"
        # as a reader sees it at rest: not under the pointer that opened it (a button under it
        # shows its hover colour) nor halfway through a dialog's opening animation
        self.page.mouse.move(0, 0)
        self.page.evaluate(
            """() => Promise.all(document.getAnimations()
                .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
                .map(a => a.finished.catch(() => null)))"""
        )
        headings = self.page.locator("h1").count()
        if headings != 1:
            self.problems.append(f"{where}: {headings} h1 elements, not one")
        self.problems += [f"{where}: {line}" for line in _serious(self.page)]
        shoot(self.page, f"a11y-{name}-{self.width}")

    def visit(self, prefix: str, pages: tuple[tuple[str, str, str], ...]) -> None:
        for name, path, ready in pages:
            self.page.goto(self.app.url + path.format(**self.fill))
            wait_hydrated(self.page)
            expect(self.page.locator(ready.format(**self.fill)).first).to_be_visible()
            self.check(f"{prefix}-{name}")

    def done(self) -> None:
        assert not self.problems, "accessibility problems:\n" + "\n".join(self.problems)


@pytest.fixture(scope="module")
def slug(live_db: Engine) -> str:
    with Session(live_db) as session:
        first = session.exec(select(Product.slug).order_by(col(Product.id))).first()
    assert first is not None
    return first


def _audit(page: Page, app: LiveApp, width: str, slug: str, trade: Trade | None) -> Audit:
    viewport: ViewportSize = WIDTHS[width]
    page.set_viewport_size(viewport)
    fill: dict[str, object] = {"slug": slug, "order": trade.order_id if trade else 0}
    return Audit(page, app, width, fill)


@pytest.mark.console_errors_expected(r"404 \(Not Found\).*no-such-page")
@pytest.mark.parametrize("width", list(WIDTHS))
def test_public_pages(page: Page, live_app: LiveApp, slug: str, width: str) -> None:
    audit = _audit(page, live_app, width, slug, None)
    audit.visit("public", PUBLIC_PAGES)
    audit.done()


def _open_dialog(page: Page, opener: str, dialog: Callable[[Page], Any]) -> None:
    button(page, opener).click()
    expect(dialog(page)).to_be_visible()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_buyer_pages(page: Page, live_app: LiveApp, slug: str, trade: Trade, width: str) -> None:
    audit = _audit(page, live_app, width, slug, trade)
    log_in(page, live_app, DEMO_BUYER.email, DEMO_BUYER.password)
    audit.visit("buyer", BUYER_PAGES)
    # The trade dialog, open over the product page.
    page.goto(f"{live_app.url}/product/{slug}")
    wait_hydrated(page)
    _open_dialog(page, "Buy now", lambda p: p.get_by_role("dialog"))
    expect(combobox(page, "Pay with")).to_be_visible()
    audit.check("buyer-trade-dialog")
    audit.done()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_seller_pages(page: Page, live_app: LiveApp, slug: str, trade: Trade, width: str) -> None:
    audit = _audit(page, live_app, width, slug, trade)
    log_in(page, live_app, trade.seller_email, PASSWORD)
    audit.visit("seller", SELLER_PAGES)
    audit.done()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_staff_console(
    page: Page, live_app: LiveApp, live_db: Engine, slug: str, trade: Trade, width: str
) -> None:
    """The console, each queue, and the traded pair opened from its queue with the keyboard."""
    _shipped(live_db, trade)
    audit = _audit(page, live_app, width, slug, trade)
    log_in(page, live_app, *E2E_STAFF, next_path="/verification")
    pass_second_factor(page)
    wait_hydrated(page)
    audit.check("staff-console")
    for queue in ("To inspect", "To ship", "Payouts", "To receive"):
        press(page, queue_tab(page, queue))
        expect(queue_tab(page, queue)).to_have_attribute("aria-pressed", "true")
        audit.check(f"staff-{queue.lower().replace(' ', '-')}")
    row = queue_row(page, trade.order_id)
    press(page, row)
    expect(row).to_have_attribute("aria-pressed", "true")
    expect(order_panel(page, trade.order_id).get_by_role("heading").first).to_be_visible()
    audit.check("staff-order")
    audit.done()


def _shipped(db: Engine, trade: Trade) -> None:
    """The seller ships the traded pair (once), so it waits in the console's "To receive"."""
    with Session(db) as session:
        order = session.get(Order, trade.order_id)
        assert order is not None
        if order.status == "awaiting_shipment":
            seller = session.exec(select(User).where(User.email == trade.seller_email)).one()
            saga.mark_shipped(
                session=session,
                order_id=trade.order_id,
                seller_id=seller.id or 0,
                tracking="1Z999AA10123456784",
            )
            session.commit()


# --- the keyboard alone ------------------------------------------------------------------------

TAB_LIMIT = 120


def _focused(target: Locator) -> bool:
    return bool(target.evaluate("el => el === document.activeElement"))


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, as a keyboard user reaches it;
    fail if it is not reached within TAB_LIMIT presses."""
    expect(target).to_be_visible()
    for _ in range(TAB_LIMIT):
        if _focused(target):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{target} is not reached with the keyboard")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def press(page: Page, target: Locator, key: str = "Enter") -> None:
    tab_to(page, target)
    page.keyboard.press(key)


def test_sign_up_add_a_card_and_an_address_and_buy_with_the_keyboard_alone(
    page: Page, live_app: LiveApp, live_db: Engine, live_redis: redis.Redis
) -> None:
    """Every step by Tab, typing, Enter, Space and Escape (the emailed link is opened as a
    link): sign up, choose a size, Buy Now, add a card and an address inside the dialog, buy;
    the focus goes into each dialog as it opens and back to its opener as it closes."""
    page.set_viewport_size(DESKTOP)
    email = f"keys-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{live_app.url}/signup")
    wait_hydrated(page)
    type_into(page, page.get_by_label("Email"), email)
    type_into(page, page.get_by_label("Display name"), "Keyboard Kim")
    type_into(page, page.get_by_label("Password"), "keys only, never a mouse")
    page.keyboard.press("Enter")
    expect(page.get_by_text(email)).to_be_visible()
    page.goto(emailed_link(live_app, email, "/signup/confirm"))
    expect(page.get_by_role("button", name=re.compile("Keyboard Kim"))).to_be_visible()

    slug, size = _market_with_an_ask(live_db, live_redis)
    page.goto(f"{live_app.url}/product/{slug}")
    wait_hydrated(page)
    tile = size_tile(page, f"US M {size}")
    press(page, tile, "Space")
    expect(tile).to_have_attribute("aria-pressed", "true")
    buy = page.get_by_role("button", name="Buy now", exact=True)
    press(page, buy)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => d.contains(document.activeElement)"), "focus stays outside"
    shoot(page, "keyboard-dialog-desktop")

    press(page, page.get_by_role("button", name="Add a card"))
    card = page.locator("#card-element")  # where stripe.js mounts its form
    for name, value in (
        ("number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        type_into(page, card.get_by_placeholder(name, exact=True), value)
    press(page, page.get_by_role("button", name="Save card"))
    expect(combobox(page, "Pay with")).to_contain_text("ending in 4242")

    press(page, page.get_by_role("button", name="Add an address"))
    form = page.get_by_role("dialog", name=re.compile("address", re.IGNORECASE))
    expect(form.get_by_label("Full name")).to_be_visible()
    for label, value in (
        ("Full name", "Kim Keys"),
        ("Street address", "7 Tab Street"),
        ("City", "Boston"),
        ("State / region", "MA"),
        ("ZIP / postal code", "02110"),
    ):
        type_into(page, form.get_by_label(label), value)
    country = form.get_by_label("Country")
    tab_to(page, country)
    # Typing a name picks the first country it starts ("United States" before its islands).
    page.keyboard.type("United States")
    for _ in range(3):
        if country.input_value() == "US":
            break
        page.keyboard.press("ArrowUp")
    expect(country).to_have_value("US")
    press(page, form.get_by_role("button", name="Save address"))
    expect(form).to_be_hidden()
    expect(combobox(page, "Ship to")).to_contain_text("7 Tab Street")
    shoot(page, "keyboard-ready-to-buy-desktop")

    press(page, page.get_by_role("button", name="Confirm purchase"))
    expect(message(page, "Matched!")).to_be_visible()
    expect(dialog).to_be_hidden()
    # The dialog hands the focus back to the button that opened it.
    expect(buy).to_be_focused()


def _market_with_an_ask(db: Engine, client: redis.Redis) -> tuple[str, str]:
    """A product and a US size whose book has an ask (a Buy Now fills)."""
    with Session(db) as session:
        rows = session.exec(
            select(Product.slug, ProductVariant.id, ProductVariant.size)
            .join(ProductVariant, col(ProductVariant.product_id) == col(Product.id))
            .where(col(ProductVariant.size).in_(["8", "8.5", "11.5", "12"]))
            .order_by(col(Product.id).desc())
        ).all()
    for slug, variant_id, size in rows:
        if market_data.top_of_book(client, str(variant_id)).ask_cents:
            return slug, size
    raise AssertionError("no seeded book with an ask")
