# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""Shipping labels and the return leg: who may print which label (and the route's 404 for
everyone else), the console finding an order by its scanned code, and a pair that failed
authentication shipped back to its seller with its own tracking number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from sneakers_app import api, db, vocabulary
from sneakers_app.db import session_scope
from sneakers_app.models import Notification, Order, Payment, User
from sneakers_app.services import accounts, addresses, labels, orders, saga, verification_views
from sneakers_app.services import verification as vf
from tests.integration.test_saga import (  # noqa: F401 (fixtures)
    ALL_OK,
    BAD_STITCHING,
    Market,
    mk,
    smtp,
    variant,
)
from tests.integration.test_tracking_numbers import REFUSED

PASSWORD = "a long enough password"  # factories.user's
SECOND_FACTOR = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SELLER_HOME = addresses.AddressInput(
    full_name="Sam Seller", line1="12 Ship St", city="Portland", region="OR", postal_code="97201"
)
BUYER_HOME = addresses.AddressInput(
    full_name="Bea Buyer", line1="7 Door Ave", city="Austin", region="TX", postal_code="78701"
)


def _with_address(mk: Market, user_id: int, address: addresses.AddressInput) -> None:
    with session_scope(mk.db) as s:
        addresses.add_address(session=s, user_id=user_id, data=address)


def _log_in(mk: Market, user_id: int, *, second_factor: bool = False) -> str:
    """A login of the user (and, for staff, the console's second factor passed)."""
    with session_scope(mk.db) as s:
        user = s.get(User, user_id)
        assert user is not None
        token = accounts.log_in(session=s, email=user.email, password=PASSWORD).token
        if second_factor:
            accounts.enable_totp(session=s, user_id=user_id, secret=SECOND_FACTOR)
    if second_factor:
        with session_scope(mk.db) as s:
            code = pyotp.TOTP(SECOND_FACTOR).now()
            accounts.verify_second_factor(session=s, token=token, code=code)
    return token


def _label(mk: Market, user_id: int, order_id: int, kind: str) -> labels.Label:
    with session_scope(mk.db) as s:
        return labels.label_for(session=s, user_id=user_id, order_id=order_id, kind=kind)


def _refused(mk: Market, user_id: int, order_id: object, kind: object) -> str:
    with pytest.raises(orders.OrderError) as refused, session_scope(mk.db) as s:
        labels.label_for(session=s, user_id=user_id, order_id=order_id, kind=kind)
    return refused.value.message


@pytest.fixture
def sale(mk: Market, variant: int) -> tuple[int, int, int, int]:
    """A paid order waiting for its seller to ship: (order, seller, buyer, staff); both members
    have an address on file."""
    seller, buyer, staff = mk.seller(), mk.buyer(), mk.staff()
    _with_address(mk, seller, SELLER_HOME)
    _with_address(mk, buyer, BUYER_HOME)
    return mk.paid_order(seller, buyer, variant), seller, buyer, staff


def test_the_seller_prints_their_own_label_to_the_centre(
    mk: Market, sale: tuple[int, int, int, int]
) -> None:
    order_id, seller, buyer, staff = sale
    label = _label(mk, seller, order_id, "seller")
    assert label.code == labels.order_code(order_id)
    assert label.recipient == labels.centre_address()
    assert label.sender is not None and label.sender.lines()[:2] == ["Sam Seller", "12 Ship St"]
    ship_by = mk.order(order_id).ship_by
    assert label.date_label == "Ship by" and ship_by is not None
    assert label.size == "US M 10 / EU 44"  # as on the box (a Nike men's 10), with EU
    assert label.date == orders.aware(ship_by)
    # Not the buyer, not another member, not staff; the same answer for an unknown order.
    stranger = mk.buyer()
    for someone in (buyer, stranger, staff):
        assert _refused(mk, someone, order_id, "seller") == "Order not found."
    for bad in (0, -1, True, "1", None, 10**12):
        assert _refused(mk, seller, bad, "seller") == "Order not found."
    assert _refused(mk, seller, order_id, "postcard") == "Label not found."
    # Staff labels are for staff, on an order ready for them.
    assert "staff only" in _refused(mk, seller, order_id, "buyer")
    assert "no label" in _refused(mk, staff, order_id, "buyer")


