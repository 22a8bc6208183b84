"""The order's address snapshot: one JSON encoding, read back the same, printed as lines."""

from __future__ import annotations

from sneakers_app.models import Address
from sneakers_app.services.addresses import AddressSnapshot, snapshot_json


def test_snapshot_round_trips_and_prints_lines() -> None:
    address = Address(
        user_id=1,
        full_name="Ada Lovelace",
        line1="12 Market Street",
        line2="Apt 4",
        city="New York",
        region="NY",
        postal_code="10001",
        country="US",
    )
    text = snapshot_json(address)
    snap = AddressSnapshot.from_json(text)
    assert snap == AddressSnapshot.of(address)
    assert snap is not None
    assert snap.lines() == [
        "Ada Lovelace",
        "12 Market Street",
        "Apt 4",
        "New York, NY 10001",
        "US",
    ]
    # A later change of the row does not reach the stored text.
    address.line1 = "1 Elsewhere"
    assert AddressSnapshot.from_json(text) == snap


def test_missing_or_unreadable_snapshot_is_none() -> None:
    assert snapshot_json(None) == ""
    assert AddressSnapshot.from_json("") is None
    assert AddressSnapshot.from_json("not json") is None
    assert AddressSnapshot.from_json("[1, 2]") is None
    partial = AddressSnapshot.from_json('{"full_name": "Bo", "city": 5}')
    assert partial == AddressSnapshot(full_name="Bo")
    assert partial.lines() == ["Bo"]
