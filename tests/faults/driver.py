"""A stream of bids, asks and Buy Nows through the service layer, as the web backend sends them.

Run as its own process by the fault suite (`python -m tests.faults.driver ...`) with the stack's
environment: it plays the Reflex backend, calling `services.market.place` inside
`session_scope()` exactly as `state/product.py` does, and writes one JSON line per attempt: what
the user would have been told. A fault may make a call fail: the failure is recorded (the user
saw an error) and the stream goes on.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from sneakers_app.db import session_scope
from sneakers_app.models import Ask
from sneakers_app.redis_client import get_matching_engine
from sneakers_app.services import market


def _lowest_ask(variant_id: int, buyer_id: int) -> int | None:
    with session_scope() as session:
        low = session.exec(
            select(func.min(Ask.price_cents)).where(
                Ask.variant_id == variant_id,
                Ask.user_id != buyer_id,
                col(Ask.status).in_(("open", "partially_filled")),
                Ask.time_in_force == "gtc",
            )
        ).one()
    return int(low) if low is not None else None


def one(
    rng: random.Random,
    sellers: list[int],
    buyers: list[int],
    variants: list[int],
    action: str = "",
) -> dict[str, Any]:
    variant_id = rng.choice(variants)
    roll = 0.99 if action == "buy_now" else rng.random()
    if roll < 0.45:
        side, user_id, immediate = "ask", rng.choice(sellers), False
        price = rng.randrange(200, 241) * 100
    elif roll < 0.75:
        side, user_id, immediate = "bid", rng.choice(buyers), False
        price = rng.randrange(180, 231) * 100
    else:
        side, user_id, immediate = "bid", rng.choice(buyers), True
        low = _lowest_ask(variant_id, user_id)
        if low is None:
            return {"action": "skip"}
        price = low
    key = uuid.uuid4().hex
    record: dict[str, Any] = {
        "action": "buy_now" if immediate else side,
        "side": side,
        "user_id": user_id,
        "variant_id": variant_id,
        "price_cents": price,
        "key": key,
        "at": time.time(),
    }
    try:
        with session_scope() as session:
            placed = market.place(
                session=session,
                engine=get_matching_engine(),
                user_id=user_id,
                side=side,  # type: ignore[arg-type]
                variant_id=variant_id,
                price_cents=price,
                client_key=key,
                expiry_days=None if immediate else 30,
                immediate=immediate,
            )
        record.update(
            ok=True,
            row_id=placed.row_id,
            status=placed.status,
            filled=placed.filled_quantity,
            message=placed.message,
        )
    except market.MarketError as exc:
        record.update(ok=False, refused=True, message=exc.message)
    except Exception as exc:
        record.update(ok=False, refused=False, error=f"{type(exc).__name__}: {exc}"[:300])
    return record


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument(
        "--buy-now", type=int, metavar="USER", help="one Buy Now by USER on the first size"
    )
    parser.add_argument("--rate", type=float, default=40.0, help="attempts per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sellers", required=True)
    parser.add_argument("--buyers", required=True)
    parser.add_argument("--variants", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",")]

    sellers, buyers, variants = ints(args.sellers), ints(args.buyers), ints(args.variants)
    if args.buy_now:
        rng = random.Random(0)
        record = one(rng, sellers, [args.buy_now], variants[:1], action="buy_now")
        with args.out.open("a") as out:
            out.write(json.dumps(record) + "\n")
        return 0
    end = time.monotonic() + args.seconds
    gap = 1.0 / args.rate
    with args.out.open("a", buffering=1) as out:
        while time.monotonic() < end:
            started = time.monotonic()
            record = one(rng, sellers, buyers, variants)
            if record.get("action") != "skip":
                out.write(json.dumps(record) + "\n")
            time.sleep(max(0.0, gap - (time.monotonic() - started)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
