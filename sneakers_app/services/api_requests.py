"""Writes through the public API made with an `Idempotency-Key` header (docs/api.md).

The first request with a key runs and its answer (status and JSON body) is kept for
`KEEP`; a retry with the same key and the same request gets that answer back and changes
nothing. The same key with another request (method, path or body) is refused, and so is a retry
while the first is still running. Keys belong to their member: two members' keys never meet.

Placing an order has its own idempotency below this (`market.place`'s `client_key`): the key
names the order, so even a request that died between placing and storing its answer places
nothing new when retried (`order_key`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sneakers_app.models import ApiRequest, utcnow

KEEP = timedelta(hours=24)
STUCK = timedelta(seconds=60)
"""A first request still marked running after this long died: a retry may run again."""
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


class IdempotencyError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Answer:
    """The answer the first request with this key got."""

    status: int
    body: str


def check_key(key: str | None) -> str:
    if not key:
        raise IdempotencyError(
            "idempotency_key_required",
            "Send an Idempotency-Key header (8 to 64 letters, digits or _ - . :) naming this "
            "request: a retry with the same key gets the first answer back.",
            400,
        )
    if not _KEY.match(key):
        raise IdempotencyError(
            "idempotency_key_invalid",
            "The Idempotency-Key header takes 8 to 64 letters, digits or _ - . :",
            400,
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def order_key(user_id: int, key: str, fingerprint: str, index: int = 0) -> str:
    """The `client_key` of the `index`-th order a request places (`market.place`): the same
    for a retry of the same request, another for the key used again with another request
    after its answer was forgotten."""
    text = f"{user_id}\n{key}\n{fingerprint}\n{index}"
    return "api" + hashlib.sha256(text.encode()).hexdigest()[:40]


def begin(
    *, session: Session, user_id: int, key: str, fingerprint: str, now: datetime | None = None
) -> int | Answer:
    """Claim the key for this request (committed): its row id to `finish`, or the first
    request's `Answer` for a retry. IdempotencyError for the key reused with another request
    or a retry while the first still runs."""
    now = now or utcnow()
    for _ in range(2):
        row = ApiRequest(
            user_id=user_id, idempotency_key=key, fingerprint=fingerprint, created_at=now
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            return row.id or 0
        first = session.exec(
            select(ApiRequest).where(
                col(ApiRequest.user_id) == user_id, col(ApiRequest.idempotency_key) == key
            )
        ).first()
        if first is None:
            continue  # taken and released in between: claim it again
        if first.created_at <= now - KEEP or (
            first.status == 0 and first.created_at <= now - STUCK
        ):
            session.delete(first)
            session.commit()
            continue
        if first.fingerprint != fingerprint:
            raise IdempotencyError(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request: use a new key for a new "
                "request.",
                422,
            )
        if first.status == 0:
            raise IdempotencyError(
                "request_in_progress",
                "The first request with this Idempotency-Key is still running: retry shortly.",
                409,
            )
        return Answer(status=first.status, body=first.response)
    raise IdempotencyError(
        "request_in_progress",
        "Another request with this Idempotency-Key is running: retry shortly.",
        409,
    )


def finish(*, session: Session, request_id: int, status: int, body: str) -> None:
    """Keep the answer for retries (committed)."""
    session.rollback()
    row = session.get(ApiRequest, request_id)
    if row is not None:
        row.status = status
        row.response = body
        session.commit()


def release(*, session: Session, request_id: int) -> None:
    """The request failed in a way a retry may mend (the engine away, a fault): forget the
    claim so the retry runs."""
    session.rollback()
    session.execute(delete(ApiRequest).where(col(ApiRequest.id) == request_id))
    session.commit()


def purge(*, session: Session, now: datetime | None = None) -> int:
    """Forget answers older than KEEP; returns how many."""
    result = session.execute(
        delete(ApiRequest).where(col(ApiRequest.created_at) < (now or utcnow()) - KEEP)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
