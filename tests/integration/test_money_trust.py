# ruff: noqa: F811 (the shared fixtures mk, smtp and variant come from test_saga)
"""Money and staff under pressure: voided trades leave the public tape, a buyer whose card keeps
failing stops bidding, a payout is paid once however many staff confirm it, payout details
change only with the password, and staff never handle their own orders.

Real parts throughout (Redis engine, journal consumer, SQLite and PostgreSQL, localstripe, SMTP),
through the same service calls and transaction scopes the handlers and tasks use.
"""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import redis
import stripe
from sqlalchemy import Engine, event
from sqlmodel import Session, func, select

from sneakers_app.db import session_scope
from sneakers_app.models import (
    Bid,
    LedgerEntry,
    Notification,
    Order,
    OutboxMessage,
    Payout,
    Product,
    ProductVariant,
    User,
    utcnow,
)
from sneakers_app.services import (
    analytics,
    catalog,
    ledger,
    market,
    orders,
    payments,
    portfolio,
    saga,
    verification_views,
)
from sneakers_app.services import verification as vf
from sneakers_app.services.orders import OrderError
from sneakers_app.settings import Settings
from tests.integration.test_payments import CARD_DECLINED_ON_CHARGE, CARD_OK, save_card
from tests.integration.test_saga import ALL_OK, PRICE, Market, mk, smtp, variant  # noqa: F401
from tests.support import factories
from tests.support.servers import RedisServer, free_port

PAINT = 90_000


# --- fixtures and helpers --------------------------------------------------------------------


def _match(mk: Market, seller: int, buyer: int, variant_id: int, price: int) -> int:
    mk.place(seller, "ask", variant_id, price)
    placed = mk.place(buyer, "bid", variant_id, price, immediate=True)
    assert placed.status == "filled", placed
    mk.drain(variant_id)
    return mk.new_orders[-1]


def _delivered_to_payout(mk: Market, seller: int, buyer: int, staff: int, variant_id: int) -> int:
    """A paid order walked to completion; returns its payout id."""
    order_id = mk.paid_order(seller, buyer, variant_id)
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456785")
    mk.step(vf.mark_delivered, staff_id=staff, order_id=order_id)
    mk.step(saga.complete, order_id=order_id)
    with mk.session() as s:
        payout = s.exec(select(Payout).where(Payout.order_id == order_id)).one()
        assert payout.id is not None
        return payout.id


