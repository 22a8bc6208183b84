"""Accounts: sign-up, log-in with rate limiting, server-side sessions, roles.

The browser keeps only a random session token; the database keeps its SHA-256, so a leaked
database cannot be replayed as logins. Passwords are hashed with argon2id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import pyotp
import segno
import zxcvbn
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sneakers_app import routes
from sneakers_app.models import AccountToken, LoginAttempt, User, UserSession, utcnow
from sneakers_app.services import api_keys, notifications, outbox
from sneakers_app.services import email as email_service
from sneakers_app.settings import Settings, get_settings
from sneakers_app.vocabulary import plural

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# zxcvbn's 0-4 estimate of how hard a password is to guess; 3 is "safely unguessable: moderate
# protection from offline slow-hash attacks" (about 10^8 guesses or more).
MIN_PASSWORD_SCORE = 3
# zxcvbn scores at most this many characters; a longer password is judged by its start.
_SCORED_LENGTH = 72
# Words a password here should not lean on, besides the person's own email and name.
_SITE_WORDS = ("sneakers", "sneaker", "marketplace", "stockx", "goat")
PASSWORD_RULE = (
    f"At least {MIN_PASSWORD_LENGTH} characters, and not a common or easily guessed password. "
    "A few unrelated words make a strong one that is easy to remember."
)
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
    # Staff only: whether a TOTP second factor is set up, and whether this session passed it.
    totp_enrolled: bool = False
    second_factor: bool = False
    # The size system the user reads sizes in (services/sizes.py).
    size_system: str = "us_m"


@dataclass(frozen=True, kw_only=True)
class LoginResult:
    user: AuthenticatedUser
    token: str
    expires_at: datetime


def _public(user: User, user_session: UserSession | None = None) -> AuthenticatedUser:
    assert user.id is not None
    return AuthenticatedUser(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        is_staff=user.is_staff,
        is_admin=user.is_admin,
        size_system=user.size_system,
        totp_enrolled=user.totp_enabled_at is not None,
        second_factor=user_session is not None and user_session.second_factor_at is not None,
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


def check_password_rules(password: str, *, about: tuple[str, ...] = ()) -> None:
    """Refuses (field "password") what `password_problem` finds wrong."""
    problem = password_problem(password, about=about)
    if problem:
        raise AccountError(problem, "password")


def password_problem(password: str, *, about: tuple[str, ...] = ()) -> str:
    """What is wrong with a new password, for the person ("" when it is fine): at least
    MIN_PASSWORD_LENGTH characters and hard to guess, which zxcvbn (common-password and word
    lists, keyboard patterns, repeats, dates) must rate MIN_PASSWORD_SCORE or better. `about`
    is what the site knows of the person (email, display name): a password built on those is
    easy for anyone who knows them."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return (
            f"Use a password of at least {MIN_PASSWORD_LENGTH} characters. A few unrelated "
            "words make a long one that is easy to remember."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Passwords are at most {MAX_PASSWORD_LENGTH} characters."
    hints = [*_SITE_WORDS, *_personal_words(about)]
    verdict = zxcvbn.zxcvbn(password[:_SCORED_LENGTH], user_inputs=hints)
    if verdict["score"] < MIN_PASSWORD_SCORE:
        personal = any(m.get("dictionary_name") == "user_inputs" for m in verdict["sequence"])
        warning = "It uses your name or email." if personal else verdict["feedback"]["warning"]
        return _too_guessable(warning)
    return ""


def _personal_words(about: tuple[str, ...]) -> list[str]:
    """Each item whole, the email's two halves, and their words run together and one by one,
    as zxcvbn hints."""
    words: list[str] = []
    for item in about:
        text = (item or "").lower()[:MAX_PASSWORD_LENGTH]
        for piece in (text, *text.split("@")):
            parts = [w for w in re.split(r"[^a-z0-9]+", piece) if w]
            words.extend([piece, "".join(parts), *(w for w in parts if len(w) >= 3)])
    return words


def _too_guessable(warning: str) -> str:
    why = f": {warning[:1].lower()}{warning[1:].rstrip('.')}." if warning else "."
    return (
        f"This password is too easy to guess{why} Try a few unrelated words together, or let "
        "your browser suggest one."
    )


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
    check_password_rules(password, about=(normalized, name))
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
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _own_engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _record_failure(session: Session, email: str, now: datetime) -> None:
    with Session(_own_engine(session)) as own:
        own.add(LoginAttempt(email=email, succeeded=False, attempted_at=now))
        own.commit()


