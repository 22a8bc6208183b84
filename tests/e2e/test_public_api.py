"""The public API served by the running marketplace (its own backend, the production build):
the catalog and a size's market read without a key, an ask listed with a key and seen in the
book at a later sequence, and the documentation page rendered in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlmodel import Session

from sneakers_app import embedded
from sneakers_app.services import accounts, api_keys, payments
from sneakers_app.settings import PROJECT_ROOT
from tests.e2e.conftest import PASSWORD, LiveApp, shoot


def _seller_key(db: Engine) -> str:
    with Session(db, expire_on_commit=False) as session:
        seller = accounts.sign_up(
            session=session,
            email=f"api-{uuid.uuid4().hex[:8]}@example.com",
            display_name="Script Seller",
            password=PASSWORD,
        )
        payments.save_payout_account(
            session=session,
            user_id=seller.id,
            kind="manual",
            account_ref="IBAN GB33BUKB20201555555555",
            holder_name="Script Seller",
        )
        session.commit()
        return api_keys.create(
            session=session, user_id=seller.id, name="listing script", scopes=["trade"]
        ).secret


def test_a_script_reads_the_market_and_lists_an_ask(live_app: LiveApp, live_db: Engine) -> None:
    api = httpx.Client(base_url=live_app.url + "/api/v1", timeout=30)
    page = api.get("/products", params={"limit": 3, "sort": "most_active"})
    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == 3 and page.json()["next_cursor"]
    assert page.headers["RateLimit-Limit"]
    slug = page.json()["items"][0]["slug"]
    product = api.get(f"/products/{slug}").json()
    size = next(v for v in product["variants"] if v["size"] == "10")
    variant = size["variant_id"]
    before = api.get(f"/variants/{variant}/market").json()
    assert before["lowest_ask_cents"] and before["highest_bid_cents"]
    price = before["lowest_ask_cents"] + 7_300  # above the best ask: it rests

    key = _seller_key(live_db)
    auth = {"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"variant_id": variant, "price_cents": price, "expiry_days": 30}
    placed = api.post("/me/asks", json=body, headers=auth)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "open"
    again = api.post("/me/asks", json=body, headers=auth)
    assert again.json() == placed.json() and again.headers["Idempotent-Replayed"] == "true"

    book = api.get(f"/variants/{variant}/book").json()
    assert [price, 1] in book["asks"] and book["seq"] > before["seq"]
    mine = api.get("/me/asks", headers={"Authorization": f"Bearer {key}"}).json()
    assert [(a["id"], a["price_cents"], a["size"]) for a in mine] == [
        (placed.json()["id"], price, "10")
    ]
    # Cancelled through the API: the shared demo book is left as it was for the other tests.
    _cancel_every_ask(api, key)
    assert [price, 1] not in api.get(f"/variants/{variant}/book").json()["asks"]


def _cancel_every_ask(api: httpx.Client, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    for ask in api.get("/me/asks", headers=auth).json():
        done = api.delete(f"/me/asks/{ask['id']}", headers=auth)
        assert done.status_code == 200 and done.json()["status"] == "cancelled", done.text
    assert api.get("/me/asks", headers=auth).json() == []


def test_the_documentation_page_shows_every_route(page: Page, live_app: LiveApp) -> None:
    page.goto(live_app.url + "/api/v1/docs")
    expect(page.get_by_role("heading", name=re.compile("Sneakers Marketplace API"))).to_be_visible(
        timeout=30_000
    )
    for path in ("/products", "/variants/{variant_id}/book", "/me/asks/batch"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    shoot(page, "api-docs")
    spec = httpx.get(live_app.url + "/api/v1/openapi.json", timeout=30).json()
    assert spec["servers"] == [{"url": "/api/v1"}]
    assert "API key" in spec["components"]["securitySchemes"]


def _example(work: Path) -> Path:
    """The example script exactly as docs/api.md publishes it."""
    text = (PROJECT_ROOT / "docs" / "api.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    script = work / "follow_book.py"
    script.write_text(code)
    return script


@pytest.fixture
def feed(live_app: LiveApp, tmp_path: Path) -> Iterator[str]:
    """One more market-data feed process on the running marketplace's Redis."""
    port = embedded.free_port()
    log = (tmp_path / "feed.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sneakers_app", "market-feed"],
        env=live_app.env | {"FEED_HOST": "127.0.0.1", "FEED_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        embedded.wait_http(f"http://127.0.0.1:{port}/healthz", process, 60, tmp_path / "feed.log")
        yield f"ws://127.0.0.1:{port}/api/v1/stream"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_the_documented_example_follows_a_book_and_lists_an_ask(
    live_app: LiveApp, live_db: Engine, feed: str, tmp_path: Path
) -> None:
    slug = "air-jordan-1-retro-high-og-chicago-lost-and-found"
    key = _seller_key(live_db)
    done = subprocess.run(
        [
            sys.executable,
            str(_example(tmp_path)),
            "--api",
            live_app.url + "/api/v1",
            "--feed",
            feed,
            "--product",
            slug,
            "--key",
            key,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("listed: Your ask") for line in lines), done.stdout
    on_book = r"^your ask at \$[\d,]+\.\d\d is on the book \(seq \d+\)$"
    assert any(re.search(on_book, line) for line in lines), lines
    _cancel_every_ask(httpx.Client(base_url=live_app.url + "/api/v1", timeout=30), key)
