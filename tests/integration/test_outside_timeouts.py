"""Every outside call gives up by itself: Stripe after STRIPE_TIMEOUT_SECONDS (leaving our
rows as they were, so the user can try again), a PostgreSQL statement after
DATABASE_STATEMENT_TIMEOUT_MS. Real localstripe (stopped with SIGSTOP) and real PostgreSQL."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from sneakers_app import db
from sneakers_app.db import session_scope
from sneakers_app.models import User
from sneakers_app.services import payments
from sneakers_app.settings import LOCALSTRIPE_KEY, Settings, get_settings
from tests.support import factories, servers

GIVE_UP = 60.0
"""How long the test waits for a call configured to give up after 1 s (on today's code it
would hang for the SDK's 80 s, three times)."""


@pytest.fixture
def stoppable_stripe() -> Iterator[servers.LocalStripeServer]:
    """A localstripe of this test's own, to stop and resume."""
    server = servers.start_localstripe()
    yield server
    os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def _settings(stripe_server: servers.LocalStripeServer, timeout: float) -> Settings:
    return Settings(
        ENVIRONMENT="test",
        STRIPE_SECRET_KEY=LOCALSTRIPE_KEY,
        STRIPE_API_BASE=stripe_server.url,
        STRIPE_TIMEOUT_SECONDS=timeout,
    )


def test_a_card_save_gives_up_on_a_stopped_stripe_and_can_be_tried_again(
    engine: Engine, stoppable_stripe: servers.LocalStripeServer
) -> None:
    with Session(engine) as s:
        user_id = factories.user(s, "Buyer")
        s.commit()
    client = payments.make_client(_settings(stoppable_stripe, 1.0), max_network_retries=1)
    outcome: list[object] = []

    def save() -> None:
        try:
            with session_scope(engine) as session:  # the card form handler's own scope
                outcome.append(
                    payments.create_setup_intent(session=session, user_id=user_id, client=client)
                )
        except Exception as exc:
            outcome.append(exc)

    os.kill(stoppable_stripe.process.pid, signal.SIGSTOP)
    try:
        worker = threading.Thread(target=save, daemon=True)
        worker.start()
        worker.join(GIVE_UP)
        assert not worker.is_alive(), "the Stripe call did not give up while Stripe was stopped"
    finally:
        os.kill(stoppable_stripe.process.pid, signal.SIGCONT)
    assert len(outcome) == 1 and isinstance(outcome[0], payments.PaymentTemporarilyUnavailable)
    with Session(engine) as s:
        row = s.get(User, user_id)
        assert row is not None and row.stripe_customer_id is None  # nothing half-saved
    with session_scope(engine) as session:  # Stripe is back: trying again works
        intent = payments.create_setup_intent(session=session, user_id=user_id, client=client)
    assert intent.client_secret
    with Session(engine) as s:
        row = s.get(User, user_id)
        assert row is not None and row.stripe_customer_id


def test_the_shared_client_uses_the_configured_timeout(
    monkeypatch: pytest.MonkeyPatch, stoppable_stripe: servers.LocalStripeServer
) -> None:
    """The client the app's handlers use (no explicit client) is built from the settings."""
    monkeypatch.setenv("STRIPE_API_BASE", stoppable_stripe.url)
    monkeypatch.setenv("STRIPE_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    try:
        client = payments.client.stripe_client(None)
        errors: list[Exception] = []

        def call() -> None:
            try:
                client.v1.customers.list()
            except Exception as exc:
                errors.append(exc)

        os.kill(stoppable_stripe.process.pid, signal.SIGSTOP)
        try:
            worker = threading.Thread(target=call, daemon=True)
            worker.start()
            worker.join(GIVE_UP)
            assert not worker.is_alive(), "the shared client waited on a stopped Stripe"
        finally:
            os.kill(stoppable_stripe.process.pid, signal.SIGCONT)
        assert errors and type(errors[0]).__name__ == "APIConnectionError"
    finally:
        get_settings.cache_clear()


def test_a_runaway_statement_is_cancelled_on_postgresql(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no statement timeout (and no server to hold up)")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "200")
    get_settings.cache_clear()
    db.get_db_engine.cache_clear()
    try:
        with pytest.raises(OperationalError, match="statement timeout"):
            with session_scope() as session:  # the app's own engine and scope
                session.exec(text("SELECT pg_sleep(5)"))  # type: ignore[call-overload]
        with session_scope() as session:  # the connection is fine for the next statement
            assert session.exec(text("SELECT 1")).one()[0] == 1  # type: ignore[call-overload]
    finally:
        db.get_db_engine().dispose()
        get_settings.cache_clear()
        db.get_db_engine.cache_clear()