@contextmanager
def first_writes_meet(engine: Engine, parties: int = 2) -> Iterator[None]:
    """Hold each thread's first write statement until every party has reached its own: the
    transactions have all read the world as it was before any of them wrote, then race."""
    barrier = threading.Barrier(parties)
    seen = threading.local()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if getattr(seen, "done", False):
            return
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.done = True
            barrier.wait(timeout=20)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads at once; each result is its return value or its exception."""
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


# --- finding 5: voided trades and failing cards ------------------------------------------------


def test_a_voided_trade_leaves_every_public_figure(mk: Market, variant: int) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    mk.paid_order(seller, buyer, variant)  # a real sale at PRICE
    painter, accomplice = mk.buyer(CARD_DECLINED_ON_CHARGE), mk.seller()
    painted = _match(mk, accomplice, painter, variant, PAINT)
    assert mk.step(saga.charge, order_id=painted, client=mk.stripe).status == "payment_failed"

    with mk.session() as s:
        v = s.get(ProductVariant, variant)
        assert v is not None
        product = s.get(Product, v.product_id)
        assert product is not None and product.id is not None
        pid = product.id
        for scope in (None, variant):
            last = analytics.last_sale(session=s, product_id=pid, variant_id=scope)
            assert last is not None and last.price_cents == PRICE
            stats = analytics.stats(session=s, product_id=pid, variant_id=scope)
            assert (stats.sales_12m, stats.sales_total, stats.high_12m_cents) == (1, 1, PRICE)
            history = analytics.price_history(
                session=s, product_id=pid, variant_id=scope, range_="1M"
            )
            assert [(p.volume, p.high_cents) for p in history] == [(1, PRICE)]
            recent = analytics.recent_sales(session=s, product_id=pid, variant_id=scope)
            assert [r.price_cents for r in recent] == [PRICE]
        detail = catalog.get_product(session=s, slug=product.slug)
        assert detail is not None
        assert (detail.last_sale_cents, detail.sales_count) == (PRICE, 1)
        assert [x.last_sale_cents for x in detail.variants] == [PRICE]
        [card] = [
            c for c in catalog.browse(session=s, filters=catalog.BrowseFilters()) if c.id == pid
        ]
        assert (card.last_sale_cents, card.sales_30d) == (PRICE, 1)
        holder = factories.user(s, "Holder")
        portfolio.add_item(
            session=s,
            user_id=holder,
            product_id=pid,
            size=v.size,
            purchase_price_cents=20_000,
            purchased_on=utcnow().date(),
        )
        [held] = portfolio.holdings(session=s, user_id=holder)
        assert held.market_value_cents == PRICE
        [point] = portfolio.value_series(session=s, user_id=holder, days=7)[-1:]
        assert point.value_cents == PRICE
        # The engine's own last trade (the painted one) is known to the database, so the live
        # page takes the database's tape instead of showing it as a sale not yet recorded.
        order = s.get(Order, painted)
        assert order is not None and order.status == "payment_failed"
        assert analytics.trade_recorded(session=s, trade_id=order.trade_id)
        # The order history keeps it.
        seen = orders.order_for_party(session=s, order_id=painted, user_id=painter)
        assert seen.price_cents == PAINT
        s.rollback()
    mk.books_balance()


def test_two_failed_charges_in_30_days_stop_bids_until_a_new_card(mk: Market, variant: int) -> None:
    buyer = mk.buyer(CARD_DECLINED_ON_CHARGE)
    old = utcnow() - timedelta(days=31)
    # Two failures long ago do not count.
    for _ in range(2):
        order_id = _match(mk, mk.seller(), buyer, variant, PRICE)
        assert (
            mk.step(saga.charge, order_id=order_id, client=mk.stripe, now=old).status
            == "payment_failed"
        )
    order_id = _match(mk, mk.seller(), buyer, variant, PRICE)
    mk.step(saga.charge, order_id=order_id, client=mk.stripe)
    order_id = _match(mk, mk.seller(), buyer, variant, PRICE)
    mk.step(saga.charge, order_id=order_id, client=mk.stripe)  # the second in 30 days

    with mk.session() as s:
        bids_before = s.exec(select(func.count()).select_from(Bid)).one()
    for immediate in (False, True):
        with pytest.raises(market.MarketError, match=r"declined twice.*update your card"):
            mk.place(buyer, "bid", variant, PRICE, immediate=immediate)
    with mk.session() as s:
        assert s.exec(select(func.count()).select_from(Bid)).one() == bids_before
        save_card(s, mk.stripe, mk.settings, buyer, CARD_OK)  # a new card lifts it
    placed = mk.place(buyer, "bid", variant, PRICE - 1_000)
    assert placed.status in ("open", "accepted", "rested"), placed


# --- finding 6: payouts ----------------------------------------------------------------------


def test_two_staff_confirming_one_payout_at_once_pay_it_once(mk: Market, variant: int) -> None:
    seller, buyer, first, second = mk.seller(), mk.buyer(), mk.staff(), mk.staff()
    payout_id = _delivered_to_payout(mk, seller, buyer, first, variant)

    def confirm(staff: int, reference: str) -> Callable[[], object]:
        def run() -> object:
            with session_scope(mk.db) as s:  # the console handler's transaction scope
                paid = saga.pay_out(
                    session=s, payout_id=payout_id, staff_id=staff, reference=reference
                )
                return paid.reference

        return run

    with first_writes_meet(mk.db):
        results = _race([confirm(first, "TR-A"), confirm(second, "TR-B")])
    refused = [r for r in results if isinstance(r, OrderError)]
    paid = [r for r in results if isinstance(r, str)]
    assert len(paid) == 1 and len(refused) == 1, results
    assert "already paid on" in refused[0].message
    with mk.session() as s:
        payout = s.get(Payout, payout_id)
        assert payout is not None and payout.status == "paid" and payout.reference == paid[0]
        entries = s.exec(select(LedgerEntry).where(LedgerEntry.txn_id == f"payout:{payout_id}"))
        assert len(entries.all()) == 2
        assert ledger.balance(session=s, account=ledger.seller_account(seller)) == 0
    mk.books_balance()


def test_a_second_confirm_says_when_and_by_whom(mk: Market, variant: int) -> None:
    seller, buyer, first, second = mk.seller(), mk.buyer(), mk.staff(), mk.staff()
    payout_id = _delivered_to_payout(mk, seller, buyer, first, variant)
    with session_scope(mk.db) as s:
        saga.pay_out(session=s, payout_id=payout_id, staff_id=first, reference="TR-1")
    with mk.session() as s:
        payout = s.get(Payout, payout_id)
        assert payout is not None and payout.paid_at is not None
        staff_user = s.get(User, first)
        assert staff_user is not None
        name = staff_user.display_name
        day = payout.paid_at.strftime("%b %-d, %Y")
    with pytest.raises(OrderError) as refused, session_scope(mk.db) as s:
        saga.pay_out(session=s, payout_id=payout_id, staff_id=second, reference="TR-2")
    assert f"already paid on {day}" in refused.value.message
    assert name in refused.value.message
    with mk.session() as s:
        payout = s.get(Payout, payout_id)
        assert payout is not None and (payout.reference, payout.paid_by_id) == ("TR-1", first)
    mk.books_balance()


def test_one_ledger_transaction_id_posts_once_under_a_race(mk: Market) -> None:
    def post() -> object:
        with session_scope(mk.db) as s:
            return ledger.post(
                session=s,
                txn_id="adjustment:race",
                entries=[(ledger.CLEARING, 500), (ledger.FEES, -500)],
                memo="race",
            )

    with first_writes_meet(mk.db):
        results = _race([post, post])
    assert results.count(True) == 1, results
    with mk.session() as s:
        rows = s.exec(select(LedgerEntry).where(LedgerEntry.txn_id == "adjustment:race")).all()
        assert sorted(r.amount_cents for r in rows) == [-500, 500]


def test_payout_destination_is_kept_and_changes_need_the_password(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    payout_id = _delivered_to_payout(mk, seller, buyer, staff, variant)
    with mk.session() as s:
        payout = s.get(Payout, payout_id)
        assert payout is not None
        assert (payout.destination_kind, payout.destination_ref, payout.destination_holder) == (
            "manual",
            "IBAN GB33BUKB20201555555555",
            "Seller Name",
        )
    new = {"kind": "manual", "account_ref": "IBAN XX00 ATTACKER 0001", "holder_name": "Mallory"}
    for wrong in ("", "not the password"):
        with pytest.raises(payments.PaymentError, match="password"), session_scope(mk.db) as s:
            payments.change_payout_details(session=s, user_id=seller, password=wrong, **new)
    with mk.session() as s:
        account = payments.payout_account_for(session=s, user_id=seller)
        assert account is not None and account.account_ref == "IBAN GB33BUKB20201555555555"
        with pytest.raises(payments.PaymentError, match="password"):
            payments.save_payout_account(session=s, user_id=seller, **new)
        s.rollback()
    with session_scope(mk.db) as s:
        saved = payments.change_payout_details(
            session=s, user_id=seller, password="a long enough password", **new
        )
    assert saved.email_notification_id is not None
    mk.emails = [saved.email_notification_id]  # only the notice of this change
    assert mk.send_emails() == 1
    [message] = mk.smtp.messages
    assert "payout details" in str(message).lower()
    with mk.session() as s:
        notice = s.get(Notification, saved.email_notification_id)
        assert notice is not None and notice.user_id == seller
        [pending] = [
            p
            for p in verification_views.pending_payouts(session=s, staff_id=staff)
            if p.payout_id == payout_id
        ]
        # The payout goes where the seller asked when it was created.
        assert (pending.holder_name, pending.account_ref) == (
            "Seller Name",
            "IBAN GB33BUKB20201555555555",
        )


class RefusingConnect:
    """Stands in for Stripe's Connect transfers endpoint (localstripe has none) and refuses
    every transfer the way Stripe refuses one to an account that cannot receive it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.requests.append(self.path)
                body = json.dumps(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "No such destination: 'acct_1Gone'",
                            "param": "destination",
                        }
                    }
                ).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pay_to_connect(mk: Market, seller: int, account_ref: str) -> None:
    """The seller is paid through Stripe Connect, to this account."""
    with mk.session() as s:
        payments.save_payout_account(
            session=s,
            user_id=seller,
            kind="stripe_connect",
            account_ref=account_ref,
            holder_name="Seller",
            password="a long enough password",  # changing saved details
        )
        s.commit()


