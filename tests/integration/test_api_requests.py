# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""Writes with an Idempotency-Key: claimed once, answered once, forgotten after a day; a claim
left by a request that died is taken over; two requests racing with one key place one order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from sneakers_app import api
from sneakers_app.models import ApiRequest, Ask, utcnow
from sneakers_app.services import api_keys, api_requests
from tests.integration.test_saga import Market, mk, smtp, variant  # noqa: F401 (fixtures)
from tests.support import factories


def test_an_answer_is_kept_for_a_day_then_forgotten(session: Session) -> None:
    user = factories.user(session)
    start = utcnow()
    claim = api_requests.begin(
        session=session, user_id=user, key="k" * 8, fingerprint="a", now=start
    )
    assert isinstance(claim, int)
    api_requests.finish(session=session, request_id=claim, status=201, body='{"id": 1}')
    again = api_requests.begin(
        session=session, user_id=user, key="k" * 8, fingerprint="a", now=start + timedelta(hours=23)
    )
    assert again == api_requests.Answer(status=201, body='{"id": 1}')
    assert api_requests.purge(session=session, now=start + timedelta(hours=23)) == 0
    assert api_requests.purge(session=session, now=start + timedelta(hours=25)) == 1
    fresh = api_requests.begin(session=session, user_id=user, key="k" * 8, fingerprint="b")
    assert isinstance(fresh, int)


def test_a_claim_still_running_refuses_a_retry_until_it_is_stuck(session: Session) -> None:
    user = factories.user(session)
    start = utcnow()
    claim = api_requests.begin(
        session=session, user_id=user, key="x" * 8, fingerprint="a", now=start
    )
    assert isinstance(claim, int)
    with pytest.raises(api_requests.IdempotencyError) as running:
        api_requests.begin(
            session=session,
            user_id=user,
            key="x" * 8,
            fingerprint="a",
            now=start + timedelta(seconds=5),
        )
    assert (running.value.status, running.value.code) == (409, "request_in_progress")
    taken = api_requests.begin(
        session=session,
        user_id=user,
        key="x" * 8,
        fingerprint="a",
        now=start + timedelta(minutes=2),
    )
    assert isinstance(taken, int)
    [row] = session.exec(select(ApiRequest).where(col(ApiRequest.user_id) == user)).all()
    assert (row.id, row.created_at, row.status) == (taken, start + timedelta(minutes=2), 0)


@pytest.mark.parametrize("key", ["", None, "short", "x" * 65, "has space!", "ключ-ключ-ключ"])
def test_a_missing_or_malformed_key_is_refused(key: str | None) -> None:
    with pytest.raises(api_requests.IdempotencyError) as refused:
        api_requests.check_key(key)
    assert refused.value.status == 400


@pytest.fixture
def client(mk: Market, app_db: None) -> Iterator[TestClient]:
    with TestClient(api.api_app) as test_client:
        yield test_client


def test_two_requests_racing_with_one_key_place_one_ask(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller = mk.seller()
    with mk.session() as s:
        secret = api_keys.create(session=s, user_id=seller, name="race", scopes=["trade"]).secret
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"variant_id": variant, "price_cents": 30_000}
    start = threading.Barrier(4)
    answers: list[tuple[int, dict[str, object]]] = []

    def send() -> None:
        start.wait()
        r = client.post("/api/v1/me/asks", json=body, headers=headers)
        answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with mk.session() as s:
        asks = s.exec(select(Ask).where(col(Ask.user_id) == seller)).all()
    assert len(asks) == 1
    placed = [a for status, a in answers if status == 201]
    assert placed and all(a["id"] == asks[0].id for a in placed)
    assert {status for status, _ in answers} <= {201, 409}
