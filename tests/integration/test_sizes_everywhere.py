"""Every size a member reads is in their own size system: their orders (list and page), their
portfolio and purchases, their seller dashboard's sales, asks and payouts. Staff handle the pair
itself, so the console shows the size as on the box with every conversion. On SQLite and
PostgreSQL; the last test drives the pages' own handlers (Reflex's event processing) for a
member who reads EU sizes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pyotp
import pytest
from sqlmodel import Session

from sneakers_app import db, redis_client
from sneakers_app.models import ProductVariant
from sneakers_app.services import (
    accounts,
    market,
    order_views,
    payments,
    portfolio,
    sizes,
    verification_views,
)
from sneakers_app.services import seller_dashboard as dash
from state.orders import OrdersState
from state.portfolio import PortfolioState
from state.selling import SellerState
from tests.integration.test_seller_dashboard import _order
from tests.integration.test_tab_privacy import _log_in, open_console
from tests.support import factories
from tests.support.reflex_events import Tab

NIKE_10_LINE = "US M 10 \u00b7 US W 11.5 \u00b7 UK 9 \u00b7 EU 44 \u00b7 28 cm"
IBAN = "GB33BUKB20201555555555"


def _own(session: Session, user: int, variant_id: int) -> None:
    """The member adds a pair of this variant to their portfolio (typing its stored size)."""
    variant = session.get(ProductVariant, variant_id)
    assert variant is not None
    when = date(2024, 5, 1)
    portfolio.add_item(
        session=session,
        user_id=user,
        product_id=variant.product_id,
        size=variant.size,
        purchase_price_cents=20_000,
        purchased_on=when,
    )


def test_each_member_reads_their_orders_in_their_own_size_system(session: Session) -> None:
    seller, buyer = factories.user(session, "Seller"), factories.user(session, "Buyer")
    nike = factories.variant(session, "10")  # Nike men's 10: EU 44
    order = _order(session, buyer=buyer, seller=seller, to="awaiting_shipment", variant_id=nike)
    assert order.id is not None
    session.commit()

    def listed(user: int, role: order_views.Role, system: str) -> str:
        (row,) = order_views.list_orders(
            session=session, user_id=user, role=role, size_system=system
        )
        return row.product.size_label

    def page(user: int, system: str) -> str:
        detail = order_views.order_detail(
            session=session, user_id=user, order_id=order.id, size_system=system
        )
        return detail.row.product.size_label

    assert listed(buyer, "buying", "eu") == page(buyer, "eu") == "EU 44"
    assert listed(seller, "selling", "uk") == page(seller, "uk") == "UK 9"
    assert listed(buyer, "buying", "cm") == "28 cm"
    # Unchanged for a member who never picked a system: US men's, and the size as stored.
    (row,) = order_views.list_orders(session=session, user_id=buyer, role="buying")
    assert (row.product.size_label, row.product.size) == ("US M 10", "10")

    # The seller dashboard: the sale to ship, and (after it completes) its payout.
    (sale,) = dash.pending_sales(session=session, seller_id=seller, size_system="eu")
    assert sale.product.size_label == "EU 44"
    one = dash.sale(session=session, seller_id=seller, order_id=order.id, size_system="us_w")
    assert one is not None and one.product.size_label == "US W 11.5"


def test_sizes_convert_on_their_own_products_chart(session: Session) -> None:
    """adidas's men's 10.5 is EU 44⅔, Nike's women's 8 is EU 39: a member's portfolio reads each
    pair on its own brand's and chart's conversion."""
    member = factories.user(session, "Collector")
    adidas = factories.variant(session, "10.5", brand="adidas")
    women = factories.variant(session, "8W", chart="women")
    kids = factories.variant(session, "7Y", chart="gs")
    for variant_id in (adidas, women, kids):
        _own(session, member, variant_id)
    session.commit()

    def held(system: str) -> dict[int, str]:
        return {
            h.product.variant_id: h.product.size_label
            for h in portfolio.holdings(session=session, user_id=member, size_system=system)
        }

    assert held("eu") == {adidas: "EU 44\u2154", women: "EU 39", kids: "EU 40"}
    assert held("us_m") == {adidas: "US M 10.5", women: "US M 6.5", kids: "GS 7Y"}
    assert held("us_w") == {adidas: "US W 11.5", women: "US W 8", kids: "US W 8.5"}


def test_staff_read_the_size_as_on_the_box_with_every_conversion(session: Session) -> None:
    seller, buyer = factories.user(session, "Seller"), factories.user(session, "Buyer")
    staff = factories.user(session, "Inspector", staff=True)
    women = factories.variant(session, "8W", chart="women")
    order = _order(
        session, buyer=buyer, seller=seller, to="shipped_to_verification", variant_id=women
    )
    session.commit()
    (item,) = [
        i
        for i in verification_views.queue_items(session=session, staff_id=staff, name="to_receive")
        if i.order_id == order.id
    ]
    assert (item.pair.size, item.pair.size_label) == ("8W", "US W 8")
    assert item.pair.size_line == "US M 6.5 \u00b7 US W 8 \u00b7 UK 5.5 \u00b7 EU 39 \u00b7 25 cm"
    facts = verification_views.order_facts(session=session, staff_id=staff, order_id=order.id)
    assert facts.item.pair.size_label == "US W 8"
    assert facts.item.pair.size_line == item.pair.size_line


@pytest.mark.usefixtures("app_db")
def test_an_eu_member_sees_eu_44_on_every_page_and_staff_see_the_box() -> None:
    with db.session_scope() as s:
        seller, buyer = factories.user(s, "Seller"), factories.user(s, "Buyer")
        staff = factories.user(s, "Staff", staff=True)
        secret = pyotp.random_base32()
        accounts.enable_totp(session=s, user_id=staff, secret=secret)
        for member in (seller, buyer):
            assert sizes.set_size_system(session=s, user_id=member, system="eu") == ""
        payments.save_payout_account(
            session=s, user_id=seller, kind="manual", account_ref=IBAN, holder_name="Sam Seller"
        )
        nike = factories.variant(s, "10")
        order = _order(s, buyer=buyer, seller=seller, to="shipped_to_verification", variant_id=nike)
        order_id = order.id or 0
        _own(s, buyer, nike)
    with db.session_scope() as s:
        market.place(
            session=s,
            engine=redis_client.get_matching_engine(),
            user_id=seller,
            side="ask",
            variant_id=nike,
            price_cents=30_000,
            client_key=uuid.uuid4().hex,
        )

    async def scenario() -> None:
        tab = Tab()
        await _log_in(tab, buyer)
        await tab.send(OrdersState, "on_load")
        assert [(r.id, r.size) for r in (await tab.state(OrdersState)).buying] == [
            (order_id, "EU 44")
        ]
        await tab.send(PortfolioState, "on_load")
        pairs = await tab.state(PortfolioState)
        assert [h.size for h in pairs.holdings] == ["EU 44"]
        assert [r.size for r in pairs.history] == ["EU 44"]

        tab = Tab()
        await _log_in(tab, seller)
        await tab.send(SellerState, "on_load")
        dashboard = await tab.state(SellerState)
        assert [s.size for s in dashboard.pending] == ["EU 44"]
        assert [a.size for a in dashboard.own_listings] == ["EU 44"]
        await tab.send(SellerState, "open_edit_listing", listing_id=dashboard.own_listings[0].id)
        assert dashboard.edit_listing_name.endswith("\u00b7 EU 44")

        # Staff read the size as on the box, whatever their own system.
        console = await open_console(Tab(), staff, secret, order_id)
        assert (console.d_size, console.d_size_line) == ("US M 10", NIKE_10_LINE)

    asyncio.run(scenario())