def test_connect_payouts_that_failed_or_were_lost_show_to_staff(mk: Market, variant: int) -> None:
    staff = mk.staff()
    made: list[int] = []
    for _ in range(2):
        seller, buyer = mk.seller(), mk.buyer()
        _pay_to_connect(mk, seller, "acct_1Gone")
        made.append(_delivered_to_payout(mk, seller, buyer, staff, variant))
    failed_id, lost_id = made
    refusing = RefusingConnect()
    try:
        client = stripe.StripeClient(
            "sk_test_connect",
            stripe_version=payments.STRIPE_API_VERSION,
            base_addresses={"api": f"http://127.0.0.1:{refusing.port}"},
            max_network_retries=0,
        )
        with session_scope(mk.db) as s:  # the payout task's transaction
            result = saga.pay_out_connect(session=s, payout_id=failed_id, client=client)
        assert result.status == "failed"
        assert refusing.requests == ["/v1/transfers"]
    finally:
        refusing.stop()
    with mk.session() as s:
        lost = s.get(Payout, lost_id)
        assert lost is not None
        lost.created_at = utcnow() - timedelta(hours=2)  # its task never ran
        s.add(lost)
        s.commit()
        problems = {
            p.payout_id: p for p in verification_views.payout_problems(session=s, staff_id=staff)
        }
        assert set(problems) == {failed_id, lost_id}
        assert "No such destination" in problems[failed_id].problem
        assert "not sent" in problems[lost_id].problem
        with pytest.raises(OrderError, match="staff only"):
            verification_views.payout_problems(session=s, staff_id=mk.seller())