def _lockout(settings: Settings) -> str:
    """How long a locked login waits, in words: "1 minute", "15 minutes" (part of one counts)."""
    return plural(max(1, -(-settings.LOGIN_WINDOW_SECONDS // 60)), "minute")


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
        raise AccountError(
            f"Too many failed attempts. Try again in {_lockout(settings)}.", "password"
        )
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
    return _open_session(session, user, now)


def verify_password(
    *, session: Session, user_id: int, password: str, now: datetime | None = None
) -> bool:
    """Whether `password` is this user's password (for actions that re-ask for it). Wrong
    guesses count towards the log-in lockout (recorded in their own committed transaction, so
    the caller's rollback keeps them); while it holds every guess is refused (AccountError)."""
    user = session.get(User, user_id)
    if user is None or not password:
        return False
    now = now or utcnow()
    settings = get_settings()
    if _recent_failures(session, user.email, now) >= settings.LOGIN_MAX_FAILURES:
        raise AccountError(
            f"Too many failed attempts. Try again in {_lockout(settings)}.", "password"
        )
    if not _password_matches(user.password_hash, password):
        _record_failure(session, user.email, now)
        return False
    return True


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
    return _public(user, user_session)


def live_session(
    *, session: Session, token: str, now: datetime | None = None
) -> UserSession | None:
    """The login a session token belongs to while it lasts (not revoked, not expired)."""
    return _live_session(session, token, now or utcnow())


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
    *, session: Session, email: str, display_name: str, password: str | None, admin: bool = False
) -> AuthenticatedUser:
    """Create a staff account, or promote an existing account to staff (no password needed:
    the account keeps its own). A new account needs a password; there is no default."""
    normalized = normalize_email(email)
    user = session.exec(select(User).where(User.email == normalized)).first()
    if user is None:
        if not password:
            raise AccountError(
                "A new staff account needs a password: set STAFF_PASSWORD or run the command "
                "at a terminal to type it.",
                "password",
            )
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


def purge_expired_sessions(*, session: Session, now: datetime | None = None) -> int:
    """Delete sessions that ended, login attempts older than the rate-limit window, and emailed
    links a day after they expired."""
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
    old_links = session.exec(
        select(AccountToken).where(col(AccountToken.expires_at) < now - timedelta(days=1))
    ).all()
    for link in old_links:
        session.delete(link)
    session.flush()
    return len(expired)


# --- sessions: log out everywhere ------------------------------------------------------------


def _live_session(session: Session, token: str, now: datetime) -> UserSession | None:
    if not token or len(token) > 200:
        return None
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row


def _session_user(session: Session, token: str, now: datetime) -> tuple[UserSession, User]:
    user_session = _live_session(session, token, now)
    user = session.get(User, user_session.user_id) if user_session else None
    if user_session is None or user is None:
        raise AccountError("Your session has ended. Log in again.")
    return user_session, user


def revoke_all_sessions(
    *, session: Session, user_id: int, now: datetime | None = None, keep_token: str = ""
) -> int:
    """End every open session of a user (but the one `keep_token` names); how many ended."""
    now = now or utcnow()
    table = UserSession.__table__  # type: ignore[attr-defined]
    stmt = update(table).where(table.c.user_id == user_id, table.c.revoked_at.is_(None))
    if keep_token:
        stmt = stmt.where(table.c.token_hash != _token_hash(keep_token))
    result = session.execute(stmt.values(revoked_at=now))
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def log_out_everywhere(*, session: Session, token: str, now: datetime | None = None) -> int:
    """End every session of the caller, this one included (every tab and device)."""
    now = now or utcnow()
    _, user = _session_user(session, token, now)
    assert user.id is not None
    return revoke_all_sessions(session=session, user_id=user.id, now=now)


# --- password change --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PasswordChanged:
    """`email_notification_id`: the security notice to email after the commit (or None)."""

    user_id: int
    sessions_ended: int
    email_notification_id: int | None


def _notify_password_changed(session: Session, user: User, now: datetime) -> int | None:
    assert user.id is not None
    result = notifications.notify(
        session=session,
        user_id=user.id,
        kind=notifications.Kind.PASSWORD_CHANGED,
        context={"changed_at": now},
        dedupe_key=f"password_changed:{user.id}:{now:%Y%m%dT%H%M%S%f}",
        now=now,
    )
    return result.email_notification_id if result else None


def _new_password(password: str, user: User) -> None:
    try:
        check_password_rules(password, about=(user.email, user.display_name))
    except AccountError as error:
        raise AccountError(error.message, "new_password") from None


def change_password(
    *,
    session: Session,
    token: str,
    current_password: str,
    new_password: str,
    now: datetime | None = None,
) -> PasswordChanged:
    """Needs the current password (wrong guesses count towards the log-in lockout); ends every
    other session and emails a notice. The session that changed it stays logged in."""
    now = now or utcnow()
    settings = get_settings()
    _, user = _session_user(session, token, now)
    assert user.id is not None
    if not current_password:
        raise AccountError("Enter your current password.", "current_password")
    if _recent_failures(session, user.email, now) >= settings.LOGIN_MAX_FAILURES:
        raise AccountError(
            f"Too many failed attempts. Try again in {_lockout(settings)}.", "current_password"
        )
    if not _password_matches(user.password_hash, current_password):
        _record_failure(session, user.email, now)
        raise AccountError("That is not your current password.", "current_password")
    _new_password(new_password, user)
    if new_password == current_password:
        raise AccountError("Choose a password different from your current one.", "new_password")
    user.password_hash = hash_password(new_password)
    session.add(user)
    ended = revoke_all_sessions(session=session, user_id=user.id, now=now, keep_token=token)
    notice = _notify_password_changed(session, user, now)
    session.flush()
    return PasswordChanged(user_id=user.id, sessions_ended=ended, email_notification_id=notice)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password[:1024]))
    except (VerificationError, InvalidHashError):
        return False


