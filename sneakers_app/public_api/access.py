"""Who is calling the public API, what they may do, and how often (per key and per IP).

Every route depends on one of `public`, `reader` or `trader`: each counts the request against
the rate limits and, for a key, authenticates it on every request (a revoked key stops at once).
Errors are `ApiError`s, which the app turns into `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from sneakers_app.db import session_scope
from sneakers_app.services import api_keys, limits


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


@dataclass
class Access:
    """The request's caller (None: no key) and the rate-limit window to report."""

    ip: str
    caller: api_keys.Caller | None = None
    window: limits.Window | None = field(default=None, repr=False)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="API key",
    description="`Authorization: Bearer snk_…`: a key made on your account page.",
)


def client_ip(request: Request) -> str:
    """The socket's peer, or with REFLEX_TRUSTED_PROXY_HOPS = n the n-th address from the
    right of X-Forwarded-For, as the pages count it (Reflex's own rule)."""
    ip = request.client.host if request.client else ""
    hops = int(os.environ.get("REFLEX_TRUSTED_PROXY_HOPS", "0") or 0)
    if hops > 0:
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            ip = forwarded[-hops]
    return ip or "unknown"


def rate_headers(window: limits.Window | None) -> dict[str, str]:
    """IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers) of the tightest window."""
    if window is None:
        return {}
    return {
        "RateLimit-Limit": str(window.limit),
        "RateLimit-Remaining": str(window.remaining),
        "RateLimit-Reset": str(window.reset),
        "RateLimit-Policy": f"{window.limit};w={window.seconds}",
    }


def _count(request: Request, access: Access) -> Access:
    key_id = access.caller.key_id if access.caller else None
    try:
        access.window = limits.api_request(key_id=key_id, ip=access.ip)
    except limits.RateLimited as exc:
        headers = rate_headers(exc.window) | {"Retry-After": str(exc.retry_after)}
        raise ApiError(429, "rate_limited", exc.message, headers=headers) from exc
    request.state.rate_window = access.window
    return access


def _authenticate(presented: str) -> api_keys.Caller | None:
    with session_scope() as session:
        return api_keys.authenticate(session=session, presented=presented)


async def _access(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, required: bool
) -> Access:
    access = Access(ip=client_ip(request))
    if credentials is not None:
        access.caller = await run_in_threadpool(_authenticate, credentials.credentials)
        if access.caller is None:
            # Counted against the address's window for callers without a key: guessing keys
            # costs what reading the market does, and stops at the same limit.
            await run_in_threadpool(_count, request, access)
            raise ApiError(
                401,
                "unauthorized",
                "That API key is not valid (mistyped, revoked or never made).",
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif required:
        raise ApiError(
            401,
            "unauthorized",
            "Send your API key as `Authorization: Bearer snk_…`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return await run_in_threadpool(_count, request, access)


async def _public(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Access:
    """Anyone; a key, when sent, must be valid and counts the request as its own."""
    return await _access(request, credentials, required=False)


def _scoped(scope: str) -> Any:
    async def need(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Access:
        access = await _access(request, credentials, required=True)
        assert access.caller is not None
        if not access.caller.may(scope):
            raise ApiError(
                403,
                "forbidden",
                f"This key may not {scope}: make a key with the {scope} scope.",
            )
        return access

    return Depends(need)


public: Any = Depends(_public)
reader: Any = _scoped(api_keys.READ)
trader: Any = _scoped(api_keys.TRADE)
