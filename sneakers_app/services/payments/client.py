"""The Stripe client: the pinned API version, timeouts and retries, and how SDK errors become
ours (`PaymentTemporarilyUnavailable` for what a retry may fix, `PaymentError` otherwise).

No module-level SDK configuration: `stripe.api_key` and friends are never touched. Every
function here and in the sibling modules accepts an explicit `client` (tests, scripts);
otherwise `stripe_client` gives the one shared client for the current settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import stripe

from sneakers_app.settings import Settings, get_settings

__all__ = [
    "CURRENCY",
    "MAX_REASON",
    "NETWORK_RETRIES",
    "STRIPE_API_VERSION",
    "PaymentError",
    "PaymentTemporarilyUnavailable",
    "card_only",
    "id_of",
    "make_client",
    "stripe_call",
    "stripe_client",
    "stripe_message",
]

# The Stripe API version of every request (and the one to set on the webhook endpoint). Not the
# SDK's own default (2026-10-28.endive): from endive on, PaymentIntents and SetupIntents refuse
# `payment_method_types`, and without it a server-side confirm demands a `return_url` (dynamic
# payment methods may redirect). localstripe, our embedded default and test backend, knows only
# `payment_method_types=["card"]` and refuses the newer alternatives. 2026-07-29.dahlia is the
# newest version that accepts the one request shape both understand; every field we read is the
# same in endive. Move forward when localstripe learns `allowed_payment_method_types`.
STRIPE_API_VERSION = "2026-07-29.dahlia"
CURRENCY = "usd"
# The SDK's own retries for connection errors, 409s and 5xx, with the same idempotency key.
NETWORK_RETRIES = 2
MAX_REASON = 500  # Payment.failure_reason, and Stripe's limit for a metadata value


class PaymentError(Exception):
    """A payment problem; the message can be shown to the user. Retrying will not fix it,
    unless it is the subclass `PaymentTemporarilyUnavailable`: a caller that must tell the two
    apart catches that one first."""


class PaymentTemporarilyUnavailable(PaymentError):
    """Stripe could not be reached or asked us to slow down: retry later with the same key."""


def make_client(
    settings: Settings | None = None, *, max_network_retries: int = NETWORK_RETRIES
) -> stripe.StripeClient:
    """A new client for these settings (STRIPE_API_BASE points it at localstripe)."""
    settings = settings or get_settings()
    return _new_client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        max_network_retries,
        settings.STRIPE_TIMEOUT_SECONDS,
    )


def _new_client(api_key: str, api_base: str, retries: int, timeout: float) -> stripe.StripeClient:
    # Every request gives up after `timeout` seconds (connect and read; the SDK's own default
    # is 80 s) and raises APIConnectionError, which callers see as PaymentTemporarilyUnavailable.
    return stripe.StripeClient(
        api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


@lru_cache(maxsize=4)
def _shared_client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    # Keyed by immutable configuration only, so tests with other settings get other clients.
    return _new_client(api_key, api_base, NETWORK_RETRIES, timeout)


def stripe_client(client: stripe.StripeClient | None) -> stripe.StripeClient:
    if client is not None:
        return client
    settings = get_settings()
    return _shared_client(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS
    )


@contextmanager
def stripe_call(action: str) -> Iterator[None]:
    """Translate SDK errors: transient ones become retryable, the rest a plain PaymentError."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise PaymentTemporarilyUnavailable(f"Stripe is unavailable ({action}): {exc}") from exc
    except stripe.CardError as exc:
        raise PaymentError(stripe_message(exc, "Your card was declined.")) from exc
    except stripe.StripeError as exc:
        raise PaymentError(f"Payment provider refused to {action}: {stripe_message(exc)}") from exc


def stripe_message(exc: stripe.StripeError, default: str = "unknown error") -> str:
    message = exc.user_message or (exc.error.message if exc.error else None) or default
    return str(message)[:MAX_REASON]


def card_only(**params: Any) -> Any:
    """Request parameters with `payment_method_types=["card"]`: valid for the pinned API version,
    though the SDK's types (generated for a later version) no longer list it."""
    return {**params, "payment_method_types": ["card"]}


def id_of(value: Any) -> str | None:
    """An expandable field is an id or an object; give the id either way."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None
