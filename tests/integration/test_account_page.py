"""The account page's read side on SQLite and PostgreSQL: address rows, one address's form
values (only the owner's), and the saved card."""

from __future__ import annotations

from sqlmodel import Session

from sneakers_app.models import User
from sneakers_app.services import account_page, addresses
from sneakers_app.services.addresses import AddressInput
from tests.support import factories


def test_address_rows_show_the_default_first_with_one_city_line(session: Session) -> None:
    user = factories.user(session)
    home = addresses.add_address(
        session=session,
        user_id=user,
        data=AddressInput(
            full_name="Ada Lovelace",
            line1="12 Market Street",
            city="New York",
            region="ny",
            postal_code="10001",
        ),
    )
    away = addresses.add_address(
        session=session,
        user_id=user,
        data=AddressInput(
            full_name="Ada Lovelace",
            line1="1 High Street",
            city="London",
            postal_code="sw1a 1aa",
            country="gb",
        ),
    )
    session.commit()
    rows = account_page.address_rows(session=session, user_id=user)
    assert [(r.id, r.is_default) for r in rows] == [(home.id, True), (away.id, False)]
    assert rows[0].city_line == "New York, NY 10001"
    assert (rows[1].city_line, rows[1].country) == ("London SW1A 1AA", "GB")


def test_address_form_is_the_owners_only(session: Session) -> None:
    owner, other = factories.user(session), factories.user(session)
    address = addresses.add_address(
        session=session,
        user_id=owner,
        data=AddressInput(
            full_name="Ada Lovelace",
            line1="12 Market Street",
            city="New York",
            region="NY",
            postal_code="10001",
        ),
    )
    session.commit()
    assert address.id is not None
    form = account_page.address_form(session=session, user_id=owner, address_id=address.id)
    assert form == {
        "full_name": "Ada Lovelace",
        "line1": "12 Market Street",
        "line2": "",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
    }
    assert account_page.address_form(session=session, user_id=other, address_id=address.id) is None
    assert account_page.address_form(session=session, user_id=owner, address_id=10**9) is None


def test_saved_card_needs_a_customer_and_a_default_card(session: Session) -> None:
    user_id = factories.user(session)
    assert account_page.saved_card(session=session, user_id=user_id) is None
    user = session.get(User, user_id)
    assert user is not None
    user.stripe_customer_id, user.default_payment_method_id = "cus_1", "pm_1"
    user.card_last4 = "4242"
    session.add(user)
    session.commit()
    card = account_page.saved_card(session=session, user_id=user_id)
    assert card is not None and (card.brand, card.last4) == ("card", "4242")
    assert account_page.saved_card(session=session, user_id=10**9) is None
