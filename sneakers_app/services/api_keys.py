"""Members' keys for the public API (`/api/v1`, docs/api.md).

A key reads `snk_<prefix>_<secret>`: `snk_<prefix>` is public (stored, shown in the list, and
how a presented key is found), the secret is 32 random bytes. Only the SHA-256 of the whole key
is stored, so it is shown once, when it is made. Scopes: `read` (the member's own bids, asks and
orders) and `trade` (placing, repricing and cancelling bids and asks, marking sales shipped);
`trade` includes `read`. A revoked key stops working at once; the member holds at most
`API_KEYS_PER_USER` keys that are not revoked. A password reset (the account recovered by
email) revokes every key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from sneakers_app.models import ApiKey, User, utcnow
from sneakers_app.settings import get_settings

READ = "read"
TRADE = "trade"
SCOPES = (READ, TRADE)
NAME_MAX = 60
_PRESENTED = re.compile(r"^(snk_[a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
LAST_USED_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key (not a write per request)."""


class ApiKeyError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, kw_only=True)
class KeyView:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class NewKey:
    key: KeyView
    secret: str
    """The whole key, to show once: it is not stored."""


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who a request's key belongs to and what it may do."""

    user_id: int
    key_id: int
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return scope in self.scopes or (scope == READ and TRADE in self.scopes)


def _hash(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


def _view(row: ApiKey) -> KeyView:
    return KeyView(
        id=row.id or 0,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(s for s in SCOPES if s in row.scopes.split()),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def clean_name(name: object) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise ApiKeyError("Name the key after what will use it, such as “listing script”.")
    if len(text) > NAME_MAX:
        raise ApiKeyError(f"A key's name is at most {NAME_MAX} characters.")
    if not text.isprintable():
        raise ApiKeyError("A key's name takes letters, digits, spaces and punctuation only.")
    return text


def clean_scopes(scopes: object) -> tuple[str, ...]:
    given = scopes if isinstance(scopes, list | tuple | set | frozenset) else [scopes]
    chosen = {str(s).strip().lower() for s in given if str(s).strip()}
    unknown = chosen - set(SCOPES)
    if unknown or not chosen:
        raise ApiKeyError("Choose what the key may do: read, or read and trade.")
    if TRADE in chosen:
        chosen.add(READ)
    return tuple(s for s in SCOPES if s in chosen)


def list_keys(*, session: Session, user_id: int) -> list[KeyView]:
    """The member's keys that work, newest first."""
    rows = session.exec(
        select(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
        .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
    ).all()
    return [_view(r) for r in rows]


def create(
    *, session: Session, user_id: int, name: object, scopes: object, now: datetime | None = None
) -> NewKey:
    """A new key for `user_id` (committed); its whole text is in the result only."""
    clean = clean_name(name)
    chosen = clean_scopes(scopes)
    if session.get(User, user_id) is None:
        raise ApiKeyError("Log in to make an API key.")
    held = session.exec(
        select(func.count())
        .select_from(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
    ).one()
    limit = get_settings().API_KEYS_PER_USER
    if int(held) >= limit:
        raise ApiKeyError(f"You hold {limit} keys, the most there can be: revoke one first.")
    prefix = "snk_" + secrets.token_hex(6)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        user_id=user_id,
        name=clean,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=" ".join(chosen),
        created_at=now or utcnow(),
    )
    session.add(row)
    session.commit()
    return NewKey(key=_view(row), secret=secret)


def revoke(*, session: Session, user_id: int, key_id: object, now: datetime | None = None) -> bool:
    """Revoke one of the member's own keys (committed); False for anyone else's or unknown."""
    if not isinstance(key_id, int) or isinstance(key_id, bool) or not 0 < key_id < 2**31:
        return False
    row = session.get(ApiKey, key_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    session.commit()
    return True


def revoke_all(*, session: Session, user_id: int, now: datetime | None = None) -> int:
    """Revoke every key of the member in the caller's transaction (a password reset: whoever
    had the account may have made keys); returns how many."""
    result = session.execute(
        update(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
        .values(revoked_at=now or utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def authenticate(*, session: Session, presented: str, now: datetime | None = None) -> Caller | None:
    """The caller a presented key stands for; None for a malformed, unknown or revoked key."""
    match = _PRESENTED.match(presented or "")
    if match is None:
        return None
    row = session.exec(select(ApiKey).where(col(ApiKey.prefix) == match.group(1))).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(presented)):
        return None
    now = now or utcnow()
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
        row.last_used_at = now
        session.commit()
    return Caller(user_id=row.user_id, key_id=row.id or 0, scopes=frozenset(row.scopes.split()))
