"""The verification console, the account page and the notification inbox in a real browser.

Orders are made through the service layer against the live app's database and localstripe (a
card saved with a SetupIntent confirmed the way stripe.js does it, a real off-session charge),
then staff drive them through the console. The account test types a card into the Stripe
Elements form that localstripe's stripe.js renders.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import stripe
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app.db import make_engine
from sneakers_app.models import Inspection, LedgerEntry, Order, Payout, ProductVariant, User
from sneakers_app.services import (
    accounts,
    addresses,
    notifications,
    orders,
    payments,
    saga,
    verification,
)
from sneakers_app.services.notifications import Kind
from sneakers_app.settings import LOCALSTRIPE_KEY, Settings
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MEMBER,
    E2E_STAFF,
    PHONE,
    LiveApp,
    address_card,
    button,
    check,
    fill_address,
    log_out,
    notifications_link,
    open_order,
    order_panel,
    pass_second_factor,
    queue_row,
    queue_tab,
    shoot,
    submit_login,
    tick_all_checks,
    type_card,
)
from tests.integration.test_payments import browser_confirm_setup
from tests.support import factories

PASSWORD = "a long enough password"


@dataclass(frozen=True)
class Made:
    order_id: int
    buyer_id: int
    seller_id: int
    buyer_email: str
    seller_email: str


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def stripe_setup(live_app: LiveApp) -> tuple[Settings, stripe.StripeClient]:
    settings = Settings(
        ENVIRONMENT="test",
        STRIPE_SECRET_KEY=LOCALSTRIPE_KEY,
        STRIPE_PUBLISHABLE_KEY="pk_test_localstripe",
        STRIPE_API_BASE=live_app.stripe.url,
        STRIPE_JS_URL=live_app.stripe.js_url,
    )
    return settings, payments.make_client(settings)


def email_of(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    assert user is not None
    return user.email


def make_order(
    db: Engine, stripe_setup: tuple[Settings, stripe.StripeClient], seller_email: str = ""
) -> Made:
    """A trade between two new members (or a new buyer and the account `seller_email`) on a
    seeded size, charged to the buyer's saved card and shipped by the seller to authentication:
    the first item of the "to receive" queue."""
    settings, client = stripe_setup
    with Session(db, expire_on_commit=False) as session:
        buyer = factories.user(session, "Buyer")
        if seller_email:
            seller = session.exec(select(User).where(User.email == seller_email)).one().id or 0
        else:
            seller = factories.user(session, "Seller")
        variant = session.exec(select(ProductVariant).order_by(col(ProductVariant.id))).first()
        assert variant is not None and variant.id is not None
        payments.save_payout_account(
            session=session,
            user_id=seller,
            kind="manual",
            account_ref="GB33BUKB20201555555555",
            holder_name="Seller Payee",
        )
        intent = payments.create_setup_intent(session=session, user_id=buyer, client=client)
        session.commit()
        assert browser_confirm_setup(settings, intent, "4242424242424242").status_code == 200
        payments.complete_setup(
            session=session, user_id=buyer, setup_intent_id=intent.id, client=client
        )
        trade = factories.trade(
            session, buyer_id=buyer, seller_id=seller, variant_id=variant.id, price_cents=21_000
        )
        order, _ = orders.create_from_trade(session=session, trade=trade)
        assert order.id is not None
        session.commit()
        charged = saga.charge(session=session, order_id=order.id, client=client)
        assert charged.status == "awaiting_shipment", charged
        saga.mark_shipped(
            session=session, order_id=order.id, seller_id=seller, tracking="1Z999AA10123456784"
        )
        session.commit()
        return Made(
            order_id=order.id,
            buyer_id=buyer,
            seller_id=seller,
            buyer_email=email_of(session, buyer),
            seller_email=email_of(session, seller),
        )


def status_of(db: Engine, order_id: int) -> str:
    with Session(db) as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order.status


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError("condition not met in time")


def log_in(page: Page, app: LiveApp, email: str, password: str, next_path: str) -> None:
    submit_login(page, app, email, password, next_path)
    expect(page).to_have_url(f"{app.url}{next_path}")


def payout_row(page: Page, order_id: int) -> Locator:
    return page.locator(".payout-row", has_text=f"Order #{order_id}")


def inbox(page: Page) -> Locator:
    return page.get_by_role("list", name="Notifications").get_by_role("listitem")


def unread(page: Page) -> Locator:
    """The notices not read yet: each offers "Mark read"."""
    return inbox(page).filter(has=page.get_by_role("button", name="Mark read"))


def new_member(db: Engine) -> tuple[int, str]:
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    with Session(db) as session:
        created = accounts.sign_up(
            session=session, email=email, display_name="Jordan Fan", password=PASSWORD
        )
        session.commit()
        return created.id, email


# --- the verification console ------------------------------------------------------------------


def test_staff_receive_inspect_pass_ship_deliver_and_pay_out(
    page: Page,
    browser: Browser,
    live_app: LiveApp,
    db: Engine,
    stripe_setup: tuple[Settings, stripe.StripeClient],
    console_errors: list[str],
) -> None:
    made = make_order(db, stripe_setup)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, *E2E_STAFF, next_path="/verification")
    pass_second_factor(page)
    expect(page.get_by_role("heading", name="Verification console")).to_be_visible()
    expect(queue_tab(page, "To receive")).to_contain_text(re.compile(r"[1-9]"))
    # the journal entries the consumer parked, loaded by the section itself: none here
    expect(page.get_by_role("heading", name="Parked journal entries")).to_be_visible()
    expect(page.get_by_text("Nothing is parked.")).to_be_visible()
    panel = open_order(page, "To receive", made.order_id)
    expect(page.locator("#fact-inbound")).to_have_text("1Z999AA10123456784")
    expect(panel).to_contain_text(made.seller_email)
    expect(page.locator("#fact-price")).to_have_text("$210.00")
    shoot(page, "verification-to-receive-desktop")

    button(page, "Mark received").click()
    expect(page.locator("#order-status")).to_have_text("Received at authentication")
    button(page, "Start inspection").click()
    expect(page.locator("#order-status")).to_have_text("Being authenticated")
    expect(button(page, "Pass")).to_be_disabled()
    tick_all_checks(page)
    page.get_by_label("Notes for the record").fill("Box, stitching and tags all match retail.")
    shoot(page, "verification-checklist-desktop")
    button(page, "Pass").click()
    expect(page.locator("#order-status")).to_have_text("Authenticated")
    expect(page.locator(".inspection-record")).to_contain_text("Passed")
    expect(page.locator(".inspection-record")).to_contain_text("5 of 5 checks passed")

    page.get_by_label("Carrier tracking number").fill("abc")
    button(page, "Ship to buyer").click()
    expect(page.get_by_label("Carrier tracking number")).to_have_accessible_description(
        re.compile("8 to 40 letters and digits")
    )
    assert status_of(db, made.order_id) == "authenticated"
    page.get_by_label("Carrier tracking number").fill("9400100000000000000000")
    button(page, "Ship to buyer").click()
    expect(page.locator("#order-status")).to_have_text("Shipped to the buyer")
    expect(page.locator("#fact-outbound")).to_have_text("9400100000000000000000")
    button(page, "Mark delivered").click()
    expect(page.locator("#order-status")).to_have_text("Delivered")
    audit = page.get_by_role("list", name="Audit trail")
    for step in ("Delivered", "Shipped to the buyer", "Authenticated", "Received at"):
        expect(audit).to_contain_text(step)
    expect(audit).to_contain_text("Staff")
    shoot(page, "verification-delivered-desktop")

    # The Celery worker completes the order and queues the seller's manual payout.
    wait_for(lambda: status_of(db, made.order_id) == "completed")
    with Session(db) as session:
        payout = session.exec(select(Payout).where(Payout.order_id == made.order_id)).one()
        assert (payout.status, payout.method) == ("pending", "manual")
        payout_id = payout.id
    queue_tab(page, "Payouts").click()
    row = payout_row(page, made.order_id)
    expect(row).to_contain_text("GB33BUKB20201555555555")
    expect(row).to_contain_text("Seller Payee")
    shoot(page, "verification-payouts-desktop")
    # A second console (another staff session) opens the same payout at the same time.
    other_context = browser.new_context(viewport=DESKTOP)
    other = other_context.new_page()
    log_in(other, live_app, *E2E_STAFF, next_path="/verification")
    pass_second_factor(other)
    queue_tab(other, "Payouts").click()
    payout_row(other, made.order_id).get_by_role("button", name="Mark paid").click()
    other.get_by_label("Bank transfer reference").fill("TRF-2024-0002")

    row.get_by_role("button", name="Mark paid").click()
    page.get_by_role("dialog").get_by_role("button", name="Mark paid").click()
    expect(page.get_by_label("Bank transfer reference")).to_have_accessible_description(
        re.compile("payment reference")
    )
    page.get_by_label("Bank transfer reference").fill("TRF-2024-0001")
    page.get_by_role("dialog").get_by_role("button", name="Mark paid").click()
    expect(row).to_have_count(0)
    with Session(db) as session:
        paid = session.get(Payout, payout_id)
        assert paid is not None and (paid.status, paid.reference) == ("paid", "TRF-2024-0001")

    # The second confirm is told it was already paid, and by whom; nothing is paid twice.
    other.get_by_role("dialog").get_by_role("button", name="Mark paid").click()
    expect(other.get_by_label("Bank transfer reference")).to_have_accessible_description(
        re.compile("already paid on .*TRF-2024-0001")
    )
    shoot(other, "verification-payout-already-paid-desktop")
    other_context.close()
    with Session(db) as session:
        paid = session.get(Payout, payout_id)
        assert paid is not None and paid.reference == "TRF-2024-0001"
        entries = session.exec(
            select(LedgerEntry).where(LedgerEntry.txn_id == f"payout:{payout_id}")
        ).all()
        assert len(entries) == 2

    # Emails went out after each step's commit, through the Celery worker and SMTP.
    def subjects(to: str) -> list[str]:
        return [str(m.message["Subject"]) for m in live_app.smtp.messages if to in m.rcpt_tos]

    wait_for(lambda: any("was delivered" in s for s in subjects(made.buyer_email)))
    wait_for(lambda: any("Payout sent" in s for s in subjects(made.seller_email)))
    assert any("arrived for authentication" in s for s in subjects(made.seller_email))
    assert console_errors == []


def test_staff_see_why_they_cannot_handle_their_own_sale(
    page: Page,
    live_app: LiveApp,
    db: Engine,
    stripe_setup: tuple[Settings, stripe.StripeClient],
    console_errors: list[str],
) -> None:
    made = make_order(db, stripe_setup, seller_email=E2E_STAFF[0])  # staff sold this pair
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, *E2E_STAFF, next_path="/verification")
    pass_second_factor(page)
    open_order(page, "To receive", made.order_id)
    expect(page.get_by_text(re.compile("one you sold"))).to_be_visible()
    expect(button(page, "Mark received")).to_have_count(0)
    shoot(page, "verification-conflict-desktop")
    assert status_of(db, made.order_id) == "shipped_to_verification"
    assert console_errors == []


def test_failed_inspection_and_appeal_needs_another_inspector(
    page: Page,
    live_app: LiveApp,
    db: Engine,
    stripe_setup: tuple[Settings, stripe.StripeClient],
) -> None:
    made = make_order(db, stripe_setup)
    page.set_viewport_size(PHONE)
    log_in(page, live_app, *E2E_STAFF, next_path="/verification")
    pass_second_factor(page)
    open_order(page, "To receive", made.order_id)
    button(page, "Mark received").click()
    button(page, "Start inspection").click()
    check(page, "Box condition").click()
    check(page, "Size matches").click()
    button(page, "Fail").click()
    expect(page.get_by_label("Reason, if the pair fails")).to_have_accessible_description(
        re.compile("Say why")
    )
    assert status_of(db, made.order_id) == "authenticating"
    reason = "Stitching on the heel tab does not match retail pairs."
    page.get_by_label("Reason, if the pair fails").fill(reason)
    shoot(page, "verification-fail-phone")
    button(page, "Fail").click()
    expect(page.locator("#order-status")).to_have_text("Failed authentication")
    record = page.locator(".inspection-record")
    expect(record).to_contain_text("Failed")
    expect(record).to_contain_text("Not OK: Stitching, Materials, Tags")
    with Session(db) as session:
        inspection = session.exec(
            select(Inspection).where(Inspection.order_id == made.order_id)
        ).one()
        assert inspection.result == "fail" and inspection.box_ok and not inspection.tags_ok

    # The seller appeals; the same inspector may not decide the re-review.
    with Session(db) as session:
        verification.appeal(
            session=session,
            seller_id=made.seller_id,
            order_id=made.order_id,
            reason="These are retail pairs from a store.",
        )
        session.commit()
    button(page, "Refresh").click()
    queue_tab(page, "Appeals").click()
    queue_row(page, made.order_id).click()
    expect(order_panel(page, made.order_id)).to_contain_text("Appeal re-review")
    tick_all_checks(page)
    button(page, "Pass").click()
    expect(page.get_by_role("alert").filter(has_text="different inspector")).to_have_text(
        "An appeal must be reviewed by a different inspector."
    )
    assert status_of(db, made.order_id) == "authenticating"
    shoot(page, "verification-appeal-phone")


def test_member_cannot_see_or_call_the_console(
    browser: Browser,
    live_app: LiveApp,
    db: Engine,
    stripe_setup: tuple[Settings, stripe.StripeClient],
) -> None:
    made = make_order(db, stripe_setup)
    context = browser.new_context(viewport=DESKTOP)
    console_tab = context.new_page()
    log_in(console_tab, live_app, *E2E_STAFF, next_path="/verification")
    pass_second_factor(console_tab)
    open_order(console_tab, "To receive", made.order_id)
    expect(button(console_tab, "Mark received")).to_be_visible()

    # In a second tab the session becomes a member's; the open console now speaks for them.
    other_tab = context.new_page()
    other_tab.goto(f"{live_app.url}/")
    log_out(other_tab)
    log_in(other_tab, live_app, *E2E_MEMBER, next_path="/verification")
    expect(other_tab.get_by_role("heading", name="Staff only")).to_be_visible()
    expect(other_tab.get_by_role("heading", name="Verification console")).to_have_count(0)
    expect(queue_tab(other_tab, "To receive")).to_have_count(0)

    console_tab.bring_to_front()
    console_tab.wait_for_timeout(500)  # the synced session token reaches the first tab
    if button(console_tab, "Mark received").count():
        button(console_tab, "Mark received").click()
    expect(console_tab.get_by_role("heading", name="Staff only")).to_be_visible()
    expect(order_panel(console_tab, made.order_id)).to_have_count(0)
    assert status_of(db, made.order_id) == "shipped_to_verification"
    with Session(db) as session:
        inspected = select(Inspection).where(Inspection.order_id == made.order_id)
        assert session.exec(inspected).all() == []
    context.close()


# --- account -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_account_card_address_payout_and_preferences(
    page: Page,
    live_app: LiveApp,
    db: Engine,
    label: str,
    size: ViewportSize,
    console_errors: list[str],
) -> None:
    user_id, email = new_member(db)
    page.set_viewport_size(size)
    log_in(page, live_app, email, PASSWORD, next_path="/account")
    expect(page.get_by_role("main").get_by_text("Jordan Fan", exact=True)).to_be_visible()
    expect(page.get_by_text("No card saved.")).to_be_visible()
    shoot(page, f"account-empty-{label}")

    # The card goes from the Elements form straight to (local)stripe; we see brand and last4.
    type_card(page, "4242424242424242")
    shoot(page, f"account-card-form-{label}")
    button(page, "Save card").click()
    expect(page.get_by_text("Visa ending in 4242")).to_be_visible()
    with Session(db) as session:
        user = session.get(User, user_id)
        assert user is not None and payments.has_payment_method(user)
        assert (user.card_brand, user.card_last4) == ("visa", "4242")

    # An address: bad input first, shown next to its field, nothing saved.
    button(page, "Add address").click()
    fill_address(page, "Jordan Fan", "12 Market Street", "New York", "NY", "ABCDE")
    button(page, "Save address").click()
    expect(page.get_by_label("ZIP / postal code")).to_have_accessible_description(
        re.compile("5 digits")
    )
    shoot(page, f"account-address-error-{label}")
    with Session(db) as session:
        assert addresses.list_addresses(session=session, user_id=user_id) == []
    page.get_by_label("ZIP / postal code").fill("10001")
    button(page, "Save address").click()
    expect(page.locator(".address-card")).to_contain_text("New York, NY 10001")
    expect(page.locator(".address-card")).to_contain_text("Default")
    # A second address made default, edited, then the first one deleted.
    button(page, "Add address").click()
    fill_address(page, "Jordan Fan", "500 Harbor Blvd", "Boston", "ma", "02110")
    button(page, "Save address").click()
    expect(page.locator(".address-card")).to_have_count(2)
    with Session(db) as session:
        _, second = sorted(
            addresses.list_addresses(session=session, user_id=user_id), key=lambda a: a.id or 0
        )
    address_card(page, "Boston").get_by_role("button", name="Make default").click()
    expect(page.locator(".address-card").first).to_contain_text("Boston, MA 02110")
    address_card(page, "Boston").get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Street address")).to_have_value("500 Harbor Blvd")
    page.get_by_label("Apartment, suite").fill("Suite 200")
    button(page, "Save address").click()
    expect(page.locator(".address-card").first).to_contain_text("Suite 200")
    address_card(page, "New York").get_by_role("button", name="Delete").click()
    expect(page.locator(".address-card")).to_have_count(1)
    with Session(db) as session:
        [kept] = addresses.list_addresses(session=session, user_id=user_id)
        assert (kept.id, kept.is_default, kept.line2) == (second.id, True, "Suite 200")

    # Payout details (manual in the embedded default).
    holder, account_ref = (
        page.get_by_label("Account holder"),
        page.get_by_label("Bank account details"),
    )
    password = page.get_by_label("Your password")
    save = page.get_by_role("button", name=re.compile("^(Save|Update) payout details$"))
    holder.fill("J")
    account_ref.fill("GB33BUKB20201555555555")
    save.click()
    expect(holder).to_have_accessible_description(re.compile("2 to 120"))
    holder.fill("Jordan Fan")
    save.click()
    expect(holder).to_have_attribute("aria-invalid", "false")
    # The confirmation is a toast; the next click waits until it no longer covers the switches.
    expect(page.get_by_text("Payout details saved")).to_be_visible()
    shoot(page, f"account-payout-saved-{label}")
    with Session(db) as session:
        account = payments.payout_account_for(session=session, user_id=user_id)
        assert account is not None and account.holder_name == "Jordan Fan"

    # Changing them needs the password, and the seller is told by email.
    account_ref.fill("GB33BUKB20201599999999")
    save.click()
    expect(password).to_have_accessible_description(re.compile("password"))
    password.fill("not my password")
    save.click()
    expect(password).to_have_accessible_description(re.compile("not right"))
    with Session(db) as session:
        account = payments.payout_account_for(session=session, user_id=user_id)
        assert account is not None and account.account_ref == "GB33BUKB20201555555555"
    password.fill(PASSWORD)
    save.click()
    expect(page.get_by_role("alert").filter(has_text="not right")).to_have_count(0)
    with Session(db) as session:
        account = payments.payout_account_for(session=session, user_id=user_id)
        assert account is not None and account.account_ref == "GB33BUKB20201599999999"
        email = email_of(session, user_id)
    wait_for(
        lambda: any(
            "payout details were changed" in str(m.message["Subject"])
            for m in live_app.smtp.messages
            if email in m.rcpt_tos
        )
    )

    # A preference: no outbid emails.
    switch = page.get_by_role("switch", name="Outbid: by email")
    expect(switch).to_have_attribute("data-state", "checked")
    switch.click()
    expect(switch).to_have_attribute("data-state", "unchecked")
    with Session(db) as session:
        pref = {p.kind: p for p in notifications.preferences(session=session, user_id=user_id)}[
            Kind.OUTBID
        ]
        assert (pref.in_app, pref.email) == (True, False)
    page.reload()
    expect(switch).to_have_attribute("data-state", "unchecked")
    expect(page.get_by_text("Visa ending in 4242")).to_be_visible()
    shoot(page, f"account-{label}")
    assert console_errors == []


# --- notifications -------------------------------------------------------------------------------


def notify(db: Engine, user_id: int, kind: Kind, key: str, **context: object) -> None:
    with Session(db) as session:
        notifications.notify(
            session=session, user_id=user_id, kind=kind, context=context, dedupe_key=key
        )
        session.commit()


def test_inbox_badge_mark_read_and_live_toast(
    page: Page, live_app: LiveApp, db: Engine, console_errors: list[str]
) -> None:
    user_id, email = new_member(db)
    with Session(db) as session:
        variant = session.exec(select(ProductVariant).order_by(col(ProductVariant.id))).first()
        assert variant is not None
        variant_id = variant.id
    tag = uuid.uuid4().hex[:8]
    notify(
        db,
        user_id,
        Kind.OUTBID,
        f"t:{tag}:1",
        variant_id=variant_id,
        your_price_cents=20_000,
        new_price_cents=21_000,
    )
    notify(
        db,
        user_id,
        Kind.PRICE_DROP,
        f"t:{tag}:2",
        variant_id=variant_id,
        lowest_ask_cents=19_000,
        target_price_cents=19_500,
    )
    notify(db, user_id, Kind.ITEM_RECEIVED, f"t:{tag}:3", order_id=424242)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_app, email, PASSWORD, next_path="/")
    expect(notifications_link(page, 3)).to_be_visible()
    notifications_link(page, 3).click()
    expect(page).to_have_url(f"{live_app.url}/notifications")
    rows = inbox(page)
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("arrived for authentication")  # newest first
    expect(unread(page)).to_have_count(3)
    shoot(page, "notifications-desktop")

    page.get_by_role("button", name="Mark read").first.click()
    expect(unread(page)).to_have_count(2)
    expect(notifications_link(page, 2)).to_be_visible()
    with Session(db) as session:
        assert notifications.unread_count(session=session, user_id=user_id) == 2

    # A match arrives while the page is open: a toast and the badge, without a reload.
    notify(
        db,
        user_id,
        Kind.BID_MATCHED,
        f"t:{tag}:4",
        order_id=434343,
        price_cents=21_000,
        total_cents=23_000,
    )
    expect(page.get_by_text("You bought", exact=False).first).to_be_visible(timeout=10_000)
    expect(notifications_link(page, 3)).to_be_visible()
    expect(rows).to_have_count(4)  # the open inbox shows it too
    expect(rows.first).to_contain_text("You bought")
    shoot(page, "notifications-toast-desktop")

    button(page, "Mark all read").click()
    expect(notifications_link(page, 0)).to_be_visible()
    expect(page.get_by_text("You're all caught up")).to_be_visible()
    with Session(db) as session:
        assert notifications.unread_count(session=session, user_id=user_id) == 0
    page.set_viewport_size(PHONE)
    page.reload()
    expect(inbox(page)).to_have_count(4)
    expect(unread(page)).to_have_count(0)
    shoot(page, "notifications-phone")
    assert console_errors == []


def test_inbox_pages_and_empty_state(page: Page, live_app: LiveApp, db: Engine) -> None:
    user_id, email = new_member(db)
    page.set_viewport_size(PHONE)
    log_in(page, live_app, email, PASSWORD, next_path="/notifications")
    expect(page.get_by_role("heading", name="Your inbox is empty")).to_be_visible()
    shoot(page, "notifications-empty-phone")
    tag = uuid.uuid4().hex[:8]
    for n in range(25):
        notify(db, user_id, Kind.ITEM_RECEIVED, f"p:{tag}:{n}", order_id=500_000 + n)
    page.reload()
    expect(inbox(page)).to_have_count(20)
    button(page, "Show older").click()
    expect(inbox(page)).to_have_count(25)
    expect(button(page, "Show older")).to_have_count(0)
    expect(inbox(page).last).to_contain_text("500000")
    # Opening a notice marks it read and follows its link.
    inbox(page).first.get_by_role("button").first.click()
    expect(page).to_have_url(f"{live_app.url}/orders/500024")
    with Session(db) as session:
        assert notifications.unread_count(session=session, user_id=user_id) == 24