def test_the_snapshot_taken_at_the_match_wins_over_a_later_edit(
    mk: Market, sale: tuple[int, int, int, int]
) -> None:
    order_id, seller, buyer, staff = sale
    snapshot = {
        "full_name": "Bea Buyer",
        "line1": "1 Snapshot Rd",
        "line2": "",
        "city": "Dallas",
        "region": "TX",
        "postal_code": "75201",
        "country": "US",
    }
    with session_scope(mk.db) as s:
        order = s.get(Order, order_id)
        assert order is not None
        order.buyer_address = json.dumps(snapshot)
        home = addresses.default_address(session=s, user_id=buyer)
        assert home is not None and home.id is not None
        addresses.update_address(
            session=s,
            user_id=buyer,
            address_id=home.id,
            data=addresses.AddressInput(
                full_name="Bea Buyer",
                line1="99 Moved St",
                city="Reno",
                region="NV",
                postal_code="89501",
            ),
        )
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    label = _label(mk, staff, order_id, "buyer")
    assert label.sender == labels.centre_address()
    assert label.recipient.lines() == ["Bea Buyer", "1 Snapshot Rd", "Dallas, TX 75201", "US"]
    with session_scope(mk.db) as s:
        facts = verification_views.order_facts(session=s, staff_id=staff, order_id=order_id)
    assert facts.buyer_address == tuple(label.recipient.lines())
    # The seller's label is no longer theirs to print once the pair is at the centre.
    assert "no label" in _refused(mk, seller, order_id, "seller")