def test_a_connect_payout_stripe_cannot_reach_is_retried_not_failed(
    mk: Market, variant: int
) -> None:
    """Network trouble during the transfer raises for the task to retry (the payout stays as
    it was); only a refusal marks the payout failed."""
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    _pay_to_connect(mk, seller, "acct_1Later")
    payout_id = _delivered_to_payout(mk, seller, buyer, staff, variant)
    with mk.session() as s:
        before = s.get(Payout, payout_id)
        assert before is not None
        status = before.status
    offline = stripe.StripeClient(
        "sk_test_connect",
        stripe_version=payments.STRIPE_API_VERSION,
        base_addresses={"api": f"http://127.0.0.1:{free_port()}"},
        max_network_retries=0,
    )
    with pytest.raises(payments.PaymentTemporarilyUnavailable), session_scope(mk.db) as s:
        saga.pay_out_connect(session=s, payout_id=payout_id, client=offline)
    with mk.session() as s:
        after = s.get(Payout, payout_id)
        assert after is not None and after.status == status != "failed"


# --- finding 9: staff conflict of interest and high-value deliveries --------------------------


def _staff_seller(mk: Market) -> int:
    with mk.session() as s:
        user_id = factories.user(s, "StaffSeller", staff=True)
        payments.save_payout_account(
            session=s,
            user_id=user_id,
            kind="manual",
            account_ref="IBAN GB33BUKB20201555555556",
            holder_name="Staff Seller",
        )
        s.commit()
    return user_id


