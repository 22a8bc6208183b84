"""HTTP endpoints beside the Reflex app: the Stripe webhook (and later the public API)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sneakers_app.db import session_scope
from sneakers_app.services import payments

MAX_WEBHOOK_BYTES = 512 * 1024


async def stripe_webhook(request: Request) -> JSONResponse:
    """Verify the signature, store the event by id (a replay is a no-op), reconcile payments."""
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": "payload too large"}, status_code=413)
    signature = request.headers.get("stripe-signature", "")
    try:
        with session_scope() as session:
            outcome = payments.handle_webhook(
                session=session, payload=body, signature_header=signature
            )
    except payments.WebhookVerificationError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    if outcome.changed and outcome.order_id is not None:
        from sneakers_app import worker

        worker.settle_payment.delay(outcome.order_id)
    return JSONResponse(
        {"received": True, "event": outcome.event_id, "duplicate": outcome.duplicate}
    )


api_app = Starlette(routes=[Route("/api/stripe/webhook", stripe_webhook, methods=["POST"])])
