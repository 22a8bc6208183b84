"""Payments: the one place that talks to Stripe (or to localstripe, the embedded default).

Card numbers never reach our server: the browser collects them with Stripe Elements and confirms a
SetupIntent; we only see the resulting payment method id. The saga charges the saved card
off-session at the match and refunds it on every failure branch.

Two layers make money movement exactly-once. Our `payments` row is keyed by the caller's
idempotency key (the trade id), so a second call returns the first result without asking Stripe;
the same key goes to Stripe as its `Idempotency-Key`, so a retry after a lost response (our row
still pending) gets Stripe's first answer instead of a second PaymentIntent. localstripe ignores
that header, which is why the row, not Stripe, is the first line of defence.

Errors: a card decline is an outcome (status "failed"), never an exception. Network trouble,
rate limits and Stripe 5xx raise `PaymentTemporarilyUnavailable`, which Celery retries with
backoff. Other problems raise `PaymentError` with a message fit for the person who caused it.
`PaymentTemporarilyUnavailable` is a `PaymentError`: a caller that must not treat it like a
refusal catches it first.

Functions take the session explicitly and flush; the caller commits. Each accepts an explicit
`client` (tests, scripts); otherwise one is built from settings. No module-level SDK configuration:
`stripe.api_key` and friends are never touched.

One module per concept, every public name re-exported here:
- `client`: the Stripe client (API version, timeouts, retries) and the errors;
- `cards`: customers and saved cards, and the block after repeated declines;
- `charges`: charges and refunds;
- `payouts`: where sellers are paid, and Connect transfers;
- `webhooks`: Stripe's events, stored once and reconciled onto our rows.
"""

from __future__ import annotations

from sneakers_app.services.payments.cards import (
    CARD_FAILURE_LIMIT,
    CARD_FAILURE_WINDOW,
    MAX_CARDS,
    CardSummary,
    SetupIntentSecret,
    blocked_by_failures,
    card_blocked_reason,
    charge_failures_since,
    complete_setup,
    create_setup_intent,
    default_card,
    default_card_id,
    delete_card,
    ensure_customer,
    find_card,
    has_card_on_file,
    has_payment_method,
    list_cards,
    recent_charge_failures,
    save_payment_method,
    set_default_card,
)
from sneakers_app.services.payments.charges import ChargeResult, charge, refund
from sneakers_app.services.payments.client import (
    CURRENCY,
    NETWORK_RETRIES,
    STRIPE_API_VERSION,
    PaymentError,
    PaymentTemporarilyUnavailable,
    make_client,
)
from sneakers_app.services.payments.payouts import (
    PAYOUT_KINDS,
    PayoutDetailsSaved,
    change_payout_details,
    default_payout_kind,
    has_payout_account,
    mask_destination,
    payout_account_for,
    save_payout_account,
    transfer_to_connect_account,
)
from sneakers_app.services.payments.webhooks import (
    SETTLE_TASK,
    WebhookOutcome,
    WebhookVerificationError,
    handle_webhook,
    settle_key,
)

__all__ = [
    "CARD_FAILURE_LIMIT",
    "CARD_FAILURE_WINDOW",
    "CURRENCY",
    "MAX_CARDS",
    "NETWORK_RETRIES",
    "PAYOUT_KINDS",
    "SETTLE_TASK",
    "STRIPE_API_VERSION",
    "CardSummary",
    "ChargeResult",
    "PaymentError",
    "PaymentTemporarilyUnavailable",
    "PayoutDetailsSaved",
    "SetupIntentSecret",
    "WebhookOutcome",
    "WebhookVerificationError",
    "blocked_by_failures",
    "card_blocked_reason",
    "change_payout_details",
    "charge",
    "charge_failures_since",
    "complete_setup",
    "create_setup_intent",
    "default_card",
    "default_card_id",
    "default_payout_kind",
    "delete_card",
    "ensure_customer",
    "find_card",
    "handle_webhook",
    "has_card_on_file",
    "has_payment_method",
    "has_payout_account",
    "list_cards",
    "make_client",
    "mask_destination",
    "payout_account_for",
    "recent_charge_failures",
    "refund",
    "save_payment_method",
    "save_payout_account",
    "set_default_card",
    "settle_key",
    "transfer_to_connect_account",
]