def test_staff_never_handle_an_order_they_are_party_to(mk: Market, variant: int) -> None:
    insider, buyer, colleague = _staff_seller(mk), mk.buyer(), mk.staff()
    order_id = mk.paid_order(insider, buyer, variant)
    mk.step(saga.mark_shipped, order_id=order_id, seller_id=insider, tracking="1Z999AA10123456784")
    with mk.session() as s:
        with pytest.raises(OrderError, match="you sold"):
            vf.receive(session=s, staff_id=insider, order_id=order_id)
        s.rollback()
        facts = verification_views.order_facts(session=s, staff_id=insider, order_id=order_id)
        assert "you sold" in facts.conflict
        other = verification_views.order_facts(session=s, staff_id=colleague, order_id=order_id)
        assert other.conflict == ""
    assert mk.order(order_id).status == "shipped_to_verification"
    mk.step(vf.receive, staff_id=colleague, order_id=order_id)
    for step in (vf.start_inspection,):
        with mk.session() as s, pytest.raises(OrderError, match="you sold"):
            step(session=s, staff_id=insider, order_id=order_id)
    mk.step(vf.start_inspection, staff_id=colleague, order_id=order_id)
    with mk.session() as s, pytest.raises(OrderError, match="you sold"):
        vf.decide(session=s, staff_id=insider, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.decide, staff_id=colleague, order_id=order_id, checklist=ALL_OK, passed=True)
    with mk.session() as s, pytest.raises(OrderError, match="you sold"):
        vf.ship_to_buyer(
            session=s, staff_id=insider, order_id=order_id, tracking="1Z999AA10123456785"
        )
    mk.step(vf.ship_to_buyer, staff_id=colleague, order_id=order_id, tracking="1Z999AA10123456785")
    with mk.session() as s, pytest.raises(OrderError, match="you sold"):
        vf.mark_delivered(session=s, staff_id=insider, order_id=order_id)
    mk.step(vf.mark_delivered, staff_id=colleague, order_id=order_id)
    mk.step(saga.complete, order_id=order_id)
    with mk.session() as s:
        payout = s.exec(select(Payout).where(Payout.order_id == order_id)).one()
        with pytest.raises(OrderError, match="you sold"):
            saga.pay_out(session=s, payout_id=payout.id or 0, staff_id=insider, reference="X-1")
        s.rollback()
        [row] = [
            p
            for p in verification_views.pending_payouts(session=s, staff_id=insider)
            if p.payout_id == payout.id
        ]
        assert "you sold" in row.conflict
    assert mk.order(order_id).status == "completed"
    with mk.session() as s:
        assert s.get(Payout, payout.id).status == "pending"  # type: ignore[union-attr]

    # The buyer's side: a staff member who bought the pair cannot ship or deliver it.
    staff_buyer = mk.staff()
    with mk.session() as s:
        factories.address(s, staff_buyer)
        s.commit()
        save_card(s, mk.stripe, mk.settings, staff_buyer, CARD_OK)
    seller = mk.seller()
    order_id = mk.paid_order(seller, staff_buyer, variant)
    mk.to_authenticating(order_id, seller, colleague)
    with mk.session() as s, pytest.raises(OrderError, match="you bought"):
        vf.decide(session=s, staff_id=staff_buyer, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.decide, staff_id=colleague, order_id=order_id, checklist=ALL_OK, passed=True)
    with mk.session() as s, pytest.raises(OrderError, match="you bought"):
        vf.ship_to_buyer(
            session=s, staff_id=staff_buyer, order_id=order_id, tracking="1Z999AA10123456787"
        )
    mk.step(vf.ship_to_buyer, staff_id=colleague, order_id=order_id, tracking="1Z999AA10123456787")
    with mk.session() as s, pytest.raises(OrderError, match="you bought"):
        vf.mark_delivered(session=s, staff_id=staff_buyer, order_id=order_id)
    assert mk.order(order_id).status == "shipped_to_buyer"


def test_high_value_deliveries_need_a_second_staff_member(mk: Market, variant: int) -> None:
    seller, buyer, first, second = mk.seller(), mk.buyer(), mk.staff(), mk.staff()
    dear = 150_000
    order_id = _match(mk, seller, buyer, variant, dear)
    assert mk.step(saga.charge, order_id=order_id, client=mk.stripe).status == "awaiting_shipment"
    mk.to_authenticating(order_id, seller, first)
    mk.step(vf.decide, staff_id=first, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=first, order_id=order_id, tracking="1Z999AA10123456785")
    result = mk.step(vf.mark_delivered, staff_id=first, order_id=order_id)
    assert (result.status, result.changed) == ("shipped_to_buyer", False)
    assert "second staff member" in result.note
    with mk.session() as s, pytest.raises(OrderError, match="different staff member"):
        vf.mark_delivered(session=s, staff_id=first, order_id=order_id)
    assert mk.order(order_id).status == "shipped_to_buyer"
    result = mk.step(vf.mark_delivered, staff_id=second, order_id=order_id)
    assert (result.status, result.changed) == ("delivered", True)
    with mk.session() as s:
        events = orders.events_for(session=s, order_id=order_id)
        assert events[-1].to_status == "delivered" and events[-1].actor_id == second

    # A carrier's delivery event for the order's tracking number is enough on its own.
    order_id = _match(mk, mk.seller(), mk.buyer(), variant, dear)
    seller2 = mk.order(order_id).seller_id
    mk.step(saga.charge, order_id=order_id, client=mk.stripe)
    mk.to_authenticating(order_id, seller2, first)
    mk.step(vf.decide, staff_id=first, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=first, order_id=order_id, tracking="1Z999AA10123456786")
    with mk.session() as s, pytest.raises(OrderError, match="tracking"):
        vf.carrier_delivered(
            session=s, order_id=order_id, tracking="1Z999AA10000000000", event_id="evt-x"
        )
    result = mk.step(
        vf.carrier_delivered,
        order_id=order_id,
        tracking="1Z999AA10123456786",
        event_id=f"evt-{uuid.uuid4().hex[:8]}",
    )
    assert (result.status, result.changed) == ("delivered", True)


