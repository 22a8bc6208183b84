"""Rate limits: how often one person (per user and per client IP) may do a costly or noisy thing.

Fixed windows in Redis, counted by the `limits` library (the one Flask-Limiter uses). A rule
names an action and its limits per user and per IP, each "N per <period>" in the library's
notation ("10/minute", "100 per hour"), set by environment (README, configuration table). A
caller asks `check(...)` before it changes anything; over a limit it raises `RateLimited`,
whose message tells the user how long to wait. The refused attempt still counts in its window
(a fixed window ends at a fixed time whatever is counted in it, so this never extends the
wait), which keeps `check` one atomic INCR per key.

Emails that one user's action causes to someone else (outbid, price drop) are limited per
recipient and per person who caused them (`allow_email`): over a limit the email is not sent,
the in-app notice still is, and the action that caused it stands.

Redis unreachable: the limit is not enforced (logged), so a Redis blip never stops log-ins.
Every key is under `LIMITS/`; nothing here imports Reflex.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import RedisClusterStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from sneakers_app import metrics
from sneakers_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Actions a user can be limited on (the key names in Redis and in the log).
LOG_IN = "log_in"
SIGN_UP = "sign_up"
PASSWORD_RESET = "password_reset"  # noqa: S105 (an action name: asking for a reset link)
ORDERS = "orders"  # placing, cancelling and editing bids and asks
WATCH = "watch"  # watching a size, setting or removing a target price
EMAIL = "email"  # emails one user's action causes to another (outbid, price drop)
API = "api"  # requests to the public API (/api/v1), per key and per IP
ACTIONS = (LOG_IN, SIGN_UP, PASSWORD_RESET, ORDERS, WATCH, EMAIL, API)


class RateLimited(Exception):
    """Too many attempts: nothing was done; try again after `retry_after` seconds."""

    def __init__(self, action: str, retry_after: int, window: Window | None = None) -> None:
        self.action = action
        self.window = window
        self.retry_after = max(1, retry_after)
        unit = "second" if self.retry_after == 1 else "seconds"
        self.message = f"Too many attempts; try again in {self.retry_after} {unit}."
        super().__init__(self.message)


@dataclass(frozen=True)
class Window:
    """Where a caller stands in a limit's current window (the API's RateLimit headers)."""

    limit: int
    remaining: int
    reset: int
    """Seconds until the window ends."""
    seconds: int
    """The window's length."""


@dataclass(frozen=True)
class Rule:
    action: str
    per_user: RateLimitItem | None
    per_ip: RateLimitItem | None


def _item(text: str, setting: str) -> RateLimitItem | None:
    """One limit from its setting; empty or "0/..." switches it off."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        item = parse(text)
    except ValueError as exc:
        raise ValueError(f"{setting}={text!r} is not a limit like '10/minute'") from exc
    return item if item.amount > 0 else None


def rule(action: str, settings: Settings | None = None) -> Rule:
    s = settings or get_settings()
    user, ip = {
        LOG_IN: ("RATE_LIMIT_LOGIN_USER", "RATE_LIMIT_LOGIN_IP"),
        SIGN_UP: ("", "RATE_LIMIT_SIGNUP_IP"),
        PASSWORD_RESET: ("", "RATE_LIMIT_RESET_IP"),
        ORDERS: ("RATE_LIMIT_ORDERS_USER", "RATE_LIMIT_ORDERS_IP"),
        WATCH: ("RATE_LIMIT_WATCH_USER", "RATE_LIMIT_WATCH_IP"),
    }[action]
    return Rule(
        action=action,
        per_user=_item(getattr(s, user), user) if user else None,
        per_ip=_item(getattr(s, ip), ip) if ip else None,
    )


@lru_cache(maxsize=4)
def _limiter_for(url: str) -> FixedWindowRateLimiter:
    storage: Storage
    # A second at most per call: a limit is never worth holding a user up for.
    if url.startswith("redis+cluster://"):
        storage = RedisClusterStorage(
            url, key_prefix="LIMITS", socket_timeout=1.0, socket_connect_timeout=1.0
        )
    else:
        storage = RedisStorage(
            url, key_prefix="LIMITS", socket_timeout=1.0, socket_connect_timeout=1.0
        )
    return FixedWindowRateLimiter(storage)


def limiter(settings: Settings | None = None) -> FixedWindowRateLimiter:
    return _limiter_for((settings or get_settings()).redis_url)


def prepare() -> None:
    """Build the limiter at a process's start: its storage imports its Redis driver when first
    made (0.1 s on a quiet machine, 0.5 s during a drop), which the first limited action paid
    (in the journal consumer, the first outbid email of a drop held up the journal)."""
    limiter()


def _retry_after(lim: FixedWindowRateLimiter, item: RateLimitItem, *ids: str) -> int:
    stats = lim.get_window_stats(item, *ids)
    return max(1, math.ceil(stats.reset_time - time.time()))


def _hit(
    lim: FixedWindowRateLimiter, action: str, checks: list[tuple[RateLimitItem, str, str]]
) -> None:
    try:
        for item, scope, who in checks:
            if not lim.hit(item, action, scope, who):
                metrics.rate_limited(action, scope.split(":", 1)[0])
                raise RateLimited(action, _retry_after(lim, item, action, scope, who))
    except RateLimited:
        raise
    except Exception as exc:  # Redis away: do not stop the marketplace over a counter
        log.warning("rate limit %s not checked: %s", action, exc)


def check(
    action: str,
    *,
    user: int | str | None = None,
    ip: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Count one attempt at `action` by this user and/or client IP; RateLimited when either is
    over its limit. `user` is the user id (or, before log-in, the email typed)."""
    r = rule(action, settings)
    checks: list[tuple[RateLimitItem, str, str]] = []
    if r.per_user is not None and user not in (None, "", 0):
        checks.append((r.per_user, "user", str(user).strip().lower()[:320]))
    if r.per_ip is not None and ip:
        checks.append((r.per_ip, "ip", ip[:64]))
    if checks:
        _hit(limiter(settings), action, checks)


