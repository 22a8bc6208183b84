"""How SDK errors become ours: what a retry may fix is `PaymentTemporarilyUnavailable`, which is
a `PaymentError` too; everything else is a plain `PaymentError` with a message for the user."""

from __future__ import annotations

import pytest
import stripe

from sneakers_app.services import payments
from sneakers_app.services.payments.client import stripe_call


@pytest.mark.parametrize(
    "error",
    [
        stripe.APIConnectionError("connection refused"),  # type: ignore[no-untyped-call]
        stripe.RateLimitError("slow down"),
        stripe.APIError("bad gateway"),
    ],
)
def test_what_a_retry_may_fix_is_temporarily_unavailable(error: stripe.StripeError) -> None:
    with pytest.raises(payments.PaymentTemporarilyUnavailable, match="save the card") as raised:
        with stripe_call("save the card"):
            raise error
    assert isinstance(raised.value, payments.PaymentError)
    assert raised.value.__cause__ is error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (stripe.CardError("declined", None, "card_declined"), "declined"),  # type: ignore[no-untyped-call]
        (stripe.AuthenticationError("bad key"), "Payment provider refused to refund: bad key"),
    ],
)
def test_refusals_are_payment_errors_a_retry_would_repeat(
    error: stripe.StripeError, message: str
) -> None:
    with pytest.raises(payments.PaymentError, match=message) as raised:
        with stripe_call("refund"):
            raise error
    assert not isinstance(raised.value, payments.PaymentTemporarilyUnavailable)
