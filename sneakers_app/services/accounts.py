"""Accounts: sign-up, log-in with rate limiting, server-side sessions, roles.

The browser keeps only a random session token; the database keeps its SHA-256, so a leaked
database cannot be replayed as logins. Passwords are hashed with argon2id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sneakers_app.models import LoginAttempt, User, UserSession, utcnow
from sneakers_app.settings import get_settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_DISPLAY_NAME = 60

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong
# password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class AccountError(Exception):
    """A user-facing refusal; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, kw_only=True)
class AuthenticatedUser:
    id: int
    email: str
    display_name: str
    is_staff: bool
    is_admin: bool


@dataclass(frozen=True, kw_only=True)
class LoginResult:
    user: AuthenticatedUser
    token: str
    expires_at: datetime


def _public(user: User) -> AuthenticatedUser:
    assert user.id is not None
    return AuthenticatedUser(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        is_staff=user.is_staff,
        is_admin=user.is_admin,
    )


def normalize_email(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        raise AccountError("Enter your email address.", "email")
    if len(raw) > 254:
        raise AccountError("That email address is too long.", "email")
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"That email address is not valid: {exc}", "email") from exc
    return info.normalized.lower()


def clean_display_name(raw: str) -> str:
    name = _CONTROL_CHARS.sub("", (raw or "")).strip()
    name = re.sub(r"\s+", " ", name)
    if len(name) < 2:
        raise AccountError("Choose a display name of at least 2 characters.", "display_name")
    if len(name) > MAX_DISPLAY_NAME:
        raise AccountError(
            f"Display names are at most {MAX_DISPLAY_NAME} characters.", "display_name"
        )
    return name


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Passwords are at most {MAX_PASSWORD_LENGTH} characters.", "password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def sign_up(
    *,
    session: Session,
    email: str,
    display_name: str,
    password: str,
    is_staff: bool = False,
    is_admin: bool = False,
) -> AuthenticatedUser:
    """Create an account. Raises AccountError with a field-specific message on bad input."""
    normalized = normalize_email(email)
    name = clean_display_name(display_name)
    check_password_rules(password)
    if session.exec(select(User).where(User.email == normalized)).first() is not None:
        raise AccountError("An account with that email already exists. Log in instead.", "email")
    user = User(
        email=normalized,
        display_name=name,
        password_hash=hash_password(password),
        is_staff=is_staff or is_admin,
        is_admin=is_admin,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        session.rollback()
        raise AccountError(
            "An account with that email already exists. Log in instead.", "email"
        ) from exc
    return _public(user)


def _recent_failures(session: Session, email: str, now: datetime) -> int:
    window = timedelta(seconds=get_settings().LOGIN_WINDOW_SECONDS)
    last_success = session.exec(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email,
            col(LoginAttempt.succeeded).is_(True),
        )
    ).one()
    since = now - window
    if last_success is not None:
        since = max(since, _aware(last_success))
    count = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.email == email,
            col(LoginAttempt.succeeded).is_(False),
            col(LoginAttempt.attempted_at) > since,
        )
    ).one()
    return int(count)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _own_engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _record_failure(session: Session, email: str, now: datetime) -> None:
    with Session(_own_engine(session)) as own:
        own.add(LoginAttempt(email=email, succeeded=False, attempted_at=now))
        own.commit()


def log_in(
    *, session: Session, email: str, password: str, now: datetime | None = None
) -> LoginResult:
    """Check credentials and open a session. Too many failures lock the email for a while."""
    now = now or utcnow()
    settings = get_settings()
    try:
        normalized = normalize_email(email)
    except AccountError:
        raise AccountError("Wrong email or password.", "password") from None
    if not password:
        raise AccountError("Enter your password.", "password")
    if _recent_failures(session, normalized, now) >= settings.LOGIN_MAX_FAILURES:
        minutes = settings.LOGIN_WINDOW_SECONDS // 60
        raise AccountError(f"Too many failed attempts. Try again in {minutes} minutes.", "password")
    user = session.exec(select(User).where(User.email == normalized)).first()
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password[:1024])
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None
    if not ok or user is None:
        # The caller's transaction rolls back with the refusal, so the failure is recorded in a
        # transaction of its own, committed before we answer: otherwise the lockout never counts.
        _record_failure(session, normalized, now)
        raise AccountError("Wrong email or password.", "password")
    session.add(LoginAttempt(email=normalized, succeeded=True, attempted_at=now))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.SESSION_TTL_HOURS)
    session.add(
        UserSession(
            token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires_at
        )
    )
    session.flush()
    return LoginResult(user=_public(user), token=token, expires_at=expires_at)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(
    *, session: Session, token: str, now: datetime | None = None
) -> AuthenticatedUser | None:
    """The user a session token belongs to, or None if it is unknown, revoked or expired."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == UserSession.user_id)
        .where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.revoked_at is not None or user_session.expires_at <= now:
        return None
    return _public(user)


def log_out(*, session: Session, token: str) -> None:
    if not token:
        return
    user_session = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).first()
    if user_session is not None and user_session.revoked_at is None:
        user_session.revoked_at = utcnow()
        session.add(user_session)
        session.flush()


def create_staff(
    *, session: Session, email: str, display_name: str, password: str, admin: bool = False
) -> AuthenticatedUser:
    """Create a staff account, or promote an existing account to staff."""
    normalized = normalize_email(email)
    user = session.exec(select(User).where(User.email == normalized)).first()
    if user is None:
        return sign_up(
            session=session,
            email=normalized,
            display_name=display_name,
            password=password,
            is_staff=True,
            is_admin=admin,
        )
    user.is_staff = True
    user.is_admin = user.is_admin or admin
    session.add(user)
    session.flush()
    return _public(user)


def require_staff(user: AuthenticatedUser | None) -> AuthenticatedUser:
    if user is None or not user.is_staff:
        raise AccountError("This area is for verification staff only.")
    return user


def purge_expired_sessions(*, session: Session, now: datetime | None = None) -> int:
    """Delete sessions that ended and login attempts older than the rate-limit window."""
    now = now or utcnow()
    expired = session.exec(
        select(UserSession).where(
            (col(UserSession.expires_at) <= now) | col(UserSession.revoked_at).is_not(None)
        )
    ).all()
    for row in expired:
        session.delete(row)
    cutoff = now - timedelta(seconds=get_settings().LOGIN_WINDOW_SECONDS)
    old_attempts = session.exec(
        select(LoginAttempt).where(col(LoginAttempt.attempted_at) < cutoff)
    ).all()
    for attempt in old_attempts:
        session.delete(attempt)
    session.flush()
    return len(expired)