# --- emailed one-time links: sign-up confirmation, password reset ------------------------------

SIGN_UP = "sign_up"
PASSWORD_RESET = "password_reset"  # noqa: S105 (a link purpose)
LINK_LIFETIME = {SIGN_UP: timedelta(hours=24), PASSWORD_RESET: timedelta(hours=1)}
# One reset email per account per this interval, however often the form is sent.
RESET_RESEND_AFTER = timedelta(minutes=1)


def _link_token(purpose: str, nonce: str, settings: Settings | None = None) -> str:
    """The token in the emailed link: an HMAC of the row's nonce under SECRET_KEY. The row keeps
    only its SHA-256, so neither the database nor a queued task carries a working link."""
    key = (settings or get_settings()).SECRET_KEY.encode()
    mac = hmac.new(key, f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _new_link(
    session: Session,
    *,
    purpose: str,
    email: str,
    now: datetime,
    user_id: int | None = None,
    display_name: str = "",
    password_hash: str = "",
) -> AccountToken:
    nonce = secrets.token_hex(16)
    row = AccountToken(
        purpose=purpose,
        email=email,
        user_id=user_id,
        display_name=display_name,
        password_hash=password_hash,
        nonce=nonce,
        token_hash=_token_hash(_link_token(purpose, nonce)),
        created_at=now,
        expires_at=now + LINK_LIFETIME[purpose],
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    # The email goes out after the commit, through the outbox: a broker that is away delays it.
    outbox.add(session, LINK_EMAIL_TASK, row.id, key=link_email_key(row.id))
    return row


LINK_EMAIL_TASK = "sneakers.send_link_email"


def link_email_key(link_id: int) -> str:
    return f"link_email:{link_id}"


def _usable_link(session: Session, token: str, purpose: str, now: datetime) -> AccountToken:
    expired = AccountError("This link has expired or was already used. Ask for a new one.", "token")
    if not token or len(token) > 200:
        raise expired
    row = session.exec(
        select(AccountToken).where(
            AccountToken.token_hash == _token_hash(token), AccountToken.purpose == purpose
        )
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise expired
    return row


def _use_link(session: Session, row: AccountToken, now: datetime) -> None:
    """Single use even against a concurrent click: only one UPDATE finds it unused."""
    table = AccountToken.__table__  # type: ignore[attr-defined]
    claimed = session.execute(
        update(table)
        .where(table.c.id == row.id, table.c.used_at.is_(None))
        .values(used_at=now)
        .returning(table.c.id)
    ).first()
    if claimed is None:
        raise AccountError("This link has expired or was already used. Ask for a new one.", "token")
    session.refresh(row)


@dataclass(frozen=True, kw_only=True)
class SignUpRequested:
    """What to email after the commit: a confirmation link (`link_id`, for a new address) or a
    notice to the owner of an existing account (`email_notification_id`). Never both; possibly
    neither (the owner was already told within the hour). The caller answers the same in every
    case, so the form does not reveal whether an address has an account."""

    link_id: int | None = None
    email_notification_id: int | None = None


def request_sign_up(
    *,
    session: Session,
    email: str,
    display_name: str,
    password: str,
    now: datetime | None = None,
) -> SignUpRequested:
    """Sign-up step one: validate, then email a confirmation link. The account is created when
    the link is opened (`confirm_sign_up`), so an address is only ever registered by its owner.
    An address that already has an account gets a notice instead ("log in or reset your
    password"), at most once an hour."""
    now = now or utcnow()
    normalized = normalize_email(email)
    name = clean_display_name(display_name)
    check_password_rules(password, about=(normalized, name))
    password_hash = hash_password(password)  # in both branches: the same time either way
    user = session.exec(select(User).where(User.email == normalized)).first()
    if user is not None:
        assert user.id is not None
        result = notifications.notify(
            session=session,
            user_id=user.id,
            kind=notifications.Kind.SIGN_UP_ATTEMPT,
            context={"attempted_at": now},
            dedupe_key=f"sign_up_attempt:{user.id}:{now:%Y%m%d%H}",
            now=now,
        )
        notice = result.email_notification_id if result and result.created else None
        return SignUpRequested(email_notification_id=notice)
    row = _new_link(
        session,
        purpose=SIGN_UP,
        email=normalized,
        now=now,
        display_name=name,
        password_hash=password_hash,
    )
    return SignUpRequested(link_id=row.id)


def confirm_sign_up(*, session: Session, token: str, now: datetime | None = None) -> LoginResult:
    """Sign-up step two (the emailed link): create the account and log it in."""
    now = now or utcnow()
    row = _usable_link(session, token, SIGN_UP, now)
    if session.exec(select(User.id).where(User.email == row.email)).first() is not None:
        raise AccountError("This email already has an account. Log in instead.", "token")
    _use_link(session, row, now)
    user = User(email=row.email, display_name=row.display_name, password_hash=row.password_hash)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # the same address confirmed twice at once
        session.rollback()
        raise AccountError("This email already has an account. Log in instead.", "token") from exc
    assert user.id is not None
    session.add(LoginAttempt(email=user.email, succeeded=True, attempted_at=now))
    return _open_session(session, user, now)


def _open_session(session: Session, user: User, now: datetime) -> LoginResult:
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=get_settings().SESSION_TTL_HOURS)
    session.add(
        UserSession(
            token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires_at
        )
    )
    session.flush()
    return LoginResult(user=_public(user), token=token, expires_at=expires_at)


def request_password_reset(
    *, session: Session, email: str, now: datetime | None = None
) -> int | None:
    """The id of a reset link to email, or None (no such account, or one was sent within the
    minute). The caller answers the same either way."""
    now = now or utcnow()
    try:
        normalized = normalize_email(email)
    except AccountError:
        return None
    user = session.exec(select(User).where(User.email == normalized)).first()
    if user is None:
        return None
    recent = session.exec(
        select(AccountToken.id).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == PASSWORD_RESET,
            col(AccountToken.created_at) > now - RESET_RESEND_AFTER,
        )
    ).first()
    if recent is not None:
        return None
    return _new_link(session, purpose=PASSWORD_RESET, email=normalized, now=now, user_id=user.id).id


def reset_link_email(*, session: Session, token: str, now: datetime | None = None) -> str:
    """The address a reset link belongs to; AccountError if it cannot be used."""
    return _usable_link(session, token, PASSWORD_RESET, now or utcnow()).email


def reset_password(
    *, session: Session, token: str, new_password: str, now: datetime | None = None
) -> PasswordChanged:
    """Set a new password from an emailed link: the link works once, every session of the
    account ends (this browser logs in afresh), the lockout is lifted and a notice is emailed."""
    now = now or utcnow()
    row = _usable_link(session, token, PASSWORD_RESET, now)
    user = session.get(User, row.user_id) if row.user_id else None
    if user is None or user.id is None:
        raise AccountError("This link has expired or was already used. Ask for a new one.", "token")
    _new_password(new_password, user)
    _use_link(session, row, now)
    table = AccountToken.__table__  # type: ignore[attr-defined]
    session.execute(  # older links of this account stop working too
        update(table)
        .where(
            table.c.user_id == user.id,
            table.c.purpose == PASSWORD_RESET,
            table.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    user.password_hash = hash_password(new_password)
    session.add(user)
    # Proving the inbox is the owner's: failed guesses before the reset no longer lock them out.
    session.add(LoginAttempt(email=user.email, succeeded=True, attempted_at=now))
    ended = revoke_all_sessions(session=session, user_id=user.id, now=now)
    api_keys.revoke_all(session=session, user_id=user.id, now=now)
    notice = _notify_password_changed(session, user, now)
    session.flush()
    return PasswordChanged(user_id=user.id, sessions_ended=ended, email_notification_id=notice)


def build_link_email(
    *, row: AccountToken, settings: Settings | None = None
) -> email_service.OutgoingEmail:
    settings = settings or get_settings()
    token = _link_token(row.purpose, row.nonce, settings)
    base = settings.APP_URL.rstrip("/")
    to_address = email_service.address_only(row.email)
    from_address = email_service.address_only(settings.EMAIL_FROM)
    from_name = email_service.header_text(settings.EMAIL_FROM.rsplit("<", 1)[0].strip().strip('"'))
    if row.purpose == SIGN_UP:
        link = f"{base}{routes.CONFIRM_SIGNUP}?token={token}"
        subject = "Confirm your email to finish signing up"
        text = (
            f"Hi {email_service.header_text(row.display_name, max_length=60)},\n\n"
            "Open this link within 24 hours to finish creating your Sneakers Marketplace "
            f"account:\n\n{link}\n\nIf you did not sign up, ignore this email: no account is "
            "created without it."
        )
    else:
        link = f"{base}{routes.RESET_PASSWORD}?token={token}"
        subject = "Reset your Sneakers Marketplace password"
        text = (
            "Someone (we hope you) asked to reset the password of this account. Open this link "
            f"within 1 hour to choose a new one:\n\n{link}\n\nThe link works once and logs out "
            "every device. If it was not you, ignore this email: your password stays as it is."
        )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((from_name, from_address)) if from_name else from_address
    message["To"] = to_address
    message["Date"] = format_datetime(row.created_at.astimezone(UTC))
    message["Message-ID"] = f"<account-link-{row.id}@{from_address.rsplit('@', 1)[1]}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{text}\n\n-- \nSneakers Marketplace\n")
    return email_service.OutgoingEmail(
        message=message, sender=from_address, recipients=(to_address,)
    )


def deliver_link_email(
    *,
    session: Session,
    link_id: int,
    mailer: email_service.Mailer,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> bool:
    """Email a sign-up or reset link at most once; True if this call sent it. Commits its claim
    before sending (as `notifications.deliver_email` does) and releases it on a transient
    failure so the task's retry can send it."""
    now = now or utcnow()
    row = session.get(AccountToken, link_id, populate_existing=True)
    if row is None or row.emailed_at is not None or row.used_at is not None:
        return False
    if row.expires_at <= now:
        return False
    outgoing = build_link_email(row=row, settings=settings)
    table = AccountToken.__table__  # type: ignore[attr-defined]
    claimed = session.execute(
        update(table)
        .where(table.c.id == link_id, table.c.emailed_at.is_(None))
        .values(emailed_at=now)
        .returning(table.c.id)
    ).first()
    session.commit()
    if claimed is None:
        return False
    try:
        mailer.send(outgoing)
    except email_service.EmailRejected:
        raise
    except BaseException:
        session.execute(
            update(table)
            .where(table.c.id == link_id, table.c.emailed_at == now)
            .values(emailed_at=None)
        )
        session.commit()
        raise
    return True


def unsent_links(*, session: Session, now: datetime | None = None) -> list[int]:
    """Links whose email was never sent (a lost task): the worker's sweep sends them."""
    now = now or utcnow()
    rows = session.exec(
        select(AccountToken.id).where(
            col(AccountToken.emailed_at).is_(None),
            col(AccountToken.used_at).is_(None),
            col(AccountToken.expires_at) > now,
            col(AccountToken.created_at) <= now - timedelta(minutes=1),
        )
    ).all()
    return [i for i in rows if i is not None]


# --- staff second factor (TOTP) ----------------------------------------------------------------

TOTP_ISSUER = "Sneakers Marketplace"


@dataclass(frozen=True, kw_only=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_svg: str  # a data: URI of the otpauth URI as a QR code


def _staff_session(session: Session, token: str, now: datetime) -> tuple[UserSession, User]:
    user_session, user = _session_user(session, token, now)
    if not user.is_staff:
        raise AccountError("This area is for verification staff only.")
    return user_session, user


def _totp_key(user_id: int) -> str:
    return f"totp:{user_id}"


def _read_code(code: str) -> str:
    digits = "".join((code or "").split())
    if len(digits) != 6 or not digits.isdigit():
        raise AccountError("Enter the 6-digit code from your authenticator app.", "code")
    return digits


def _matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (this one or its neighbours, for clock drift), or None.
    A step at or before the last one used is refused: each code works once."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _check_code(session: Session, user: User, code: str, secret: str, now: datetime) -> int:
    assert user.id is not None
    settings = get_settings()
    digits = _read_code(code)
    key = _totp_key(user.id)
    if _recent_failures(session, key, now) >= settings.LOGIN_MAX_FAILURES:
        raise AccountError(f"Too many wrong codes. Try again in {_lockout(settings)}.", "code")
    step = _matching_step(secret, digits, now, user.totp_last_step)
    if step is None:
        _record_failure(session, key, now)
        raise AccountError("That code is not right. Wait for a new one and try again.", "code")
    session.add(LoginAttempt(email=key, succeeded=True, attempted_at=now))
    return step


def begin_totp_enrolment(
    *, session: Session, token: str, now: datetime | None = None
) -> TotpEnrolment:
    """A new secret for a staff member without a confirmed one; shown once, confirmed by the
    first code (`confirm_totp_enrolment`). Asking again replaces an unconfirmed secret."""
    now = now or utcnow()
    _, user = _staff_session(session, token, now)
    if user.totp_enabled_at is not None:
        raise AccountError("Your authenticator app is already set up.", "code")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    session.add(user)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=qr)


def confirm_totp_enrolment(
    *, session: Session, token: str, code: str, now: datetime | None = None
) -> None:
    """The first code proves the app holds the secret: the second factor is on for good, and
    this session counts as verified."""
    now = now or utcnow()
    user_session, user = _staff_session(session, token, now)
    if user.totp_enabled_at is not None:
        raise AccountError("Your authenticator app is already set up.", "code")
    if not user.totp_secret:
        raise AccountError("Start the set-up first.", "code")
    step = _check_code(session, user, code, user.totp_secret, now)
    user.totp_enabled_at = now
    user.totp_last_step = step
    user_session.second_factor_at = now
    session.add_all([user, user_session])
    session.flush()


def verify_second_factor(
    *, session: Session, token: str, code: str, now: datetime | None = None
) -> None:
    """Mark this session as having passed the second factor (wrong codes are rate-limited)."""
    now = now or utcnow()
    user_session, user = _staff_session(session, token, now)
    if user.totp_enabled_at is None or not user.totp_secret:
        raise AccountError("Set up your authenticator app first.", "code")
    step = _check_code(session, user, code, user.totp_secret, now)
    user.totp_last_step = step
    user_session.second_factor_at = now
    session.add_all([user, user_session])
    session.flush()


def enable_totp(
    *, session: Session, user_id: int, secret: str, now: datetime | None = None
) -> None:
    """Give an account a known, already confirmed secret (the development demo staff, tests)."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("No such account.")
    pyotp.TOTP(secret).now()  # refuses a secret that is not base32
    user.totp_secret = secret
    user.totp_enabled_at = now or utcnow()
    session.add(user)
    session.flush()


def reset_second_factor(*, session: Session, email: str, now: datetime | None = None) -> int:
    """An operator's answer to a lost authenticator: the account sets up a new one at its next
    visit to the console, and every open session of it ends. Returns the sessions ended."""
    now = now or utcnow()
    normalized = normalize_email(email)
    user = session.exec(select(User).where(User.email == normalized)).first()
    if user is None or user.id is None:
        raise AccountError("No account has that email address.", "email")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.add(user)
    return revoke_all_sessions(session=session, user_id=user.id, now=now)
