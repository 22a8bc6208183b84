"""Seller dashboard, orders and portfolio in a real browser against the whole marketplace.

A real trade is made through the services on the live app's database and Redis engine; the
running journal consumer turns it into an order and the Celery worker charges the buyer's saved
localstripe card, so the seller's dashboard shows a sale waiting to ship.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import redis
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app.models import Ask, Order, Product, User
from sneakers_app.money import format_usd
from sneakers_app.services import accounts, market, sizes
from tests.e2e.conftest import (
    DEMO_BUYER,
    DESKTOP,
    E2E_MEMBER,
    E2E_STAFF,
    PASSWORD,
    PHONE,
    LiveApp,
    Trade,
    button,
    log_in,
    log_out,
    message,
    order_link,
    region,
    rows,
    shoot,
    wait_hydrated,
)
from trading import market_data
from trading.engine import RedisEngine

TRACKING = "1Z999AA10123456784"


def _status(engine: Engine, order_id: int) -> tuple[str, str | None]:
    with Session(engine) as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order.status, order.inbound_tracking


def _ask_status(engine: Engine, ask_id: int) -> str:
    with Session(engine) as session:
        ask = session.get(Ask, ask_id)
        assert ask is not None
        return ask.status


def _open_ask_id(engine: Engine, seller_email: str) -> int:
    """The seller's one open ask."""
    with Session(engine) as session:
        seller = session.exec(select(User).where(User.email == seller_email)).one()
        ask = session.exec(select(Ask).where(Ask.user_id == seller.id, Ask.status == "open")).one()
        assert ask.id is not None
        return ask.id


def test_pages_need_a_login(page: Page, live_app: LiveApp) -> None:
    for path in ("/sell", "/orders", "/portfolio", "/orders/1"):
        page.goto(f"{live_app.url}{path}")
        expect(page).to_have_url(re.compile(rf"/login\?next={re.escape(path)}/?$"))


