"""Address input: every field's error at once, and countries from ISO 3166 (pycountry)."""

from __future__ import annotations

import dataclasses

import pytest

from sneakers_app.services.addresses import (
    AddressError,
    AddressInput,
    country_choices,
    country_name,
)

LONDON = AddressInput(
    full_name="Ada Lovelace",
    line1="12 Market Street",
    city="London",
    postal_code="sw1a 1aa",
    country="gb",
)


def typed(**overrides: str) -> AddressInput:
    return dataclasses.replace(LONDON, **overrides)


def test_an_empty_form_is_refused_with_every_fields_message_at_once() -> None:
    empty = AddressInput(full_name="", line1="", city="", postal_code="", country="US")
    with pytest.raises(AddressError) as refused:
        empty.clean()
    assert refused.value.errors == {
        "full_name": "Enter the full name.",
        "line1": "Enter the street address.",
        "city": "Enter the city.",
        "region": "Use the two-letter state code, like NY.",
        "postal_code": "Enter the postal code.",
    }
    # The first one (in the form's order) is still `field` / `message` for single-message callers.
    assert (refused.value.field, refused.value.message) == ("full_name", "Enter the full name.")


def test_each_wrong_field_keeps_its_own_message() -> None:
    with pytest.raises(AddressError) as refused:
        typed(line1="x", line2="Apt\x00", city="C" * 101, postal_code="SW1A!", country="ZZ").clean()
    errors = refused.value.errors
    assert list(errors) == ["line1", "line2", "city", "postal_code", "country"]
    assert "too short" in errors["line1"]
    assert "not allowed" in errors["line2"]
    assert "at most 100" in errors["city"]
    assert "letters and digits" in errors["postal_code"]
    assert errors["country"] == "Choose a country from the list."


@pytest.mark.parametrize("code", ["XX", "UK", "USA", "1X", "E", "ÜS", " ", "EU"])
def test_a_code_pycountry_does_not_know_is_refused(code: str) -> None:
    with pytest.raises(AddressError) as refused:
        typed(country=code).clean()
    assert list(refused.value.errors) == ["country"]


@pytest.mark.parametrize(("typed_code", "stored"), [("gb", "GB"), (" de ", "DE"), ("JP", "JP")])
def test_a_known_code_is_stored_upper_case(typed_code: str, stored: str) -> None:
    assert typed(country=typed_code, postal_code="100").clean().country == stored


def test_the_select_offers_every_country_by_name_and_submits_its_code() -> None:
    choices = country_choices()
    by_name = {name: code for code, name in choices}
    assert len(choices) == 249
    assert by_name["United Kingdom"] == "GB"
    assert by_name["United States"] == "US"
    assert by_name["South Korea"] == "KR"  # the name people use, not "Korea, Republic of"
    names = [name for _, name in choices]
    assert names.index("Åland Islands") == names.index("Albania") - 1  # accents sort as letters
    assert country_name("GB") == "United Kingdom"
    assert country_name("QQ") == "QQ"  # a code saved before the list: shown as it is


def test_us_rules_follow_the_country() -> None:
    with pytest.raises(AddressError) as refused:
        typed(country="US", postal_code="SW1A 1AA", region="").clean()
    assert set(refused.value.errors) == {"postal_code", "region"}
    clean = typed(country="us", postal_code="10001", region="ny").clean()
    assert (clean.country, clean.region) == ("US", "NY")


def test_a_refusal_for_no_field_keeps_its_message() -> None:
    error = AddressError("Address not found.")
    assert (error.field, error.message, error.errors) == ("", "Address not found.", {})
    one = AddressError("Enter the city.", "city")
    assert one.errors == {"city": "Enter the city."}
