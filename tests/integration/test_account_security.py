"""Password change, log out everywhere, password reset and sign-up by emailed links, and the
staff second factor, through the same transaction scope the handlers use (`session_scope`), on
SQLite and PostgreSQL, with every email sent to a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sneakers_app import routes
from sneakers_app.db import session_scope
from sneakers_app.models import AccountToken, Notification, User, UserSession, utcnow
from sneakers_app.services import accounts, api_keys, notifications
from sneakers_app.services.email import SmtpMailer
from tests.support.smtp import SmtpServer, start_smtp

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
EMAIL = "ada@example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture
def mailer(smtp: SmtpServer) -> SmtpMailer:
    smtp.collector.clear()
    return SmtpMailer(smtp.url)


def scoped(engine: Engine, action: Any) -> Any:
    """Run `action(session)` as a handler does: one session_scope, the refusal caught outside
    it (so the scope has rolled back by then). Returns the result or the AccountError."""
    try:
        with session_scope(engine) as session:
            return action(session)
    except accounts.AccountError as error:
        return error


def make_user(engine: Engine, email: str = EMAIL, *, staff: bool = False) -> int:
    with session_scope(engine) as session:
        return accounts.sign_up(
            session=session, email=email, display_name="Ada", password=PASSWORD, is_staff=staff
        ).id


def log_in(engine: Engine, email: str = EMAIL, password: str = PASSWORD) -> Any:
    return scoped(engine, lambda s: accounts.log_in(session=s, email=email, password=password))


def who(engine: Engine, token: str) -> accounts.AuthenticatedUser | None:
    with session_scope(engine) as session:
        return accounts.user_for_token(session=session, token=token)


def send_notice(engine: Engine, notification_id: int | None, mailer: SmtpMailer) -> None:
    assert notification_id is not None
    with Session(engine) as session:
        assert notifications.deliver_email(
            session=session, notification_id=notification_id, mailer=mailer
        )


def send_link(engine: Engine, link_id: int | None, mailer: SmtpMailer) -> None:
    assert link_id is not None
    with Session(engine) as session:
        assert accounts.deliver_link_email(session=session, link_id=link_id, mailer=mailer)


def link_in(smtp: SmtpServer, route: str) -> str:
    """The token of the one link to `route` in the last email the SMTP server received."""
    body = smtp.messages[-1].message.get_body(("plain",))
    assert body is not None
    found = re.findall(re.escape(route) + r"\?token=([A-Za-z0-9_-]+)", body.get_content())
    assert len(found) == 1, body.get_content()
    return str(found[0])


# --- password change and log out everywhere ---------------------------------------------------


def test_password_change_needs_the_current_password_and_ends_other_sessions(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    user_id = make_user(engine)
    here, other = log_in(engine), log_in(engine)

    def change(current: str, new: str) -> Any:
        return scoped(
            engine,
            lambda s: accounts.change_password(
                session=s, token=here.token, current_password=current, new_password=new
            ),
        )

    wrong = change("not my password", NEW_PASSWORD)
    assert isinstance(wrong, accounts.AccountError) and wrong.field == "current_password"
    short = change(PASSWORD, "short")
    assert isinstance(short, accounts.AccountError) and short.field == "new_password"
    same = change(PASSWORD, PASSWORD)
    assert isinstance(same, accounts.AccountError) and "different" in same.message
    assert who(engine, other.token) is not None  # nothing changed so far
    assert isinstance(log_in(engine, password=PASSWORD), accounts.LoginResult)

    done = change(PASSWORD, NEW_PASSWORD)
    assert isinstance(done, accounts.PasswordChanged)
    assert done.sessions_ended == 2  # `other` and the extra log-in above
    assert who(engine, here.token) is not None
    assert who(engine, other.token) is None
    assert isinstance(log_in(engine, password=PASSWORD), accounts.AccountError)
    assert isinstance(log_in(engine, password=NEW_PASSWORD), accounts.LoginResult)

    send_notice(engine, done.email_notification_id, mailer)
    (received,) = smtp.wait_for(1)
    assert received.rcpt_tos == (EMAIL,)
    assert received.message["Subject"] == "Your password was changed"
    # A security notice cannot be switched off.
    with session_scope(engine) as session:
        kinds = {p.kind for p in notifications.preferences(session=session, user_id=user_id)}
        assert notifications.Kind.PASSWORD_CHANGED not in kinds
        with pytest.raises(notifications.NotificationError):
            notifications.set_preference(
                session=session,
                user_id=user_id,
                kind="password_changed",
                in_app=False,
                email=False,
            )


def test_wrong_current_passwords_count_towards_the_lockout(engine: Engine) -> None:
    make_user(engine)
    here = log_in(engine)
    for _ in range(5):
        scoped(
            engine,
            lambda s: accounts.change_password(
                session=s, token=here.token, current_password="guess guess", new_password="x" * 12
            ),
        )
    assert str(log_in(engine)).startswith("Too many failed attempts")


def test_a_revoked_session_cannot_change_the_password(engine: Engine) -> None:
    make_user(engine)
    here = log_in(engine)
    scoped(engine, lambda s: accounts.log_out(session=s, token=here.token))
    refused = scoped(
        engine,
        lambda s: accounts.change_password(
            session=s, token=here.token, current_password=PASSWORD, new_password=NEW_PASSWORD
        ),
    )
    assert isinstance(refused, accounts.AccountError)
    assert isinstance(log_in(engine), accounts.LoginResult)


def test_log_out_everywhere_ends_every_session_including_this_one(engine: Engine) -> None:
    make_user(engine)
    other_user = make_user(engine, "grace@example.com")
    sessions = [log_in(engine) for _ in range(3)]
    theirs = log_in(engine, "grace@example.com")
    ended = scoped(
        engine, lambda s: accounts.log_out_everywhere(session=s, token=sessions[0].token)
    )
    assert ended == 3
    assert all(who(engine, s.token) is None for s in sessions)
    assert who(engine, theirs.token) is not None
    assert other_user
    again = scoped(
        engine, lambda s: accounts.log_out_everywhere(session=s, token=sessions[0].token)
    )
    assert isinstance(again, accounts.AccountError)


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_by_emailed_link_works_once_and_ends_every_session(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    make_user(engine)
    before = log_in(engine)
    with Session(engine) as session:  # a key made by whoever had the account
        key = api_keys.create(session=session, user_id=before.user.id, name="k", scopes=["trade"])
    link_id = scoped(engine, lambda s: accounts.request_password_reset(session=s, email=EMAIL))
    send_link(engine, link_id, mailer)
    (received,) = smtp.wait_for(1)
    assert received.rcpt_tos == (EMAIL,)
    token = link_in(smtp, routes.RESET_PASSWORD)
    with Session(engine) as session:
        row = session.exec(select(AccountToken)).one()
        assert token not in {str(v) for v in row.model_dump().values()}  # stored hashed only
        assert row.expires_at - row.created_at == timedelta(hours=1)

    bad = scoped(
        engine, lambda s: accounts.reset_password(session=s, token=token, new_password="short")
    )
    assert isinstance(bad, accounts.AccountError) and bad.field == "new_password"
    assert scoped(engine, lambda s: accounts.reset_link_email(session=s, token=token)) == EMAIL
    done = scoped(
        engine, lambda s: accounts.reset_password(session=s, token=token, new_password=NEW_PASSWORD)
    )
    assert isinstance(done, accounts.PasswordChanged)
    assert who(engine, before.token) is None
    with Session(engine) as session:  # and every API key of the account stops working
        assert api_keys.authenticate(session=session, presented=key.secret) is None
    assert isinstance(log_in(engine, password=NEW_PASSWORD), accounts.LoginResult)
    assert isinstance(log_in(engine, password=PASSWORD), accounts.AccountError)
    again = scoped(
        engine, lambda s: accounts.reset_password(session=s, token=token, new_password="x" * 12)
    )
    assert isinstance(again, accounts.AccountError) and "already used" in again.message
    send_notice(engine, done.email_notification_id, mailer)
    assert smtp.wait_for(2)[-1].message["Subject"] == "Your password was changed"


def test_reset_links_expire_after_an_hour_and_forged_ones_fail(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    make_user(engine)
    start = utcnow()
    link_id = scoped(
        engine, lambda s: accounts.request_password_reset(session=s, email=EMAIL, now=start)
    )
    send_link(engine, link_id, mailer)
    token = link_in(smtp, routes.RESET_PASSWORD)
    late = start + timedelta(minutes=61)
    for candidate, when in ((token, late), (token[:-2] + "xx", start), ("", start)):
        refused = scoped(
            engine,
            lambda s, c=candidate, w=when: accounts.reset_password(
                session=s, token=c, new_password=NEW_PASSWORD, now=w
            ),
        )
        assert isinstance(refused, accounts.AccountError)
    assert isinstance(log_in(engine), accounts.LoginResult)


def test_reset_request_answers_the_same_for_unknown_emails_and_does_not_flood(
    engine: Engine,
) -> None:
    make_user(engine)
    start = utcnow()
    for email in ("nobody@example.com", "not an email", ""):
        assert (
            scoped(engine, lambda s, e=email: accounts.request_password_reset(session=s, email=e))
            is None
        )
    first = scoped(engine, lambda s: accounts.request_password_reset(session=s, email=EMAIL))
    assert isinstance(first, int)
    # A second request within the minute sends nothing new; a later one does.
    assert scoped(engine, lambda s: accounts.request_password_reset(session=s, email=EMAIL)) is None
    later = start + timedelta(minutes=2)
    assert isinstance(
        scoped(
            engine, lambda s: accounts.request_password_reset(session=s, email=EMAIL, now=later)
        ),
        int,
    )


def test_a_reset_lifts_the_login_lockout(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    make_user(engine)
    for _ in range(6):
        log_in(engine, password="wrong wrong wrong")
    assert str(log_in(engine)).startswith("Too many failed attempts")
    link_id = scoped(engine, lambda s: accounts.request_password_reset(session=s, email=EMAIL))
    send_link(engine, link_id, mailer)
    token = link_in(smtp, routes.RESET_PASSWORD)
    scoped(
        engine, lambda s: accounts.reset_password(session=s, token=token, new_password=NEW_PASSWORD)
    )
    assert isinstance(log_in(engine, password=NEW_PASSWORD), accounts.LoginResult)


# --- sign-up without revealing who has an account ---------------------------------------------


def request_sign_up(engine: Engine, email: str, password: str = NEW_PASSWORD) -> Any:
    return scoped(
        engine,
        lambda s: accounts.request_sign_up(
            session=s, email=email, display_name="Newcomer", password=password
        ),
    )


def test_sign_up_is_finished_by_the_emailed_link(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    asked = request_sign_up(engine, "New.Person@Example.com")
    assert isinstance(asked, accounts.SignUpRequested) and asked.link_id
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []  # nothing registered before the click
    send_link(engine, asked.link_id, mailer)
    (received,) = smtp.wait_for(1)
    assert received.rcpt_tos == ("new.person@example.com",)
    token = link_in(smtp, routes.CONFIRM_SIGNUP)
    done = scoped(engine, lambda s: accounts.confirm_sign_up(session=s, token=token))
    assert isinstance(done, accounts.LoginResult)
    assert done.user.email == "new.person@example.com" and done.user.display_name == "Newcomer"
    assert who(engine, done.token) is not None
    assert isinstance(log_in(engine, "new.person@example.com", NEW_PASSWORD), accounts.LoginResult)
    again = scoped(engine, lambda s: accounts.confirm_sign_up(session=s, token=token))
    assert isinstance(again, accounts.AccountError)
    with Session(engine) as session:
        assert len(session.exec(select(User)).all()) == 1


def test_sign_up_with_a_taken_email_tells_the_owner_not_the_form(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    user_id = make_user(engine)
    asked = request_sign_up(engine, "ADA@example.com", password="someone else's pass")
    assert isinstance(asked, accounts.SignUpRequested)  # no refusal to show
    assert asked.link_id is None
    send_notice(engine, asked.email_notification_id, mailer)
    (received,) = smtp.wait_for(1)
    assert received.rcpt_tos == (EMAIL,)
    assert received.message["Subject"] == "Someone tried to sign up with your email"
    body = received.message.get_body(("plain",))
    assert body is not None
    assert routes.FORGOT_PASSWORD in body.get_content()
    # A second try within the hour does not email the owner again.
    assert request_sign_up(engine, EMAIL).email_notification_id is None
    with Session(engine) as session:
        assert len(session.exec(select(User)).all()) == 1
        assert session.exec(select(AccountToken)).all() == []
        assert (
            len(session.exec(select(Notification).where(Notification.user_id == user_id)).all())
            == 1
        )
    assert isinstance(log_in(engine), accounts.LoginResult)  # the owner's password is untouched


def test_two_pending_sign_ups_for_one_email_make_one_account(
    engine: Engine, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    tokens = []
    for _ in range(2):
        asked = request_sign_up(engine, "twice@example.com")
        send_link(engine, asked.link_id, mailer)
        tokens.append(link_in(smtp, routes.CONFIRM_SIGNUP))
    assert isinstance(
        scoped(engine, lambda s: accounts.confirm_sign_up(session=s, token=tokens[1])),
        accounts.LoginResult,
    )
    second = scoped(engine, lambda s: accounts.confirm_sign_up(session=s, token=tokens[0]))
    assert isinstance(second, accounts.AccountError) and "already has an account" in second.message


@pytest.mark.parametrize(
    ("email", "name", "password", "field"),
    [
        ("not-an-email", "Ada", PASSWORD, "email"),
        ("ada@example.com", "Ada", "short", "password"),
        ("ada@example.com", "\x00", PASSWORD, "display_name"),
    ],
)
def test_sign_up_request_refuses_bad_input_and_writes_nothing(
    engine: Engine, email: str, name: str, password: str, field: str
) -> None:
    refused = scoped(
        engine,
        lambda s: accounts.request_sign_up(
            session=s, email=email, display_name=name, password=password
        ),
    )
    assert isinstance(refused, accounts.AccountError) and refused.field == field
    with Session(engine) as session:
        assert session.exec(select(AccountToken)).all() == []


def test_unsent_links_are_found_by_the_sweep(engine: Engine) -> None:
    asked = request_sign_up(engine, "lost@example.com")
    with Session(engine) as session:
        assert accounts.unsent_links(session=session) == []  # too young: its task is queued
        later = utcnow() + timedelta(minutes=2)
        assert accounts.unsent_links(session=session, now=later) == [asked.link_id]
        assert accounts.unsent_links(session=session, now=later + timedelta(days=1)) == []


# --- the staff second factor ------------------------------------------------------------------


def code_at(secret: str, when: datetime, steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(when) + steps)


def test_staff_enrol_verify_per_session_and_codes_work_once(engine: Engine) -> None:
    make_user(engine, staff=True)
    first = log_in(engine)
    assert who(engine, first.token) == accounts.AuthenticatedUser(
        id=first.user.id, email=EMAIL, display_name="Ada", is_staff=True, is_admin=False
    )
    enrolment = scoped(
        engine, lambda s: accounts.begin_totp_enrolment(session=s, token=first.token)
    )
    assert isinstance(enrolment, accounts.TotpEnrolment)
    assert enrolment.uri.startswith("otpauth://totp/") and enrolment.secret in enrolment.uri
    assert enrolment.qr_svg.startswith("data:image/svg+xml")
    now = utcnow()
    wrong = scoped(
        engine,
        lambda s: accounts.confirm_totp_enrolment(
            session=s, token=first.token, code=code_at(enrolment.secret, now, 5), now=now
        ),
    )
    assert isinstance(wrong, accounts.AccountError) and wrong.field == "code"
    assert not who(engine, first.token).second_factor  # type: ignore[union-attr]
    code = code_at(enrolment.secret, now)
    scoped(
        engine,
        lambda s: accounts.confirm_totp_enrolment(session=s, token=first.token, code=code, now=now),
    )
    seen = who(engine, first.token)
    assert seen is not None and seen.totp_enrolled and seen.second_factor
    # The secret is shown once: asking again is refused.
    assert isinstance(
        scoped(engine, lambda s: accounts.begin_totp_enrolment(session=s, token=first.token)),
        accounts.AccountError,
    )
    # A new session starts without the second factor; the code already used is refused.
    second = log_in(engine)
    assert not who(engine, second.token).second_factor  # type: ignore[union-attr]
    replay = scoped(
        engine,
        lambda s: accounts.verify_second_factor(session=s, token=second.token, code=code, now=now),
    )
    assert isinstance(replay, accounts.AccountError)
    later = now + timedelta(seconds=30)
    scoped(
        engine,
        lambda s: accounts.verify_second_factor(
            session=s, token=second.token, code=code_at(enrolment.secret, later), now=later
        ),
    )
    assert who(engine, second.token).second_factor  # type: ignore[union-attr]


def test_wrong_codes_lock_the_second_factor(engine: Engine) -> None:
    user_id = make_user(engine, staff=True)
    secret = pyotp.random_base32()
    with session_scope(engine) as session:
        accounts.enable_totp(session=session, user_id=user_id, secret=secret)
    here = log_in(engine)
    now = utcnow()
    answers = [
        scoped(
            engine,
            lambda s, c="000000" if i % 2 else "12 34 5x": accounts.verify_second_factor(
                session=s, token=here.token, code=c, now=now
            ),
        )
        for i in range(12)
    ]
    assert all(isinstance(a, accounts.AccountError) for a in answers)
    right = scoped(
        engine,
        lambda s: accounts.verify_second_factor(
            session=s, token=here.token, code=code_at(secret, now), now=now
        ),
    )
    assert isinstance(right, accounts.AccountError) and "Too many wrong codes" in right.message
    assert not who(engine, here.token).second_factor  # type: ignore[union-attr]


def test_members_have_no_second_factor_to_set_up(engine: Engine) -> None:
    make_user(engine)
    here = log_in(engine)
    refused = scoped(engine, lambda s: accounts.begin_totp_enrolment(session=s, token=here.token))
    assert isinstance(refused, accounts.AccountError) and "staff only" in refused.message
    with Session(engine) as session:
        assert session.exec(select(User).where(col(User.totp_secret).is_not(None))).all() == []
        assert (
            session.exec(
                select(UserSession).where(col(UserSession.second_factor_at).is_not(None))
            ).all()
            == []
        )


def test_expired_links_are_purged_a_day_later(engine: Engine) -> None:
    asked = request_sign_up(engine, "late@example.com")
    with session_scope(engine) as session:
        accounts.purge_expired_sessions(session=session, now=utcnow() + timedelta(hours=30))
        assert session.get(AccountToken, asked.link_id) is not None
        accounts.purge_expired_sessions(session=session, now=utcnow() + timedelta(hours=49))
    with Session(engine) as session:
        assert session.get(AccountToken, asked.link_id) is None
