"""Integration fixtures for payments: a real localstripe process, settings and a Stripe client
pointed at it, and a real HTTP endpoint that receives the webhooks localstripe sends."""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import stripe

from sneakers_app import db, redis_client, settings
from sneakers_app.services import payments
from sneakers_app.settings import LOCALSTRIPE_KEY, Settings
from tests.support import servers


@pytest.fixture(scope="session")
def localstripe() -> Iterator[servers.LocalStripeServer]:
    server = servers.start_localstripe()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stripe_settings(localstripe: servers.LocalStripeServer) -> Settings:
    return Settings(
        ENVIRONMENT="test",
        STRIPE_SECRET_KEY=LOCALSTRIPE_KEY,
        STRIPE_PUBLISHABLE_KEY="pk_test_localstripe",
        STRIPE_WEBHOOK_SECRET=f"whsec_{secrets.token_hex(16)}",
        STRIPE_API_BASE=localstripe.url,
        STRIPE_JS_URL=localstripe.js_url,
    )


@pytest.fixture(scope="session")
def stripe_client(stripe_settings: Settings) -> stripe.StripeClient:
    return payments.make_client(stripe_settings)


@dataclass
class Delivery:
    body: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    """What a deployed `/api/stripe/webhook` would receive: raw body and Stripe-Signature."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 15.0
    ) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for delivery in self.deliveries:
                    if predicate(delivery.event):
                        return delivery
            time.sleep(0.05)
        raise AssertionError(f"no matching webhook from localstripe within {timeout}s")


@pytest.fixture(scope="session")
def webhook_receiver(
    localstripe: servers.LocalStripeServer, stripe_settings: Settings
) -> Iterator[WebhookReceiver]:
    """An HTTP endpoint registered with localstripe (its `/_config/webhooks/<id>`), signed with
    our webhook secret, for the payment events the app reconciles."""
    port = servers.free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/api/stripe/webhook")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.deliveries.append(
                    Delivery(body=body, signature=self.headers.get("Stripe-Signature", ""))
                )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    response = httpx.post(
        f"{localstripe.url}/_config/webhooks/sneakers-tests",
        json={
            "url": receiver.url,
            "secret": stripe_settings.STRIPE_WEBHOOK_SECRET,
            "events": [
                "payment_intent.succeeded",
                "payment_intent.payment_failed",
                "charge.refunded",
            ],
        },
    )
    response.raise_for_status()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_db(
    database_url: str, redis_server: servers.RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The app's own engine and Redis client (what `session_scope()` in a handler uses),
    pointed at this test's database and redis-server."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    caches: list[Any] = [
        settings.get_settings,
        db.get_db_engine,
        redis_client.get_redis,
        redis_client.get_matching_engine,
    ]
    for cache in caches:
        cache.cache_clear()
    yield
    db.get_db_engine().dispose()
    for cache in caches:
        cache.cache_clear()
