"""HTTP endpoints beside the Reflex app: the Stripe webhook, shipping labels, and the health and
metrics endpoints (`health.py`), and the public API under /api/v1 (`public_api/`)."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sneakers_app import health, logs, public_api, routes
from sneakers_app.db import session_scope
from sneakers_app.services import labels, outbox, payments

MAX_WEBHOOK_BYTES = 512 * 1024


def _handle(body: bytes, signature: str) -> payments.WebhookOutcome:
    """One transaction: the event stored by id, our rows reconciled, and the settlement that
    must follow written to the outbox. The commit publishes the settlement if the broker
    answers; if it does not, the row waits for the sweep and Stripe still gets its 2xx (a retry
    of the event would be a duplicate and queue nothing)."""
    with session_scope() as session:
        outcome = payments.handle_webhook(session=session, payload=body, signature_header=signature)
        if outcome.changed and outcome.order_id is not None:
            key = payments.settle_key(outcome.order_id)
            outbox.add(session, payments.SETTLE_TASK, outcome.order_id, key=key)
    return outcome


async def stripe_webhook(request: Request) -> JSONResponse:
    """Verify the signature, store the event by id (a replay is a no-op), reconcile payments."""
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": "payload too large"}, status_code=413)
    signature = request.headers.get("stripe-signature", "")
    try:
        outcome = await run_in_threadpool(_handle, body, signature)
    except payments.WebhookVerificationError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(
        {"received": True, "event": outcome.event_id, "duplicate": outcome.duplicate}
    )


def _label_pdf(order_id: int, kind: str, query: dict[str, str]) -> bytes | None:
    with session_scope() as session:
        label = labels.label_from_link(
            session=session,
            order_id=order_id,
            kind=kind,
            session_id=query.get("s", ""),
            expires=query.get("e", ""),
            signature=query.get("sig", ""),
        )
    return labels.render_pdf(label) if label is not None else None


async def shipping_label(request: Request) -> Response:
    """A label's PDF for the login its signed link was made for (`labels.label_link`), shown in
    the browser's own viewer (inline), never cached; 404 for anything else."""
    order_id = request.path_params["order_id"]
    kind = request.path_params["kind"]
    pdf = await run_in_threadpool(_label_pdf, order_id, kind, dict(request.query_params))
    if pdf is None:
        return PlainTextResponse("Not found", status_code=404)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="label-{labels.order_code(order_id)}.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


_ICON = Path(__file__).resolve().parent.parent / "assets" / "logo.svg"


async def favicon(request: Request) -> Response:
    """The logo for the tab of a page the backend serves itself (a label's PDF): without it the
    browser's automatic /favicon.ico request is a 404 in the console."""
    return Response(
        _ICON.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def healthz(request: Request) -> JSONResponse:
    """The worker is alive and serving: nothing else is asked."""
    return JSONResponse({"alive": True, "pid": os.getpid()})


async def readyz(request: Request) -> JSONResponse:
    """The database, Redis and the broker answer; 503 naming the ones that do not."""
    status, body = health.ready_body(await run_in_threadpool(health.readiness))
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


_FACTS = health.FactsCollector()


async def prometheus_metrics(request: Request) -> Response:
    """Every web worker's metrics (summed across workers in multiprocess mode) and the facts
    of the database and the broker's queue, read now."""
    body = await run_in_threadpool(health.scrape, _FACTS)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestIds:
    """Every HTTP request's log lines carry its request id (the caller's X-Request-ID, else a
    new one) and path; websocket traffic has its ids bound per event (state/log_context.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
            logs.clear()
            logs.bind(request_id=given or logs.new_request_id(), path=scope.get("path"))
        await self.app(scope, receive, send)


api_app = Starlette(
    middleware=[Middleware(RequestIds)],
    routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus_metrics, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/api/stripe/webhook", stripe_webhook, methods=["POST"]),
        Route(
            routes.LABEL.replace("{order_id}", "{order_id:int}"), shipping_label, methods=["GET"]
        ),
        Mount(routes.API_V1, app=public_api.app),
    ],
)
