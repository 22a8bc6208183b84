"""Shipping addresses on SQLite and PostgreSQL: validation, one default, ownership."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from sneakers_app.models import Address
from sneakers_app.services import addresses
from sneakers_app.services.addresses import AddressError, AddressInput
from tests.support import factories


def home(**overrides: str) -> AddressInput:
    values = {
        "full_name": "Ada Lovelace",
        "line1": "12 Market Street",
        "city": "New York",
        "region": "ny",
        "postal_code": "10001",
        "country": "us",
    }
    values.update(overrides)
    return AddressInput(**values)


def test_first_address_is_default_and_input_is_normalised(session: Session) -> None:
    user = factories.user(session)
    first = addresses.add_address(
        session=session, user_id=user, data=home(full_name="  Ada   Lovelace ")
    )
    session.commit()
    assert first.is_default
    assert (first.full_name, first.region, first.country) == ("Ada Lovelace", "NY", "US")
    second = addresses.add_address(
        session=session, user_id=user, data=home(line1="1 Other Road", postal_code="10002-1234")
    )
    session.commit()
    assert not second.is_default
    listed = addresses.list_addresses(session=session, user_id=user)
    assert [a.id for a in listed] == [first.id, second.id]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Enter the full name"),
        ({"line1": "x"}, "line1", "too short"),
        ({"city": "C" * 101}, "city", "at most 100"),
        ({"postal_code": "ABCDE"}, "postal_code", "5 digits"),
        ({"region": "New York"}, "region", "two-letter state"),
        ({"country": "USA"}, "country", "from the list"),
        ({"country": "1X"}, "country", "from the list"),
        ({"country": "XX"}, "country", "from the list"),
        ({"country": "UK"}, "country", "from the list"),
        ({"country": ""}, "country", "Choose the country"),
        ({"line2": "Apt 4\x00"}, "line2", "not allowed"),
        ({"postal_code": "SW1A 1AA!", "country": "GB"}, "postal_code", "letters and digits"),
    ],
)
def test_bad_input_is_refused_next_to_its_field(
    session: Session, overrides: dict[str, str], field: str, message: str
) -> None:
    user = factories.user(session)
    with pytest.raises(AddressError) as refused:
        addresses.add_address(session=session, user_id=user, data=home(**overrides))
    assert refused.value.field == field
    assert message in refused.value.message
    session.rollback()
    assert addresses.list_addresses(session=session, user_id=user) == []


def test_foreign_address_without_us_rules(session: Session) -> None:
    user = factories.user(session)
    saved = addresses.add_address(
        session=session,
        user_id=user,
        data=home(country="gb", postal_code="sw1a 1aa", region="", city="London"),
    )
    assert (saved.country, saved.postal_code, saved.region) == ("GB", "SW1A 1AA", "")


def test_set_default_keeps_exactly_one(session: Session) -> None:
    user = factories.user(session)
    a = addresses.add_address(session=session, user_id=user, data=home())
    b = addresses.add_address(session=session, user_id=user, data=home(line1="2 Second Ave"))
    c = addresses.add_address(
        session=session, user_id=user, data=home(line1="3 Third Ave"), make_default=True
    )
    session.commit()
    assert addresses.default_address(session=session, user_id=user) == c
    addresses.set_default(session=session, user_id=user, address_id=b.id or 0)
    session.commit()
    defaults = session.exec(
        select(Address).where(Address.user_id == user, Address.is_default == True)  # noqa: E712
    ).all()
    assert [d.id for d in defaults] == [b.id]
    assert a.id is not None


def test_update_and_delete_promote_a_new_default(session: Session) -> None:
    user = factories.user(session)
    a = addresses.add_address(session=session, user_id=user, data=home())
    b = addresses.add_address(session=session, user_id=user, data=home(line1="2 Second Ave"))
    session.commit()
    updated = addresses.update_address(
        session=session, user_id=user, address_id=b.id or 0, data=home(line1="9 Ninth Ave")
    )
    session.commit()
    assert updated.line1 == "9 Ninth Ave"
    with pytest.raises(AddressError):
        addresses.update_address(
            session=session, user_id=user, address_id=b.id or 0, data=home(postal_code="1")
        )
    session.rollback()
    assert session.get(Address, b.id).line1 == "9 Ninth Ave"  # type: ignore[union-attr]
    addresses.delete_address(session=session, user_id=user, address_id=a.id or 0)
    session.commit()
    remaining = addresses.list_addresses(session=session, user_id=user)
    assert [(r.id, r.is_default) for r in remaining] == [(b.id, True)]
    addresses.delete_address(session=session, user_id=user, address_id=b.id or 0)
    session.commit()
    assert addresses.list_addresses(session=session, user_id=user) == []


def test_someone_elses_address_is_not_found(session: Session) -> None:
    owner = factories.user(session, "Owner")
    other = factories.user(session, "Other")
    mine = addresses.add_address(session=session, user_id=owner, data=home())
    session.commit()
    for action in (
        lambda: addresses.set_default(session=session, user_id=other, address_id=mine.id or 0),
        lambda: addresses.delete_address(session=session, user_id=other, address_id=mine.id or 0),
        lambda: addresses.update_address(
            session=session, user_id=other, address_id=mine.id or 0, data=home(city="Boston")
        ),
        lambda: addresses.delete_address(session=session, user_id=owner, address_id=10**9),
    ):
        with pytest.raises(AddressError, match="Address not found"):
            action()
        session.rollback()
    kept = session.get(Address, mine.id)
    assert kept is not None and kept.city == "New York" and kept.user_id == owner


def test_at_most_ten_addresses(session: Session) -> None:
    user = factories.user(session)
    for n in range(addresses.MAX_ADDRESSES):
        addresses.add_address(session=session, user_id=user, data=home(line1=f"{n + 1} Main St"))
    with pytest.raises(AddressError, match="up to 10"):
        addresses.add_address(session=session, user_id=user, data=home(line1="11 Main St"))
    assert len(addresses.list_addresses(session=session, user_id=user)) == 10
