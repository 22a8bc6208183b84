from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sneakers_app.settings import Settings
from tests.support.production import PRODUCTION_SETTINGS

REAL = PRODUCTION_SETTINGS  # passes every rule: Stripe itself, PostgreSQL, Redis


def production(**overrides: str) -> Settings:
    values: dict[str, Any] = REAL | overrides
    return Settings(ENVIRONMENT="production", _env_file=None, **values)


def test_development_runs_on_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EMBEDDED_REDIS_PORT", "REDIS_URL", "DATABASE_URL", "STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)  # the defaults, not the test run's settings
    settings = Settings(ENVIRONMENT="development", _env_file=None)
    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.redis_url == "redis://127.0.0.1:6390/0"
    assert settings.uses_localstripe


@pytest.mark.parametrize("missing", sorted(REAL))
def test_production_refuses_each_embedded_default(missing: str) -> None:
    """Left at its development default, every one of these settings stops a production start,
    and the message names it."""
    values: dict[str, Any] = {k: v for k, v in REAL.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        Settings(ENVIRONMENT="production", _env_file=None, **values)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_API_BASE", "http://localhost:8420"),
        ("STRIPE_API_BASE", "https://localstripe.internal"),
        ("STRIPE_API_BASE", "https://127.0.0.1:8420"),
        ("STRIPE_API_BASE", "http://api.stripe.com"),
        ("STRIPE_JS_URL", "http://localhost:8420/js.stripe.com/v3/"),
        ("STRIPE_JS_URL", "https://localstripe.example.com/js.stripe.com/v3/"),
        ("STRIPE_JS_URL", "http://js.stripe.com/v3/"),
        ("STRIPE_SECRET_KEY", "sk_test_" + "a" * 24),
        ("STRIPE_SECRET_KEY", "sk_test_localstripe"),
        ("STRIPE_SECRET_KEY", "sk_from_the_store_localstripe"),
        ("STRIPE_SECRET_KEY", "change-me"),
        ("STRIPE_SECRET_KEY", ""),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_" + "a" * 24),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe"),
        ("STRIPE_PUBLISHABLE_KEY", "change-me"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
        ("STRIPE_WEBHOOK_SECRET", "change-me"),
        ("STRIPE_WEBHOOK_SECRET", ""),
        ("SECRET_KEY", "change-me"),
        ("SECRET_KEY", "short"),
        ("DATABASE_URL", "sqlite:///var/sneakers.db"),
        ("DATABASE_URL", "sqlite+pysqlite:////srv/app.db"),
        ("REDIS_URL", ""),
    ],
)
def test_production_refuses_each_wrong_setting_by_name(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        production(**{name: value})
    text = str(info.value)
    assert name in text
    # Only the wrong setting is named.
    assert all(other not in text for other in REAL if other != name and other not in name)


def test_production_names_every_wrong_setting_in_one_message() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(ENVIRONMENT="production", _env_file=None)
    text = str(info.value)
    for name in REAL:
        assert name in text, name


def test_production_accepts_real_values() -> None:
    settings = production()
    assert settings.redis_url == REAL["REDIS_URL"]
    assert not settings.uses_localstripe


@pytest.mark.parametrize("environment", ["development", "test"])
def test_localstripe_and_embedded_parts_are_fine_outside_production(environment: str) -> None:
    settings = Settings(ENVIRONMENT=environment, _env_file=None)
    assert settings.STRIPE_API_BASE.startswith("http://localhost")
