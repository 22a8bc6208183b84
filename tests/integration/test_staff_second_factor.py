"""The staff second factor is enforced by the console's own event handlers on the server, not
only by the page: the handlers are driven here as the Reflex backend runs them, against a real
database, Redis (the broker) and SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import redis
from reflex.state import State
from sqlmodel import Session

from sneakers_app import db, redis_client, worker
from sneakers_app.models import Order, User
from sneakers_app.services import accounts
from sneakers_app.settings import get_settings
from state.security import SecondFactorState
from state.staff import VerificationState
from tests.integration.test_verification_views import shipped_order
from tests.support import factories
from tests.support.servers import RedisServer
from tests.support.smtp import start_smtp

SECRET = pyotp.random_base32()


@pytest.fixture
def deployed(
    database_url: str, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> Iterator[None]:
    smtp = start_smtp()
    for name, value in {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "SMTP_URL": smtp.url,
    }.items():
        monkeypatch.setenv(name, value)
    caches = (
        get_settings,
        db.get_db_engine,
        redis_client.get_redis,
        redis_client.get_matching_engine,
    )
    for cache in caches:
        cache.cache_clear()
    redis.Redis.from_url(redis_server.url).flushdb()
    worker.celery_app.conf.task_always_eager = True
    yield
    worker.celery_app.conf.task_always_eager = False
    smtp.stop()
    for cache in caches:
        cache.cache_clear()


def tab(token: str) -> State:
    """One browser tab's state tree, logged in with `token`."""
    root = State(_reflex_internal_init=True)  # type: ignore[call-arg]
    root.get_substate(VerificationState.get_full_name().split(".")[1:]).auth_token = token
    return root


# The pages' event handlers are called directly on the state here, as Reflex runs them; mypy
# sees the `rx.event` decorator's namespace where the method is, so the states are handed out
# untyped.


def console(root: State) -> Any:
    found = root.get_substate(VerificationState.get_full_name().split(".")[1:])
    assert isinstance(found, VerificationState)
    return found


def second_factor(root: State) -> Any:
    found = root.get_substate(SecondFactorState.get_full_name().split(".")[1:])
    assert isinstance(found, SecondFactorState)
    return found


def status(order_id: int) -> str:
    with Session(db.get_db_engine()) as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order.status


def test_console_handlers_refuse_a_session_without_the_second_factor(deployed: None) -> None:
    with Session(db.get_db_engine(), expire_on_commit=False) as session:
        order_id, _, _ = shipped_order(session)
        staff = factories.user(session, "Inspector", staff=True)
        accounts.enable_totp(session=session, user_id=staff, secret=SECRET)
        user = session.get(User, staff)
        assert user is not None
        login = accounts.log_in(
            session=session, email=user.email, password="a long enough password"
        )
        session.commit()
    root = tab(login.token)
    page = console(root)
    page.on_load()
    assert page.access == "second_factor"
    assert page.rows == [] and page.counts == {}
    # A client that sends console events anyway changes nothing.
    page.selected_id = order_id
    page.receive()
    page.choose_queue("to_receive")
    page.select_order(order_id)
    assert status(order_id) == "shipped_to_verification"
    assert page.rows == [] and page.events == []

    # A wrong code is refused; the right one opens the console and the same action now runs.
    form = second_factor(root)
    form.submit_code({"code": "000000"})
    assert form.code_error and console(root).access == "second_factor"
    form.submit_code({"code": pyotp.TOTP(SECRET).now()})
    assert form.code_error == ""
    page.on_load()
    assert page.access == "granted"
    assert any(r.order_id == order_id for r in page.rows)
    page.select_order(order_id)
    page.receive()
    assert status(order_id) == "received"

    # Another tab with a new log-in of the same staff member starts without it.
    with Session(db.get_db_engine()) as session:
        other = accounts.log_in(
            session=session, email=login.user.email, password="a long enough password"
        )
        session.commit()
    other_page = console(tab(other.token))
    other_page.on_load()
    assert other_page.access == "second_factor"