def test_seller_ships_a_pending_sale(
    page: Page, live_app: LiveApp, live_db: Engine, trade: Trade, console_errors: list[str]
) -> None:
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, trade.seller_email, PASSWORD, next_path="/sell")
    expect(page).to_have_url(f"{live_app.url}/sell")
    sale = rows(page, "Pending sales").filter(has_text=trade.product_name)
    expect(sale).to_contain_text(trade.product_name)
    expect(sale).to_contain_text("Waiting for the seller to ship")
    expect(sale.get_by_text(re.compile(r"^\d+d \d+h left$"))).to_be_visible()
    expect(rows(page, "Active asks")).to_have_count(1)
    expect(region(page, "Seller level")).to_contain_text("Level 1")
    expect(region(page, "Seller level")).to_contain_text("9%")
    page.wait_for_load_state("networkidle")
    shoot(page, "sell-pending-desktop")

    button(sale, "Mark shipped").click()
    ship = page.get_by_role("dialog", name="Mark as shipped")
    expect(ship).to_be_visible()
    ship.get_by_label("Tracking number").fill("abc-12")
    button(ship, "Confirm shipment").click()
    expect(ship.get_by_label("Tracking number")).to_have_accessible_description(
        re.compile("tracking number")
    )
    shoot(page, "sell-ship-error-desktop")
    assert _status(live_db, trade.order_id) == ("awaiting_shipment", None)

    ship.get_by_label("Tracking number").fill(TRACKING)
    button(ship, "Confirm shipment").click()
    expect(ship).to_have_count(0)
    expect(sale).to_contain_text("On its way to authentication")
    expect(sale).to_contain_text(TRACKING)
    expect(button(sale, "Mark shipped")).to_have_count(0)
    assert _status(live_db, trade.order_id) == ("shipped_to_verification", TRACKING)

    # The seller's other ask: a new price (refused when it is not one), then cancelled.
    ask = rows(page, "Active asks")
    ask_id = _open_ask_id(live_db, trade.seller_email)
    button(ask, "Edit").click()
    page.get_by_label("New price (USD)").fill("-5")
    button(page, "Save price").click()
    expect(page.get_by_label("New price (USD)")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("New price (USD)").fill("4321")
    button(page, "Save price").click()
    expect(page.get_by_role("dialog", name="Change your ask")).to_have_count(0)
    expect(ask).to_contain_text("$4,321")
    # Cancelling asks first; keeping it changes nothing.
    button(ask, "Cancel").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Cancel your ask?")
    expect(page.get_by_role("alertdialog")).to_contain_text("$4,321")
    shoot(page, "sell-cancel-confirm-desktop")
    button(page.get_by_role("alertdialog"), "Keep ask").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(ask).to_have_count(1)
    assert _ask_status(live_db, ask_id) == "open"
    button(ask, "Cancel").click()
    button(page.get_by_role("alertdialog"), "Cancel ask").click()
    expect(ask).to_have_count(0)
    assert _ask_status(live_db, ask_id) == "cancelled"

    page.set_viewport_size(PHONE)
    page.reload()
    expect(sale).to_be_visible()
    page.wait_for_load_state("networkidle")
    shoot(page, "sell-phone")
    assert console_errors == []


def test_new_ask_finds_the_sneaker_opens_its_ask_form_and_cancel_asks_first(
    page: Page, live_app: LiveApp, live_db: Engine, trade: Trade
) -> None:
    """ "New ask" searches the catalog and opens the product's ask form; the ask placed there is
    cancelled on the product page only after its confirmation."""
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, trade.seller_email, PASSWORD, next_path="/sell")
    wait_hydrated(page)
    button(page, "New ask").click()
    new_ask = page.get_by_role("dialog", name="New ask")
    expect(new_ask.get_by_text("Start typing")).to_be_visible()
    new_ask.get_by_label("Search sneakers").fill("qqzzxx")
    expect(new_ask.get_by_text("No sneaker matches")).to_be_visible()
    new_ask.get_by_label("Search sneakers").fill(trade.product_name)
    # The grade-school pair of the same name is a hit too: pick the sneaker itself.
    hit = new_ask.get_by_role("link").filter(has_text=trade.product_name).first
    expect(hit).to_contain_text(trade.product_name)
    expect(hit).to_contain_text("Lowest ask")
    shoot(page, "sell-new-ask-search-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "sell-new-ask-search-phone")
    page.set_viewport_size(DESKTOP)
    expect(hit).to_have_attribute("href", re.compile(r"^/product/[a-z0-9-]+\?trade=ask$"))
    hit.click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Place an ask")
    # The link opens the form once: its parameter leaves the address as the form opens (the
    # test looked for it in the address, and lost the race when the page was quick).
    expect(page).to_have_url(re.compile(r"/product/[a-z0-9-]+$"))
    dialog.get_by_role("combobox", name="Size").click()
    page.get_by_role("option", name=f"US M {trade.size}", exact=True).click()
    dialog.get_by_label("Your ask (USD)").fill("4999")
    expect(page.locator("#fee-total")).to_be_visible()
    button(dialog, "Place ask").click()
    expect(dialog).to_be_hidden()
    own = region(page, "Your orders here")
    expect(own).to_contain_text("$4,999")
    with Session(live_db) as session:
        seller = session.exec(select(User).where(User.email == trade.seller_email)).one()
        placed = session.exec(
            select(Ask).where(Ask.user_id == seller.id, Ask.price_cents == 499_900)
        ).one()
    assert placed.id is not None and placed.status == "open"
    # this ask's own button: the `trade` fixture's seller has another ask resting on this size
    cancel = own.locator(f"#cancel-a{placed.id}")
    expect(cancel).to_have_accessible_name("Cancel")

    cancel.click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Cancel your ask?")
    expect(confirm).to_contain_text("US M 10 at $4,999")
    shoot(page, "product-cancel-confirm-desktop")
    button(confirm, "Keep ask").click()
    expect(confirm).to_have_count(0)
    expect(own).to_contain_text("$4,999")
    assert _ask_status(live_db, placed.id) == "open"
    cancel.click()
    button(page.get_by_role("alertdialog"), "Cancel ask").click()
    expect(message(page, "Your ask was cancelled")).to_be_visible()
    assert _ask_status(live_db, placed.id) == "cancelled"


def test_order_detail_timeline_and_list(
    page: Page, live_app: LiveApp, live_db: Engine, trade: Trade, console_errors: list[str]
) -> None:
    status, _ = _status(live_db, trade.order_id)
    if status == "awaiting_shipment":  # this test runs alone: ship it through the service
        from sneakers_app.services import saga

        with Session(live_db) as session:
            seller = session.exec(select(User).where(User.email == trade.seller_email)).one()
            saga.mark_shipped(
                session=session,
                order_id=trade.order_id,
                seller_id=seller.id or 0,
                tracking=TRACKING,
            )
            session.commit()
    eu = _reads_eu(live_db, trade)
    try:
        _seller_sees_the_order(page, live_app, trade, eu)
    finally:
        _reads_us(live_db, trade)

    # The buyer sees the same order from their side: what they paid.
    _buyer_opens_the_order(page, live_app, trade)
    expect(region(page, "What you paid")).to_contain_text("Processing fee")
    expect(page.locator("#order-size")).to_contain_text(f"US M {trade.size}")
    assert console_errors == []


def _buyer_opens_the_order(page: Page, live_app: LiveApp, trade: Trade) -> None:
    """Log out, log in as the demo buyer and open the trade's order."""
    page.set_viewport_size(DESKTOP)
    log_out(page)
    log_in(page, live_app, DEMO_BUYER.email, DEMO_BUYER.password)
    page.goto(f"{live_app.url}/orders/{trade.order_id}")


def _set_system(engine: Engine, trade: Trade, system: str) -> str:
    """Make the trade's seller read sizes in `system`; the trade's size in it."""
    with Session(engine) as session:
        seller = session.exec(select(User).where(User.email == trade.seller_email)).one()
        product = session.exec(select(Product).where(Product.name == trade.product_name)).first()
        assert product is not None
        assert sizes.set_size_system(session=session, user_id=seller.id or 0, system=system) == ""
        session.commit()
        return sizes.label(
            brand=product.brand, chart=product.size_chart, size=trade.size, system=system
        )


def _reads_eu(engine: Engine, trade: Trade) -> str:
    return _set_system(engine, trade, "eu")


def _reads_us(engine: Engine, trade: Trade) -> None:
    _set_system(engine, trade, "us_m")


def _seller_sees_the_order(page: Page, live_app: LiveApp, trade: Trade, eu: str) -> None:
    """The seller (who reads EU sizes) on the order list and the order page."""
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, trade.seller_email, PASSWORD, next_path="/orders")
    expect(page.get_by_role("tab", name=re.compile("^Selling"))).to_have_attribute(
        "aria-selected", "true"
    )
    row = order_link(page, trade.order_id)
    expect(row).to_contain_text(trade.product_name)
    expect(row).to_contain_text(f"{eu} \u00b7 Order #{trade.order_id}")
    expect(row.locator(".order-status")).to_have_text("On its way to authentication")
    page.wait_for_load_state("networkidle")
    shoot(page, "orders-selling-desktop")
    page.get_by_role("tab", name=re.compile("^Buying")).click()
    expect(page.get_by_text("No purchases yet")).to_be_visible()

    page.goto(f"{live_app.url}/orders/{trade.order_id}")
    timeline = region(page, "Timeline")
    expect(timeline).to_contain_text("Matched")
    expect(timeline).to_contain_text("Payment received")
    expect(timeline).to_contain_text("Waiting for the seller to ship")
    expect(timeline).to_contain_text("On its way to authentication")
    expect(timeline).to_contain_text(f"Tracking {TRACKING}")
    expect(page.locator(".timeline-step")).to_have_count(4)
    expect(page.locator("#order-status")).to_have_text("On its way to authentication")
    expect(page.locator("#inbound-tracking")).to_have_text(TRACKING)
    money = region(page, "Your payout")
    expect(money).to_contain_text("Transaction fee (level 1, 9%)")
    expect(money).to_contain_text("Your payout")
    expect(page.locator("#order-size")).to_contain_text(f"{eu} \u00b7 Matched")
    page.wait_for_load_state("networkidle")
    shoot(page, "order-detail-seller-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "order-detail-seller-phone")


def test_someone_elses_order_is_not_found(
    page: Page, live_app: LiveApp, trade: Trade, console_errors: list[str]
) -> None:
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, *E2E_MEMBER)
    page.goto(f"{live_app.url}/orders/{trade.order_id}")
    expect(page.get_by_role("heading", name="Order not found")).to_be_visible()
    expect(region(page, "Timeline")).to_have_count(0)
    not_theirs = page.locator("main, body").first.inner_text()
    assert trade.product_name not in not_theirs
    shoot(page, "order-not-found-desktop")
    for missing in ("999999999", "abc", "-1"):
        page.goto(f"{live_app.url}/orders/{missing}")
        expect(page.get_by_role("heading", name="Order not found")).to_be_visible()
    page.goto(f"{live_app.url}/orders")
    expect(page.get_by_text("No purchases yet")).to_be_visible()
    shoot(page, "orders-empty-desktop")
    assert console_errors == []


