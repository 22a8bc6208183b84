# ruff: noqa: F811  (the fixtures `mk` and `variant` are imported from test_saga)
"""The public REST API (/api/v1) through the backend's own ASGI app, against the test's
database, Redis and localstripe: market data, keys and scopes, idempotent retries, batch
partial failures, someone else's order, rate limits with their headers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from sneakers_app import api, settings
from sneakers_app.models import Ask, Bid, Order, Sale, utcnow
from sneakers_app.services import api_keys, api_requests, tape
from tests.integration.test_saga import (  # noqa: F401 (fixtures)
    Market,
    mk,
    smtp,
    variant,
)
from trading import market_data

V1 = "/api/v1"


@pytest.fixture
def client(mk: Market, app_db: None) -> Iterator[TestClient]:
    with TestClient(api.api_app) as test_client:
        yield test_client


def _key(mk: Market, user_id: int, *scopes: str) -> dict[str, str]:
    with mk.session() as s:
        made = api_keys.create(session=s, user_id=user_id, name="test", scopes=list(scopes))
    return {"Authorization": f"Bearer {made.secret}"}


def _new(headers: dict[str, str]) -> dict[str, str]:
    return headers | {"Idempotency-Key": uuid.uuid4().hex}


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def _asks(mk: Market, user_id: int) -> list[Ask]:
    with mk.session() as s:
        return list(s.exec(select(Ask).where(col(Ask.user_id) == user_id)).all())


# --- market data ---------------------------------------------------------------------------


def test_a_size_market_book_tape_and_history(mk: Market, variant: int, client: TestClient) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    mk.place(seller, "ask", variant, 30_000)
    mk.place(seller, "ask", variant, 31_000)
    mk.place(seller, "ask", variant, 31_000)
    mk.place(buyer, "bid", variant, 25_000)
    for price in (30_000, 31_000):
        assert mk.place(buyer, "bid", variant, price, immediate=True).status == "filled"
    mk.drain(variant)

    book = client.get(f"{V1}/variants/{variant}/book")
    assert book.status_code == 200, book.text
    snap = market_data.snapshot(mk.redis, str(variant))
    assert book.json() == {
        "variant_id": variant,
        "seq": snap.sequence,
        "bids": [[25_000, 1]],
        "asks": [[31_000, 1]],
    }
    assert snap.sequence > 0

    m = client.get(f"{V1}/variants/{variant}/market").json()
    assert m["lowest_ask_cents"] == 31_000 and m["highest_bid_cents"] == 25_000
    assert m["last_sale"]["price_cents"] == 31_000
    assert m["sell_faster_cents"] == 25_000  # the highest bid sells at once
    assert m["earn_more_cents"] == 30_900  # first in line: the lowest ask less $1
    assert m["seq"] == snap.sequence

    # The tape, newest first, two pages of one; a voided trade leaves it.
    first = client.get(f"{V1}/variants/{variant}/trades", params={"limit": 1}).json()
    assert [t["price_cents"] for t in first["items"]] == [31_000]
    second = client.get(
        f"{V1}/variants/{variant}/trades", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert [t["price_cents"] for t in second["items"]] == [30_000]
    assert second["next_cursor"] is None
    with mk.session() as s:
        sale = s.exec(
            select(Sale).where(Sale.variant_id == variant, Sale.price_cents == 31_000)
        ).one()
        assert sale.trade_id is not None
        tape.void_trade(session=s, trade_id=sale.trade_id)
        s.commit()
    items = client.get(f"{V1}/variants/{variant}/trades").json()["items"]
    assert [t["price_cents"] for t in items] == [30_000]

    history = client.get(f"{V1}/variants/{variant}/history").json()
    [day] = history["days"]
    assert (day["open_cents"], day["high_cents"], day["low_cents"], day["close_cents"]) == (
        30_000,
        30_000,
        30_000,
        30_000,
    )
    assert day["volume"] == 1


def test_unknown_and_malformed_ids_and_cursors_get_clear_errors(
    mk: Market, variant: int, client: TestClient
) -> None:
    for path in ("book", "market", "trades", "history"):
        r = client.get(f"{V1}/variants/999999/{path}")
        assert r.status_code == 404 and _error(r)["code"] == "not_found"
        for bad in ("abc", "-1", "0", str(2**40)):
            r = client.get(f"{V1}/variants/{bad}/{path}")
            assert r.status_code == 422 and _error(r)["code"] == "invalid_request", (bad, r.text)
    r = client.get(f"{V1}/variants/{variant}/trades", params={"cursor": "not-a-cursor"})
    assert r.status_code == 400 and _error(r) == {
        "code": "invalid_cursor",
        "message": "That cursor is not one this list gave out.",
        "field": "cursor",
    }
    for forged in (
        {"k": "tape", "v": variant, "t": "2020-01-01T00:00:00+00:00", "i": 2**70},
        {"k": "tape", "v": variant, "t": "2020-01-01T00:00:00+00:00", "i": True},
        {"k": "tape", "v": variant, "t": "2020-01-01", "i": 5},
        {"k": "tape", "v": variant, "t": 5, "i": 5},
        {"k": "products", "q": [], "o": 0},
    ):
        raw = json.dumps(forged).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        r = client.get(f"{V1}/variants/{variant}/trades", params={"cursor": cursor})
        assert r.status_code == 400 and _error(r)["code"] == "invalid_cursor", (forged, r.text)
    r = client.get(f"{V1}/products/no-such-pair")
    assert r.status_code == 404 and _error(r)["code"] == "not_found"
    r = client.get(f"{V1}/products", params={"sort": "cheapest"})
    assert r.status_code == 400 and _error(r)["field"] == "sort"
    r = client.get(f"{V1}/nowhere")
    assert r.status_code == 404 and _error(r)["code"] == "not_found"


def test_products_page_by_cursor_and_a_product_has_every_size_system(
    mk: Market, client: TestClient
) -> None:
    from tests.support import factories

    with mk.session() as s:
        for _ in range(3):
            factories.variant(s, "10")
        s.commit()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "sort": "newest"}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{V1}/products", params=params).json()
        seen += [p["slug"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 3
    # A cursor from one search does not page another.
    first = client.get(f"{V1}/products", params={"limit": 1, "sort": "newest"}).json()
    r = client.get(
        f"{V1}/products",
        params={"limit": 1, "sort": "price_low", "cursor": first["next_cursor"]},
    )
    assert r.status_code == 400 and _error(r)["code"] == "invalid_cursor"

    product = client.get(f"{V1}/products/{seen[0]}").json()
    [size] = product["variants"]
    assert size["size"] == "10"
    assert size["sizes"]["us_m"] == "US M 10" and size["sizes"]["eu"] == "EU 44"


# --- keys and scopes -----------------------------------------------------------------------


def test_own_data_needs_a_valid_key_and_trading_a_trade_key(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller = mk.seller()
    order = {"variant_id": variant, "price_cents": 30_000}
    r = client.get(f"{V1}/me/asks")
    assert r.status_code == 401 and _error(r)["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = client.get(f"{V1}/me/asks", headers={"Authorization": "Bearer snk_000000000000_nope"})
    assert r.status_code == 401
    read = _key(mk, seller, "read")
    assert client.get(f"{V1}/me/asks", headers=read).json() == []
    r = client.post(f"{V1}/me/asks", json=order, headers=_new(read))
    assert r.status_code == 403 and _error(r)["code"] == "forbidden"
    assert _asks(mk, seller) == []
    # A wrong key on a public route is refused too (not silently treated as anonymous).
    r = client.get(f"{V1}/variants/{variant}/book", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401

    trade = _key(mk, seller, "trade")
    r = client.post(f"{V1}/me/asks", json=order, headers=_new(trade))
    assert r.status_code == 201, r.text
    listed = client.get(f"{V1}/me/asks", headers=read).json()
    assert [(a["id"], a["price_cents"], a["leads"]) for a in listed] == [
        (r.json()["id"], 30_000, True)
    ]
    with mk.session() as s:
        [key_id] = [
            k.id for k in api_keys.list_keys(session=s, user_id=seller) if "trade" in k.scopes
        ]
        assert api_keys.revoke(session=s, user_id=seller, key_id=key_id)
    r = client.post(f"{V1}/me/asks", json=order, headers=_new(trade))
    assert r.status_code == 401
    assert len(_asks(mk, seller)) == 1


# --- trading -------------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_places_nothing_new(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller = mk.seller()
    trade = _key(mk, seller, "trade")
    order = {"variant_id": variant, "price_cents": 30_000, "expiry_days": 14}
    r = client.post(f"{V1}/me/asks", json=order, headers=trade)
    assert r.status_code == 400 and _error(r)["code"] == "idempotency_key_required"
    r = client.post(f"{V1}/me/asks", json=order, headers=trade | {"Idempotency-Key": "short"})
    assert r.status_code == 400 and _error(r)["code"] == "idempotency_key_invalid"
    assert _asks(mk, seller) == []

    headers = _new(trade)
    first = client.post(f"{V1}/me/asks", json=order, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "open" and first.json()["resting_quantity"] == 1
    again = client.post(f"{V1}/me/asks", json=order, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(_asks(mk, seller)) == 1
    # The same key for another request is refused, and places nothing.
    other = client.post(f"{V1}/me/asks", json=order | {"price_cents": 40_000}, headers=headers)
    assert other.status_code == 422 and _error(other)["code"] == "idempotency_key_reused"
    assert len(_asks(mk, seller)) == 1
    # Another member's same key is their own.
    someone = mk.seller()
    theirs = client.post(
        f"{V1}/me/asks",
        json=order,
        headers=_key(mk, someone, "trade") | {"Idempotency-Key": headers["Idempotency-Key"]},
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


def test_a_refusal_is_the_pages_refusal_and_is_kept_for_the_retry(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    trade = _key(mk, seller, "trade")
    headers = _new(trade)
    low = {"variant_id": variant, "price_cents": 500}
    r = client.post(f"{V1}/me/asks", json=low, headers=headers)
    assert r.status_code == 422
    assert _error(r)["code"] == "order_refused" and _error(r)["field"] == "price_cents"
    assert "below that the fees would exceed your payout" in _error(r)["message"]
    again = client.post(f"{V1}/me/asks", json=low, headers=headers)
    assert again.json() == r.json() and again.headers["Idempotent-Replayed"] == "true"
    # Validation of the body itself: not a number, negative, an unknown field.
    for body in (
        {"variant_id": variant, "price_cents": "abc"},
        {"variant_id": variant, "price_cents": -5},
        {"variant_id": variant, "price_cents": 30_000, "quantity": 5},
        {"variant_id": variant, "price_cents": 30_000, "immediate": True, "expiry_days": 7},
        {"variant_id": variant, "price_cents": 30_000, "payment_card_id": 1},
    ):
        r = client.post(f"{V1}/me/asks", json=body, headers=_new(trade))
        assert r.status_code == 422 and _error(r)["code"] == "invalid_request", (body, r.text)
    assert _asks(mk, seller) == []
    # A buyer without a card on file is refused as on the product page.
    with mk.session() as s:
        from tests.support import factories

        cardless = factories.user(s, "Cardless")
        s.commit()
    r = client.post(
        f"{V1}/me/bids",
        json={"variant_id": variant, "price_cents": 20_000},
        headers=_new(_key(mk, cardless, "trade")),
    )
    assert r.status_code == 422 and "Add a card" in _error(r)["message"]
    # Buy Now through the API fills against the ask and becomes an order once recorded.
    client.post(
        f"{V1}/me/asks", json={"variant_id": variant, "price_cents": 30_000}, headers=_new(trade)
    )
    r = client.post(
        f"{V1}/me/bids",
        json={"variant_id": variant, "price_cents": 30_000, "immediate": True},
        headers=_new(_key(mk, buyer, "trade")),
    )
    assert r.status_code == 201 and r.json()["status"] == "filled", r.text
    mk.drain(variant)
    mine = client.get(f"{V1}/me/orders", headers=_key(mk, buyer, "read")).json()
    assert [(o["role"], o["price_cents"]) for o in mine] == [("buying", 30_000)]
    sold = client.get(f"{V1}/me/orders", params={"role": "selling"}, headers=trade).json()
    assert [o["id"] for o in sold] == [mine[0]["id"]]


def test_a_batch_of_asks_places_the_good_ones_and_says_why_each_other_was_refused(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller = mk.seller()
    trade = _key(mk, seller, "trade")
    headers = _new(trade)
    batch = {
        "asks": [
            {"variant_id": variant, "price_cents": 30_000},
            {"variant_id": variant, "price_cents": 500},
            {"variant_id": 999_999, "price_cents": 30_000},
            {"variant_id": variant, "price_cents": 32_000, "expiry_days": 60},
            {"variant_id": variant, "price_cents": 33_000, "expiry_days": 2},
            {"variant_id": variant, "price_cents": 33_000, "expiry_days": 0},
        ]
    }
    r = client.post(f"{V1}/me/asks/batch", json=batch, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["placed"], body["refused"]) == (2, 4)
    assert [item["ok"] for item in body["results"]] == [True, False, False, True, False, False]
    assert [item["error"]["field"] for item in body["results"] if not item["ok"]] == [
        "price_cents",
        "variant_id",
        "expiry_days",
        "expiry_days",
    ]
    assert sorted(a.price_cents for a in _asks(mk, seller)) == [30_000, 32_000]
    again = client.post(f"{V1}/me/asks/batch", json=batch, headers=headers)
    assert again.json() == body and len(_asks(mk, seller)) == 2
    too_many = {"asks": [{"variant_id": variant, "price_cents": 30_000}] * 101}
    r = client.post(f"{V1}/me/asks/batch", json=too_many, headers=_new(trade))
    assert r.status_code == 422 and len(_asks(mk, seller)) == 2


def test_repricing_and_cancelling_are_for_the_owner_only(
    mk: Market, variant: int, client: TestClient
) -> None:
    owner, other = mk.seller(), mk.buyer()
    mine, theirs = _key(mk, owner, "trade"), _key(mk, other, "trade")
    placed = client.post(
        f"{V1}/me/asks", json={"variant_id": variant, "price_cents": 30_000}, headers=_new(mine)
    ).json()
    ask_id = placed["id"]
    bid = client.post(
        f"{V1}/me/bids", json={"variant_id": variant, "price_cents": 20_000}, headers=_new(theirs)
    ).json()
    for method, path in (
        ("PATCH", f"/me/asks/{ask_id}"),
        ("DELETE", f"/me/asks/{ask_id}"),
        ("PATCH", f"/me/bids/{bid['id']}"),  # the owner's key on someone else's bid
    ):
        headers = theirs if "asks" in path else mine
        r = client.request(method, V1 + path, json={"price_cents": 25_000}, headers=headers)
        assert r.status_code == 404 and _error(r)["code"] == "not_found", (path, r.text)
    with mk.session() as s:
        row = s.get(Ask, ask_id)
        other_bid = s.get(Bid, bid["id"])
        assert row is not None and (row.price_cents, row.status) == (30_000, "open")
        assert other_bid is not None and other_bid.price_cents == 20_000

    r = client.patch(f"{V1}/me/asks/{ask_id}", json={"price_cents": 29_000}, headers=mine)
    assert r.status_code == 200, r.text
    assert market_data.snapshot(mk.redis, str(variant)).asks[0].price_cents == 29_000
    r = client.delete(f"{V1}/me/asks/{r.json()['id']}", headers=mine)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert market_data.snapshot(mk.redis, str(variant)).asks == ()
    r = client.delete(f"{V1}/me/asks/{ask_id}", headers=mine)
    assert r.status_code == 422 and "no longer open" in _error(r)["message"]


def test_the_seller_marks_a_sale_shipped_and_nobody_else_can(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller, buyer = mk.seller(), mk.buyer()
    order_id = mk.paid_order(seller, buyer, variant)
    url = f"{V1}/me/orders/{order_id}/shipped"
    good = {"tracking_number": "1Z999AA10123456784"}
    r = client.post(url, json=good, headers=_key(mk, buyer, "trade"))
    assert r.status_code == 404
    r = client.post(url, json={"tracking_number": "12 34"}, headers=_key(mk, seller, "trade"))
    assert r.status_code == 422 and _error(r)["field"] == "tracking_number"
    r = client.post(url, json=good, headers=_key(mk, seller, "read"))
    assert r.status_code == 403
    assert mk.order(order_id).status == "awaiting_shipment"
    r = client.post(url, json=good, headers=_key(mk, seller, "trade"))
    assert r.status_code == 200 and r.json() == {
        "order_id": order_id,
        "status": "shipped_to_verification",
        "changed": True,
    }
    with mk.session() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.inbound_tracking == good["tracking_number"]


# --- limits --------------------------------------------------------------------------------


def test_over_the_limit_is_429_with_retry_after_and_every_answer_says_what_is_left(
    mk: Market, variant: int, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_API_KEY", "3/minute")
    monkeypatch.setenv("RATE_LIMIT_API_PUBLIC_IP", "2/minute")
    settings.get_settings.cache_clear()
    seller = mk.seller()
    key = _key(mk, seller, "read")
    remaining = []
    for _ in range(3):
        r = client.get(f"{V1}/me/asks", headers=key)
        assert r.status_code == 200
        assert r.headers["RateLimit-Limit"] == "3"
        assert r.headers["RateLimit-Policy"] == "3;w=60"
        remaining.append(int(r.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    r = client.get(f"{V1}/me/asks", headers=key)
    assert r.status_code == 429 and _error(r)["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["RateLimit-Remaining"] == "0"
    # Another key of the same member has its own window; anonymous callers share the IP's.
    assert client.get(f"{V1}/me/asks", headers=_key(mk, seller, "read")).status_code == 200
    codes = [client.get(f"{V1}/variants/{variant}/book").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_body_over_64_kb_is_refused_before_it_is_read(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller = mk.seller()
    trade = _new(_key(mk, seller, "trade"))
    huge = {"asks": [{"variant_id": variant, "price_cents": 30_000}], "pad": "x" * 70_000}
    r = client.post(f"{V1}/me/asks/batch", json=huge, headers=trade)
    assert r.status_code == 413 and _error(r)["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"asks": ['
        for _ in range(2_000):
            yield b'{"variant_id": 1, "price_cents": 30000},'
        yield b"]}"

    headers = trade | {"Content-Type": "application/json"}
    r = client.post(f"{V1}/me/asks/batch", content=chunks(), headers=headers)
    assert r.status_code == 413 and _error(r)["code"] == "body_too_large"
    assert _asks(mk, seller) == []


def test_guessing_keys_is_counted_like_reading_the_market(
    mk: Market, variant: int, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_API_PUBLIC_IP", "2/minute")
    settings.get_settings.cache_clear()
    guesses = [
        client.get(
            f"{V1}/me/asks", headers={"Authorization": f"Bearer snk_{i:012d}_{'x' * 43}"}
        ).status_code
        for i in range(3)
    ]
    assert guesses == [401, 401, 429]


def test_a_batch_cut_short_by_the_order_limit_is_finished_by_the_same_request_later(
    mk: Market, variant: int, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_ORDERS_USER", "2/minute")
    settings.get_settings.cache_clear()
    seller = mk.seller()
    headers = _new(_key(mk, seller, "trade"))
    batch = {"asks": [{"variant_id": variant, "price_cents": 30_000 + i * 100} for i in range(3)]}
    first = client.post(f"{V1}/me/asks/batch", json=batch, headers=headers).json()
    assert (first["placed"], first["refused"]) == (2, 1)
    assert first["results"][2]["error"]["code"] == "rate_limited"
    for key in mk.redis.scan_iter("LIMITS*"):  # the minute passes
        mk.redis.delete(key)
    again = client.post(f"{V1}/me/asks/batch", json=batch, headers=headers)
    assert "Idempotent-Replayed" not in again.headers
    body = again.json()
    assert (body["placed"], body["refused"]) == (3, 0)
    assert [r["placement"]["id"] for r in body["results"][:2]] == [
        r["placement"]["id"] for r in first["results"][:2]
    ]
    assert sorted(a.price_cents for a in _asks(mk, seller)) == [30_000, 30_100, 30_200]
    # Complete now, the answer is kept: a third send changes nothing.
    third = client.post(f"{V1}/me/asks/batch", json=batch, headers=headers)
    assert third.headers["Idempotent-Replayed"] == "true" and third.json() == body
    assert len(_asks(mk, seller)) == 3


def test_a_key_used_again_after_its_answer_was_forgotten_places_the_new_request(
    mk: Market, variant: int, client: TestClient
) -> None:
    seller = mk.seller()
    headers = _new(_key(mk, seller, "trade"))
    order = {"variant_id": variant, "price_cents": 30_000}
    first = client.post(f"{V1}/me/asks", json=order, headers=headers).json()
    with mk.session() as s:
        assert api_requests.purge(session=s, now=utcnow() + timedelta(hours=25)) >= 1
    later = client.post(f"{V1}/me/asks", json=order | {"price_cents": 31_000}, headers=headers)
    assert later.status_code == 201 and later.json()["id"] != first["id"]
    assert sorted(a.price_cents for a in _asks(mk, seller)) == [30_000, 31_000]
