from __future__ import annotations

import pytest
from pydantic import ValidationError

from sneakers_app.settings import Settings

REAL = {
    "SECRET_KEY": "x" * 40,
    "STRIPE_SECRET_KEY": "sk_test_" + "a" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "b" * 24,
    "REDIS_URL": "redis://redis:6379/0",
    "DATABASE_URL": "postgresql+psycopg://app:pw@db/sneakers",
}


def test_development_runs_on_embedded_defaults() -> None:
    settings = Settings(ENVIRONMENT="development", _env_file=None)
    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.redis_url == "redis://127.0.0.1:6390/0"
    assert settings.uses_localstripe


@pytest.mark.parametrize("missing", sorted(REAL))
def test_production_refuses_each_placeholder(missing: str) -> None:
    values = {k: v for k, v in REAL.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        Settings(ENVIRONMENT="production", _env_file=None, **values)


def test_production_accepts_real_values() -> None:
    settings = Settings(ENVIRONMENT="production", _env_file=None, **REAL)
    assert settings.redis_url == REAL["REDIS_URL"]
    assert not settings.uses_localstripe