def test_a_single_staff_member_delivers_below_the_threshold(mk: Market, variant: int) -> None:
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    order_id = mk.paid_order(seller, buyer, variant)
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    mk.step(vf.ship_to_buyer, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456785")
    assert mk.step(vf.mark_delivered, staff_id=staff, order_id=order_id).status == "delivered"


# --- the live product page ------------------------------------------------------------------


@pytest.fixture
def deployed(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    redis_server: RedisServer,
    stripe_settings: Settings,
) -> Iterator[None]:
    """Settings from the environment, as a deployed backend reads them."""
    from sneakers_app import db, redis_client
    from sneakers_app.settings import get_settings

    for name, value in {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "STRIPE_API_BASE": stripe_settings.STRIPE_API_BASE,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.STRIPE_WEBHOOK_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    caches = (
        get_settings,
        db.get_db_engine,
        redis_client.get_redis,
        redis_client.get_matching_engine,
    )
    for cache in caches:
        cache.cache_clear()
    redis.Redis.from_url(redis_server.url).flushdb()
    yield
    for cache in caches:
        cache.cache_clear()


def test_the_live_page_drops_the_engines_voided_last_trade(
    deployed: None, stripe_settings: Settings
) -> None:
    from sneakers_app import db, redis_client
    from sneakers_app.services import journal
    from sneakers_app.services.product_page import load_public_market
    from trading.journal import JournalConsumer

    engine = db.get_db_engine()
    client = payments.make_client()
    book = redis_client.get_matching_engine()

    def session() -> Session:
        return Session(engine, expire_on_commit=False)

    with session() as s:
        seller, painter = factories.user(s, "Seller"), factories.user(s, "Painter")
        buyer = factories.user(s, "Buyer")
        variant_id = factories.variant(s)
        payments.save_payout_account(
            session=s, user_id=seller, kind="manual", account_ref="ACCT 99887766", holder_name="Sam"
        )
        factories.address(s, buyer)
        factories.address(s, painter)
        s.commit()
        save_card(s, client, stripe_settings, buyer, CARD_OK)
        save_card(s, client, stripe_settings, painter, CARD_DECLINED_ON_CHARGE)
        v = s.get(ProductVariant, variant_id)
        assert v is not None
        product_id, size = v.product_id, v.size
    new_orders: list[int] = []
    for who, price in ((buyer, PRICE), (painter, PAINT)):
        for side, user in (("ask", seller), ("bid", who)):
            with session() as s:
                market.place(
                    session=s,
                    engine=book,
                    user_id=user,
                    side=side,  # type: ignore[arg-type]
                    variant_id=variant_id,
                    price_cents=price,
                    client_key=uuid.uuid4().hex,
                    immediate=side == "bid",
                )
        consumer = JournalConsumer(redis_client.get_redis(), group="db", consumer="test")
        handle = journal.handler(session, lambda applied: new_orders.extend(applied.new_order_ids))
        while consumer.process([str(variant_id)], handle):
            pass
        with session_scope(engine) as s:  # the charge task's step
            saga.charge(session=s, order_id=new_orders[-1], client=client)

    view = load_public_market(product_id=product_id, variants={variant_id: size}, selected=None)
    assert view.last_price_cents == PRICE
    assert not view.tape_pending


def test_guessing_the_password_to_change_payout_details_locks_like_log_in(mk: Market) -> None:
    """Someone holding a stolen session cannot try passwords here without limit: wrong guesses
    count towards the log-in lockout (committed even though the change rolls back), and while
    it holds even the right password is refused."""
    seller = mk.seller()
    new = {"kind": "manual", "account_ref": "IBAN XX00 ATTACKER 0001", "holder_name": "Mallory"}
    for n in range(8):
        with pytest.raises(payments.PaymentError), session_scope(mk.db) as s:
            payments.change_payout_details(
                session=s, user_id=seller, password=f"guess number {n}", **new
            )
    with pytest.raises(payments.PaymentError, match="Too many"), session_scope(mk.db) as s:
        payments.change_payout_details(
            session=s, user_id=seller, password="a long enough password", **new
        )
    with mk.session() as s:
        account = payments.payout_account_for(session=s, user_id=seller)
        assert account is not None and account.account_ref != new["account_ref"]


def test_a_blocked_buyers_resting_bids_leave_the_book(mk: Market, variant: int) -> None:
    """The second declined charge in 30 days also takes the buyer's resting bids off the book
    (they could otherwise still buy with the failing card); the buyer is told once. The charge
    task queues this (an outbox row written with the failure)."""
    buyer = mk.buyer(CARD_DECLINED_ON_CHARGE)
    resting = mk.place(buyer, "bid", variant, PRICE - 5_000)  # below any ask: it rests
    assert resting.status == "open"
    for n in range(2):
        order_id = _match(mk, mk.seller(), buyer, variant, PRICE)
        with session_scope(mk.db) as s:
            result = saga.charge(session=s, order_id=order_id, client=mk.stripe)
            saga.queue_after_failed_payment(s, result)  # what the charge task writes
        assert result.status == "payment_failed"
        with mk.session() as s:
            queued = s.exec(
                select(OutboxMessage).where(OutboxMessage.dedupe_key == f"cancel_bids:{order_id}")
            ).first()
            assert queued is not None and queued.task == saga.CANCEL_BIDS_TASK
        with mk.session() as s:  # what that task runs
            cancelled = market.cancel_bids_of_blocked_buyer(
                session=s, engine=mk.engine, user_id=buyer
            )
        assert cancelled == (0 if n == 0 else 1)  # blocked only after the second
    mk.drain(variant)
    with mk.session() as s:
        bid = s.get(Bid, resting.row_id)
        assert bid is not None and bid.status == "cancelled"
        notices = s.exec(
            select(Notification).where(
                Notification.user_id == buyer, Notification.kind == "bids_cancelled_card"
            )
        ).all()
        assert len(notices) == 1 and "update your card" in notices[0].body.lower()
    resting_state = mk.engine.order(str(variant), f"b{resting.row_id}")
    assert resting_state is not None and resting_state.status != "open"  # off the book


def test_the_live_page_shows_a_sale_recorded_between_its_reads(
    deployed: None, mk: Market, variant: int
) -> None:
    """The page's market read takes the engine's last trade from Redis, then the tape from the
    database. When the journal consumer recorded that trade between the database's two queries
    (the last sale, then whether the trade is known), the page showed the sale before it, and
    as the trade was the book's last change nothing read it again: both sides of a trade kept
    the old last sale on their screens. Each read sees a consistent pair now."""
    from sneakers_app import db
    from sneakers_app.services.product_page import load_public_market

    seller, buyer = mk.seller(), mk.buyer()
    _match(mk, seller, buyer, variant, PRICE)
    mk.place(seller, "ask", variant, PRICE + 400)
    assert mk.place(buyer, "bid", variant, PRICE + 400, immediate=True).status == "filled"
    with mk.session() as s:
        v = s.get(ProductVariant, variant)
        assert v is not None
        product_id, size = v.product_id, v.size

    recorded: list[int] = []

    def record_after_first_tape_query(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        if not recorded and ("sales" in statement or "trades" in statement):
            recorded.append(mk.drain(variant))  # the consumer commits on its own connection

    app_engine = db.get_db_engine()
    event.listen(app_engine, "after_cursor_execute", record_after_first_tape_query)
    try:
        view = load_public_market(product_id=product_id, variants={variant: size}, selected=None)
    finally:
        event.remove(app_engine, "after_cursor_execute", record_after_first_tape_query)
    assert recorded and recorded[0] > 0, "the consumer recorded the trade during the read"
    assert view.last_price_cents == PRICE + 400
    again = load_public_market(product_id=product_id, variants={variant: size}, selected=None)
    assert again.last_price_cents == PRICE + 400 and not again.tape_pending