@pytest.fixture
def client(mk: Market, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(db, "get_db_engine", lambda: mk.db)
    with TestClient(api.api_app) as test_client:
        yield test_client


def _link(mk: Market, token: str, order_id: int, kind: str) -> str:
    with session_scope(mk.db) as s:
        return labels.label_link(session=s, token=token, order_id=order_id, kind=kind)


def test_the_label_route_serves_the_login_it_was_made_for_and_404s_everyone_else(
    mk: Market, sale: tuple[int, int, int, int], client: TestClient
) -> None:
    order_id, seller, buyer, _staff = sale
    token = _log_in(mk, seller)
    link = _link(mk, token, order_id, "seller")
    assert token not in link
    answer = client.get(link)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.content.startswith(b"%PDF-")
    with session_scope(mk.db) as s:
        panel = labels.seller_shipping(session=s, token=token, order_id=order_id)
        assert panel is not None and panel.ship_to == tuple(labels.centre_address().lines())
        assert panel.code == labels.order_code(order_id) and panel.return_tracking == ""
        buyer_token = _log_in(mk, buyer)
        assert labels.seller_shipping(session=s, token=buyer_token, order_id=order_id) is None
    # Another member cannot get a link, and cannot reuse or bend the seller's.
    with pytest.raises(orders.OrderError, match="Order not found"):
        _link(mk, _log_in(mk, buyer), order_id, "seller")
    path, query = link.split("?")
    tampered = [
        link.replace(f"/{order_id}/", f"/{order_id + 1}/"),
        link.replace("/seller.pdf", "/buyer.pdf"),
        link.replace("&e=", "&e=9"),
        link[:-2] + ("AA" if not link.endswith("AA") else "BB"),
        path,
        f"{path}?{query.split('&sig=')[0]}",
    ]
    for url in tampered:
        assert client.get(url).status_code == 404, url
    # Logging out ends the link with the login.
    with session_scope(mk.db) as s:
        accounts.log_out(session=s, token=token)
    assert client.get(link).status_code == 404


def test_the_dashboard_links_the_labels_of_the_sellers_own_sales_only(
    mk: Market, variant: int, sale: tuple[int, int, int, int], client: TestClient
) -> None:
    order_id, seller, buyer, _staff = sale
    other_seller = mk.seller()
    _with_address(mk, other_seller, SELLER_HOME)
    others = mk.paid_order(other_seller, mk.buyer(), variant)
    token = _log_in(mk, seller)
    with session_scope(mk.db) as s:
        links = labels.seller_label_links(
            session=s, token=token, order_ids=[order_id, others, 10**9]
        )
    assert list(links) == [order_id]
    assert client.get(links[order_id]).content.startswith(b"%PDF-")
    with session_scope(mk.db) as s:
        assert (
            labels.seller_label_links(session=s, token=_log_in(mk, buyer), order_ids=[order_id])
            == {}
        )
        accounts.log_out(session=s, token=token)
        assert labels.seller_label_links(session=s, token=token, order_ids=[order_id]) == {}


def test_staff_print_the_buyer_label_after_their_second_factor(
    mk: Market, sale: tuple[int, int, int, int], client: TestClient
) -> None:
    order_id, seller, _buyer, staff = sale
    mk.to_authenticating(order_id, seller, staff)
    mk.step(vf.decide, staff_id=staff, order_id=order_id, checklist=ALL_OK, passed=True)
    with pytest.raises(orders.OrderError, match="second factor"):
        _link(mk, _log_in(mk, staff), order_id, "buyer")
    link = _link(mk, _log_in(mk, staff, second_factor=True), order_id, "buyer")
    answer = client.get(link)
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    assert b"Bea Buyer" in answer.content or answer.headers["content-type"] == "application/pdf"
    # Once shipped and delivered there is no label to print: the same link answers 404.
    mk.step(vf.ship_to_buyer, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456785")
    assert client.get(link).status_code == 200  # a reprint while the parcel travels
    mk.step(vf.mark_delivered, staff_id=staff, order_id=order_id)
    assert client.get(link).status_code == 404


def test_the_console_finds_an_order_by_its_scanned_code(
    mk: Market, sale: tuple[int, int, int, int]
) -> None:
    order_id, seller, _buyer, staff = sale
    with session_scope(mk.db) as s:
        for typed in (
            labels.order_code(order_id),
            f"#{order_id}",
            str(order_id),
            " snk-0" + str(order_id),
        ):
            assert verification_views.find_order(session=s, staff_id=staff, text=typed) == order_id
        assert (
            verification_views.find_order(session=s, staff_id=staff, text="SNK-999999999") is None
        )
        assert verification_views.find_order(session=s, staff_id=staff, text="Jordan") is None
        assert verification_views.find_order(session=s, staff_id=staff, text="9" * 12) is None
    with pytest.raises(orders.OrderError, match="staff only"), session_scope(mk.db) as s:
        verification_views.find_order(session=s, staff_id=seller, text=str(order_id))


def _fail(mk: Market, order_id: int, staff: int) -> None:
    mk.step(
        vf.decide,
        staff_id=staff,
        order_id=order_id,
        checklist=BAD_STITCHING,
        passed=False,
        reason="Stitching does not match retail pairs",
    )


def _failed_for_good(mk: Market, order_id: int, seller: int, staff: int) -> datetime:
    """Failed, not appealed, the appeal window over: returns the moment it became final."""
    mk.to_authenticating(order_id, seller, staff)
    _fail(mk, order_id, staff)
    deadline = mk.order(order_id).appeal_deadline
    assert deadline is not None
    later = deadline + timedelta(seconds=1)
    result = mk.step(saga.finalize_failure, order_id=order_id, client=mk.stripe, now=later)
    assert result.status == "returning_to_seller"
    return later


def _refunds(mk: Market, order_id: int) -> list[tuple[str, int]]:
    with mk.session() as s:
        rows = s.exec(
            select(Payment).where(Payment.order_id == order_id, Payment.kind == "refund")
        ).all()
        return [(r.status, r.amount_cents) for r in rows]


def test_a_failed_pair_is_shipped_back_with_its_own_tracking_and_the_seller_told(
    mk: Market, sale: tuple[int, int, int, int]
) -> None:
    order_id, seller, _buyer, staff = sale
    final = _failed_for_good(mk, order_id, seller, staff)
    total = mk.order(order_id).buyer_total_cents
    assert _refunds(mk, order_id) == [("succeeded", total)]
    mk.books_balance()
    with session_scope(mk.db) as s:
        waiting = verification_views.queue_items(session=s, staff_id=staff, name="to_return")
        assert order_id in [i.order_id for i in waiting]
        assert verification_views.queue_items(session=s, staff_id=staff, name="to_ship") == []
    label = _label(mk, staff, order_id, "return")
    assert label.sender == labels.centre_address()
    assert label.recipient.lines()[:2] == ["Sam Seller", "12 Ship St"]

    # Only staff, and not the seller themself, and not with a malformed number.
    with pytest.raises(orders.OrderError, match="staff only"), session_scope(mk.db) as s:
        vf.ship_back_to_seller(
            session=s, staff_id=seller, order_id=order_id, tracking="1Z999AA10123456790"
        )
    for typed in REFUSED[4:9]:
        with pytest.raises(orders.OrderError, match="8 to 40 letters"), session_scope(mk.db) as s:
            vf.ship_back_to_seller(session=s, staff_id=staff, order_id=order_id, tracking=typed)
    assert mk.order(order_id).status == "returning_to_seller"
    assert mk.order(order_id).return_tracking is None

    result = mk.step(
        vf.ship_back_to_seller,
        staff_id=staff,
        order_id=order_id,
        tracking=" 1z999aa10123456790 ",
        now=final + timedelta(hours=1),
    )
    assert result.changed and result.status == "returned_to_seller"
    again = mk.step(
        vf.ship_back_to_seller, staff_id=staff, order_id=order_id, tracking="1Z999AA10123456790"
    )
    assert not again.changed
    order = mk.order(order_id)
    assert order.return_tracking == "1Z999AA10123456790"
    assert order.outbound_tracking is None
    assert mk.statuses(order_id)[-4:] == [
        "authenticating",
        "auth_failed",
        "returning_to_seller",
        "returned_to_seller",
    ]
    assert _refunds(mk, order_id) == [("succeeded", total)]  # refunded once, at the failure
    with mk.session() as s:
        told = s.exec(
            select(Notification).where(
                Notification.user_id == seller, Notification.kind == "item_returned"
            )
        ).all()
    assert len(told) == 1 and "1Z999AA10123456790" in told[0].body
    with session_scope(mk.db) as s:
        panel = labels.seller_shipping(session=s, token=_log_in(mk, seller), order_id=order_id)
    assert panel is not None and panel.return_tracking == "1Z999AA10123456790"
    assert panel.label_link == "" and panel.ship_to == ()
    assert mk.send_emails() >= 1
    assert any(b"1Z999AA10123456790" in m.data for m in mk.smtp.messages)
    mk.books_balance()


def test_only_a_pair_failed_for_good_is_shipped_back(
    mk: Market, sale: tuple[int, int, int, int]
) -> None:
    order_id, seller, _buyer, staff = sale
    mk.to_authenticating(order_id, seller, staff)
    _fail(mk, order_id, staff)
    # Still in the appeal window: the pair stays at the centre, and no status skips the return.
    with pytest.raises(orders.OrderError, match="failed authentication for good"):
        mk.step(
            vf.ship_back_to_seller,
            staff_id=staff,
            order_id=order_id,
            tracking="1Z999AA10123456791",
        )
    assert vocabulary.OrderStatus.RETURNED_TO_SELLER not in orders.TRANSITIONS["auth_failed"]
    with pytest.raises(orders.IllegalTransition), session_scope(mk.db) as s:
        order = s.get(Order, order_id)
        assert order is not None
        orders.transition(session=s, order=order, to_status="returned_to_seller")
    assert mk.order(order_id).status == "auth_failed"
    assert _refunds(mk, order_id) == []


def test_the_tab_of_a_label_has_the_logo(client: TestClient) -> None:
    """A label opens in its own tab on the backend; the browser asks that host for
    /favicon.ico, which must not be a 404 (an error in the console of every label tab)."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.content.startswith(b"<svg")
