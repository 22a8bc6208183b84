"""Accounts against real SQLite and PostgreSQL databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from sneakers_app.db import session_scope
from sneakers_app.models import User, UserSession, utcnow
from sneakers_app.services import accounts, orders
from sneakers_app.settings import get_settings

PASSWORD = "correct horse battery"


def make_user(session: Session, email: str = "ada@example.com") -> accounts.AuthenticatedUser:
    user = accounts.sign_up(session=session, email=email, display_name="Ada", password=PASSWORD)
    session.commit()
    return user


def test_sign_up_stores_hash_not_password(session: Session) -> None:
    user = make_user(session, "Ada@Example.COM")
    row = session.exec(select(User).where(User.id == user.id)).one()
    assert row.email == "ada@example.com"
    assert PASSWORD not in row.password_hash
    assert row.password_hash.startswith("$argon2id$")
    assert not row.is_staff


@pytest.mark.parametrize(
    ("email", "name", "password", "field"),
    [
        ("not-an-email", "Ada", PASSWORD, "email"),
        ("", "Ada", PASSWORD, "email"),
        ("a" * 250 + "@x.com", "Ada", PASSWORD, "email"),
        ("ada@example.com", "Ada", "short", "password"),
        ("ada@example.com", "A", PASSWORD, "display_name"),
        ("ada@example.com", "x" * 61, PASSWORD, "display_name"),
        ("ada@example.com", "\x00\x01", PASSWORD, "display_name"),
    ],
)
def test_sign_up_refuses_bad_input_and_writes_nothing(
    session: Session, email: str, name: str, password: str, field: str
) -> None:
    with pytest.raises(accounts.AccountError) as info:
        accounts.sign_up(session=session, email=email, display_name=name, password=password)
    assert info.value.field == field
    assert info.value.message
    session.rollback()
    assert session.exec(select(User)).all() == []


def test_taken_email_is_refused_case_insensitively(session: Session) -> None:
    make_user(session)
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.sign_up(
            session=session, email="ADA@example.com", display_name="Other", password=PASSWORD
        )
    session.rollback()
    assert len(session.exec(select(User)).all()) == 1


def test_log_in_opens_a_session_that_resolves_and_logs_out(session: Session) -> None:
    user = make_user(session)
    result = accounts.log_in(session=session, email="ada@example.com", password=PASSWORD)
    session.commit()
    assert result.user.id == user.id
    found = accounts.user_for_token(session=session, token=result.token)
    assert found is not None and found.id == user.id
    stored = session.exec(select(UserSession)).one()
    assert stored.token_hash != result.token
    accounts.log_out(session=session, token=result.token)
    session.commit()
    assert accounts.user_for_token(session=session, token=result.token) is None


def test_session_expires(session: Session) -> None:
    make_user(session)
    result = accounts.log_in(session=session, email="ada@example.com", password=PASSWORD)
    session.commit()
    later = result.expires_at + timedelta(seconds=1)
    assert accounts.user_for_token(session=session, token=result.token, now=later) is None
    assert accounts.user_for_token(session=session, token="forged-token") is None
    assert accounts.user_for_token(session=session, token="") is None


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com", "not an email"])
def test_wrong_credentials_get_one_message(session: Session, email: str) -> None:
    make_user(session)
    with pytest.raises(accounts.AccountError) as info:
        accounts.log_in(session=session, email=email, password="wrong password!")
    assert info.value.message == "Wrong email or password."


def _log_in_as_the_handler_does(engine: Engine, password: str, now: datetime) -> str:
    """state/auth.py's path: one `session_scope()` around `accounts.log_in`, the refusal caught
    outside it (so the scope has rolled back by then)."""
    try:
        with session_scope(engine) as scoped:
            accounts.log_in(session=scoped, email="ada@example.com", password=password, now=now)
    except accounts.AccountError as error:
        return error.message
    return "logged in"


def test_failed_logins_lock_the_email_through_the_handlers_scope(
    engine: Engine, session: Session
) -> None:
    make_user(session)
    start = utcnow()
    answers = [
        _log_in_as_the_handler_does(engine, "nope nope nope", start + timedelta(seconds=i))
        for i in range(8)
    ]
    assert answers[:5] == ["Wrong email or password."] * 5
    assert all(a.startswith("Too many failed attempts") for a in answers[5:])
    # Even the right password is refused while locked, and no session is opened.
    refused = _log_in_as_the_handler_does(engine, PASSWORD, start + timedelta(seconds=10))
    assert refused.startswith("Too many failed attempts")
    session.expire_all()
    assert session.exec(select(UserSession)).all() == []
    # After the window the right password works again.
    assert _log_in_as_the_handler_does(engine, PASSWORD, start + timedelta(minutes=16)) == (
        "logged in"
    )


def test_staff_gate(session: Session) -> None:
    """The gate every staff service runs first (`orders.require_staff`, a database re-check)."""
    member = make_user(session)
    with pytest.raises(orders.OrderError, match="staff only"):
        orders.require_staff(session, member.id)
    with pytest.raises(orders.OrderError):
        orders.require_staff(session, 10**9)
    staff = accounts.create_staff(
        session=session, email="ada@example.com", display_name="Ada", password=PASSWORD
    )
    assert orders.require_staff(session, staff.id).is_staff


def test_purge_expired_sessions(session: Session) -> None:
    make_user(session)
    result = accounts.log_in(session=session, email="ada@example.com", password=PASSWORD)
    session.commit()
    assert accounts.purge_expired_sessions(session=session) == 0
    removed = accounts.purge_expired_sessions(
        session=session, now=result.expires_at + timedelta(minutes=1)
    )
    session.commit()
    assert removed == 1
    assert session.exec(select(UserSession)).all() == []


@pytest.mark.parametrize(("window", "wait"), [("60", "1 minute."), ("90", "2 minutes.")])
def test_the_lockout_says_how_long_in_words(
    engine: Engine,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    window: str,
    wait: str,
) -> None:
    """A one-minute window reads "1 minute", not "1 minutes"; part of a minute counts as one."""
    monkeypatch.setenv("LOGIN_WINDOW_SECONDS", window)
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)
    make_user(session)
    start = utcnow()
    answers = [
        _log_in_as_the_handler_does(engine, "nope nope nope", start + timedelta(seconds=i / 10))
        for i in range(6)
    ]
    assert answers[-1] == f"Too many failed attempts. Try again in {wait}"