def _open_add_dialog(page: Page, product_name: str) -> Locator:
    button(page, "Add a pair").first.click()  # the section's (its empty state has one too)
    dialog = page.get_by_role("dialog", name="Add a pair you own")
    expect(dialog).to_be_visible()
    dialog.get_by_role("combobox", name="Sneaker").click()
    page.get_by_role("option").filter(has_text=product_name).first.click()
    expect(dialog.get_by_text(re.compile("^Sizes:"))).to_be_visible()
    return dialog


def test_portfolio_add_a_pair_and_refusals(
    page: Page, live_app: LiveApp, live_db: Engine, console_errors: list[str]
) -> None:
    email = f"collector-{uuid.uuid4().hex[:8]}@example.com"
    with Session(live_db) as session:
        collector = accounts.sign_up(
            session=session, email=email, display_name="Collector", password=PASSWORD
        )
        assert sizes.set_size_system(session=session, user_id=collector.id, system="eu") == ""
        session.commit()
        product = session.exec(select(Product).order_by(col(Product.name))).first()
    assert product is not None
    product_name = product.name
    # A member who reads EU sizes sees each pair's EU size (on its own brand's chart).
    eu_10 = sizes.label(brand=product.brand, chart=product.size_chart, size="10", system="eu")
    assert eu_10.startswith("EU ")
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, email, PASSWORD, next_path="/portfolio")
    for empty in ("No pairs in your portfolio yet", "No active bids", "No purchases yet"):
        expect(page.get_by_text(empty)).to_be_visible()
    page.wait_for_load_state("networkidle")
    shoot(page, "portfolio-empty-desktop")

    dialog = _open_add_dialog(page, product_name)
    size, price, when = (
        dialog.get_by_label("Size"),
        dialog.get_by_label("Price paid"),
        dialog.get_by_label("Purchase date"),
    )
    submit = button(dialog, "Add to portfolio")
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    size.fill("19")
    price.fill("abc")
    when.fill(tomorrow)
    submit.click()
    expect(price).to_have_accessible_description(re.compile("Enter a price in dollars"))
    expect(when).to_have_accessible_description(re.compile("cannot be in the future"))
    expect(size).to_have_accessible_description(re.compile("does not come in size 19"))
    shoot(page, "portfolio-add-errors-desktop")
    price.fill("-50")
    submit.click()
    expect(price).to_have_accessible_description(re.compile("cannot be negative"))
    price.fill("0.50")
    when.fill("2024-03-01")
    size.fill("10")
    submit.click()
    expect(price).to_have_accessible_description(re.compile(r"at least \$1"))
    expect(when).to_have_attribute("aria-invalid", "false")
    expect(size).to_have_attribute("aria-invalid", "false")
    expect(rows(page, "Your pairs")).to_have_count(0)

    price.fill("180")
    submit.click()
    expect(dialog).to_have_count(0)
    row = rows(page, "Your pairs")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(product_name)
    expect(row).to_contain_text(f"{eu_10} \u00b7 Bought")
    expect(row).to_contain_text("$180.00")
    expect(row).to_contain_text("Added by you")
    expect(page.locator("#total-value")).not_to_have_text("$0.00")
    expect(page.locator("#value-chart .main-svg").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    shoot(page, "portfolio-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "portfolio-phone")

    # No asks yet: the dashboard's way out is the New-ask search, not the whole catalog.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_app.url}/sell")
    expect(page.get_by_text("No active asks")).to_be_visible()
    button(page, "Find a sneaker to sell").click()
    expect(page.get_by_role("dialog", name="New ask")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/sell/?$"))
    assert console_errors == []


def test_buyer_portfolio_bids_and_purchases(
    page: Page,
    live_app: LiveApp,
    live_db: Engine,
    live_redis: redis.Redis,
    trade: Trade,
    console_errors: list[str],
) -> None:
    """The demo buyer: a low resting bid (outbid by the market maker), and the purchase."""
    with Session(live_db) as session:
        buyer = session.exec(select(User).where(User.email == DEMO_BUYER.email)).one()
        order = session.get(Order, trade.order_id)
        assert order is not None
        top = market_data.top_of_book(live_redis, str(order.variant_id))
        assert top.bid_cents is not None
        low_cents = max(market.MIN_PRICE_CENTS, top.bid_cents - 2_000)
        market.place(
            session=session,
            engine=RedisEngine(live_redis),
            user_id=buyer.id or 0,
            side="bid",
            variant_id=order.variant_id,
            price_cents=low_cents,
            client_key=uuid.uuid4().hex,
        )
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, DEMO_BUYER.email, DEMO_BUYER.password, next_path="/portfolio")
    bid = rows(page, "Active bids").filter(has_text=format_usd(low_cents))
    expect(bid).to_contain_text("Outbid")
    expect(order_link(page, trade.order_id)).to_be_visible()
    page.wait_for_load_state("networkidle")
    shoot(page, "portfolio-bids-desktop")

    button(bid, "Edit").click()
    page.get_by_label("New bid (USD)").fill("12abc")
    button(page, "Save bid").click()
    expect(page.get_by_label("New bid (USD)")).to_have_accessible_description(
        re.compile("Enter a price in dollars")
    )
    new_dollars = (top.bid_cents + 100) // 100
    page.get_by_label("New bid (USD)").fill(f"{new_dollars}")
    button(page, "Save bid").click()
    expect(page.get_by_role("dialog", name="Change your bid")).to_have_count(0)
    bid = rows(page, "Active bids").filter(has_text=format_usd(new_dollars * 100))
    expect(bid).to_contain_text("Highest bid")
    button(bid, "Cancel").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Cancel your bid?")
    button(page.get_by_role("alertdialog"), "Cancel bid").click()
    expect(bid).to_have_count(0)

    # Purchase history at phone width: the status and the figures beside it do not overlap.
    page.set_viewport_size(PHONE)
    row = order_link(page, trade.order_id)
    row.scroll_into_view_if_needed()
    status = row.locator(".order-status").bounding_box()
    figures = row.locator(".order-figures").bounding_box()
    assert status is not None and figures is not None
    assert status["x"] + status["width"] <= figures["x"], (status, figures)
    assert figures["x"] + figures["width"] <= PHONE["width"], figures
    page.wait_for_timeout(300)
    shoot(page, "portfolio-purchases-phone")
    assert console_errors == []


def _ship_if_needed(engine: Engine, trade: Trade) -> None:
    from sneakers_app.services import saga

    if _status(engine, trade.order_id)[0] != "awaiting_shipment":
        return
    with Session(engine) as session:
        seller = session.exec(select(User).where(User.email == trade.seller_email)).one()
        saga.mark_shipped(
            session=session, order_id=trade.order_id, seller_id=seller.id or 0, tracking=TRACKING
        )
        session.commit()


def test_completed_sale_shows_payout_chart_and_bought_pair(
    page: Page, live_app: LiveApp, live_db: Engine, trade: Trade, console_errors: list[str]
) -> None:
    """Staff pass the pair and it is delivered: the seller sees the completed sale, the pending
    payout and the revenue chart; the buyer sees the full timeline and the pair they own."""
    from sneakers_app.services import portfolio, saga
    from sneakers_app.services import verification as vf

    _ship_if_needed(live_db, trade)
    all_ok = vf.Checklist(
        box_ok=True, stitching_ok=True, materials_ok=True, tags_ok=True, size_ok=True
    )
    with Session(live_db) as session:
        staff = session.exec(select(User).where(User.email == E2E_STAFF[0])).one()
        staff_id, order_id = staff.id or 0, trade.order_id
        vf.receive(session=session, staff_id=staff_id, order_id=order_id)
        vf.start_inspection(session=session, staff_id=staff_id, order_id=order_id)
        vf.decide(
            session=session, staff_id=staff_id, order_id=order_id, checklist=all_ok, passed=True
        )
        vf.ship_to_buyer(
            session=session, staff_id=staff_id, order_id=order_id, tracking="9400100000000000000001"
        )
        vf.mark_delivered(session=session, staff_id=staff_id, order_id=order_id)
        session.commit()
        saga.complete(session=session, order_id=order_id)
        session.commit()
        # The saga's completion step adds the pair to the buyer's portfolio (idempotent).
        portfolio.record_purchase(session, order_id)
        session.commit()
    assert _status(live_db, trade.order_id)[0] == "completed"

    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, trade.seller_email, PASSWORD, next_path="/sell")
    expect(region(page, "Completed sales")).to_contain_text(trade.product_name)
    expect(rows(page, "Payouts")).to_have_count(1)
    expect(rows(page, "Payouts")).to_contain_text("Pending")
    expect(page.locator("#analytics-totals")).to_contain_text("1")
    expect(page.locator("#sales-chart .main-svg").first).to_be_visible()
    expect(page.get_by_text("Nothing to ship")).to_be_visible()
    page.get_by_role("radio", name="Monthly").click()
    expect(page.locator("#sales-chart .main-svg").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    shoot(page, "sell-completed-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    shoot(page, "sell-completed-phone")

    _buyer_opens_the_order(page, live_app, trade)
    expect(page.locator("#order-status")).to_have_text("Completed")
    expect(page.locator(".timeline-step")).to_have_count(10)
    expect(page.locator("#outbound-tracking")).to_have_text("9400100000000000000001")
    page.wait_for_load_state("networkidle")
    shoot(page, "order-detail-buyer-desktop")
    page.goto(f"{live_app.url}/portfolio")
    bought = rows(page, "Your pairs").filter(has_text="Bought here")
    expect(bought.first).to_contain_text(trade.product_name)
    expect(page.locator("#value-chart .main-svg").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    shoot(page, "portfolio-buyer-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    shoot(page, "portfolio-buyer-phone")
    assert console_errors == []
