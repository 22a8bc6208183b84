"""API keys: made once, stored hashed, scoped, revoked, limited per member."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from sneakers_app.models import ApiKey, utcnow
from sneakers_app.services import api_keys
from sneakers_app.settings import get_settings
from tests.support import factories


def test_a_new_key_works_once_shown_and_is_stored_only_hashed(session: Session) -> None:
    user = factories.user(session)
    made = api_keys.create(
        session=session, user_id=user, name="  listing   script ", scopes=["trade"]
    )
    assert made.key.name == "listing script"
    assert made.key.scopes == ("read", "trade")
    assert made.secret.startswith(made.key.prefix + "_")
    row = session.exec(select(ApiKey).where(ApiKey.id == made.key.id)).one()
    assert made.secret not in (row.secret_hash, row.prefix)
    caller = api_keys.authenticate(session=session, presented=made.secret)
    assert caller is not None and caller.user_id == user
    assert caller.may("read") and caller.may("trade")
    assert [k.id for k in api_keys.list_keys(session=session, user_id=user)] == [made.key.id]


def test_a_read_key_may_not_trade(session: Session) -> None:
    user = factories.user(session)
    made = api_keys.create(session=session, user_id=user, name="prices", scopes=["read"])
    caller = api_keys.authenticate(session=session, presented=made.secret)
    assert caller is not None and caller.may("read") and not caller.may("trade")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),
        lambda s: s + "x",
        lambda s: "",
        lambda s: s.upper(),
    ],
)
def test_a_wrong_or_malformed_key_is_nobody(session: Session, mangle: object) -> None:
    user = factories.user(session)
    made = api_keys.create(session=session, user_id=user, name="k", scopes=["read"])
    assert callable(mangle)
    assert api_keys.authenticate(session=session, presented=mangle(made.secret)) is None


def test_revoking_is_for_the_owner_only_and_stops_the_key(session: Session) -> None:
    owner, other = factories.user(session), factories.user(session)
    made = api_keys.create(session=session, user_id=owner, name="k", scopes=["trade"])
    assert not api_keys.revoke(session=session, user_id=other, key_id=made.key.id)
    assert api_keys.authenticate(session=session, presented=made.secret) is not None
    for bad in (None, "1", True, -1, 10**12):
        assert not api_keys.revoke(session=session, user_id=owner, key_id=bad)
    assert api_keys.revoke(session=session, user_id=owner, key_id=made.key.id)
    assert api_keys.authenticate(session=session, presented=made.secret) is None
    assert api_keys.list_keys(session=session, user_id=owner) == []
    assert not api_keys.revoke(session=session, user_id=owner, key_id=made.key.id)


@pytest.mark.parametrize(
    ("name", "scopes"),
    [
        ("", ["read"]),
        ("x" * 61, ["read"]),
        ("bad\x00name", ["read"]),
        ("k", []),
        ("k", ["admin"]),
        ("k", "root"),
    ],
)
def test_bad_names_and_scopes_are_refused_and_make_nothing(
    session: Session, name: str, scopes: object
) -> None:
    user = factories.user(session)
    with pytest.raises(api_keys.ApiKeyError):
        api_keys.create(session=session, user_id=user, name=name, scopes=scopes)
    assert api_keys.list_keys(session=session, user_id=user) == []


def test_a_member_holds_a_limited_number_of_keys(session: Session) -> None:
    user = factories.user(session)
    limit = get_settings().API_KEYS_PER_USER
    made = [
        api_keys.create(session=session, user_id=user, name=f"k{i}", scopes=["read"])
        for i in range(limit)
    ]
    with pytest.raises(api_keys.ApiKeyError, match="revoke one"):
        api_keys.create(session=session, user_id=user, name="one more", scopes=["read"])
    api_keys.revoke(session=session, user_id=user, key_id=made[0].key.id)
    api_keys.create(session=session, user_id=user, name="one more", scopes=["read"])


def test_last_used_is_written_at_most_once_a_minute(session: Session) -> None:
    user = factories.user(session)
    made = api_keys.create(session=session, user_id=user, name="k", scopes=["read"])
    start = utcnow()
    api_keys.authenticate(session=session, presented=made.secret, now=start)
    api_keys.authenticate(session=session, presented=made.secret, now=start + timedelta(seconds=30))
    [view] = api_keys.list_keys(session=session, user_id=user)
    assert view.last_used_at == start
    later = start + timedelta(minutes=2)
    api_keys.authenticate(session=session, presented=made.secret, now=later)
    [view] = api_keys.list_keys(session=session, user_id=user)
    assert view.last_used_at == later