def allow_email(
    *, kind: str, recipient_id: int, caused_by: int, settings: Settings | None = None
) -> bool:
    """Whether an email of `kind` that user `caused_by`'s action causes to `recipient_id` may
    go out (counted when it may)."""
    if caused_by == recipient_id:
        return True
    s = settings or get_settings()
    caused = _item(s.RATE_LIMIT_EMAILS_CAUSED, "RATE_LIMIT_EMAILS_CAUSED")
    received = _item(s.RATE_LIMIT_EMAILS_RECEIVED, "RATE_LIMIT_EMAILS_RECEIVED")
    checks: list[tuple[RateLimitItem, str, str]] = []
    if caused is not None:
        checks.append((caused, "caused_by", str(caused_by)))
    if received is not None:
        checks.append((received, f"to:{kind}", str(recipient_id)))
    if not checks:
        return True
    try:
        _hit(limiter(settings), EMAIL, checks)
    except RateLimited as exc:
        log.info(
            "%s email to user %s (caused by user %s) not sent: %s",
            kind,
            recipient_id,
            caused_by,
            exc.message,
        )
        return False
    return True


def api_request(*, key_id: int | None, ip: str, settings: Settings | None = None) -> Window | None:
    """Count one request to the public API: per key and per IP with a key
    (RATE_LIMIT_API_KEY, RATE_LIMIT_API_IP), per IP without (RATE_LIMIT_API_PUBLIC_IP).
    Returns the window with the fewest requests left (None: no limit, or Redis away); over a
    limit RateLimited, carrying that window."""
    s = settings or get_settings()
    checks: list[tuple[RateLimitItem | None, str, str]] = []
    if key_id:
        checks.append((_item(s.RATE_LIMIT_API_KEY, "RATE_LIMIT_API_KEY"), "key", str(key_id)))
        checks.append((_item(s.RATE_LIMIT_API_IP, "RATE_LIMIT_API_IP"), "ip", ip[:64]))
    else:
        setting = "RATE_LIMIT_API_PUBLIC_IP"
        checks.append((_item(s.RATE_LIMIT_API_PUBLIC_IP, setting), "public_ip", ip[:64]))
    tightest: Window | None = None
    try:
        lim = limiter(s)
        for item, scope, who in checks:
            if item is None or not who:
                continue
            allowed = lim.hit(item, API, scope, who)
            stats = lim.get_window_stats(item, API, scope, who)
            window = Window(
                limit=item.amount,
                remaining=max(0, stats.remaining),
                reset=max(1, math.ceil(stats.reset_time - time.time())),
                seconds=item.get_expiry(),
            )
            if not allowed:
                metrics.rate_limited(API, scope)
                raise RateLimited(API, window.reset, window)
            if tightest is None or window.remaining < tightest.remaining:
                tightest = window
    except RateLimited:
        raise
    except Exception as exc:  # Redis away: do not stop the API over a counter
        log.warning("rate limit %s not checked: %s", API, exc)
        return None
    return tightest
