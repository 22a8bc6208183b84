"""The book's function library: every command is an FCALL of a library loaded once per server;
a server that lost its functions gets them again; a server too old for functions is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.support import servers
from tests.trading.conftest import FakeClock
from tests.trading.helpers import T0, ask, bid, cancel
from trading.engine import Outcome, RedisEngine
from trading.orders import (
    DAY_MS,
    Command,
    ExpireOrders,
    ModifyOrder,
    PlaceOrder,
    PlaceResult,
    Side,
)
from trading.recovery import OpenOrder, rebuild_book
from trading.reference import ReferenceEngine
from trading.scripts import LIBRARY, UnsupportedServer, check_server, server_version


@pytest.fixture
def server() -> Iterator[servers.RedisServer]:
    """A server of the test's own, which the test may restart."""
    s = servers.start_redis()
    yield s
    s.stop()


def _stream() -> list[Command | list[PlaceOrder]]:
    """Places that rest, cross, sweep several levels, replay, are refused; a cancel, modifies
    (keeping and losing priority), an expiry, and batches."""
    return [
        ask("a0", "s3", 20_500, 1, expires_at=T0 + 10),  # expired when b2 comes
        ask("a1", "s1", 20_000, 2),
        ask("a2", "s2", 21_000, 1, expires_at=T0 + DAY_MS),
        ask("a3", "s1", 22_000, 3),
        bid("b1", "u1", 19_000, 2),
        bid("b2", "u2", 21_000, 4, ioc=True),  # a1 whole, a2 whole, the rest cancelled
        bid("b2", "u2", 21_000, 4, ioc=True),  # a replay
        bid("b3", "s1", 22_000, 1),  # would trade with its own user's ask: self-trade prevention
        bid("bad", "u1", -5),  # refused
        cancel("b1", "u1"),
        cancel("b1", "u1"),  # no longer open
        ModifyOrder(variant_id="v1", order_id="a3", user_id="s1", price_cents=22_000, quantity=2),
        ModifyOrder(variant_id="v1", order_id="a3", user_id="s1", price_cents=21_500, quantity=2),
        [bid(f"m{i}", f"u{i % 3}", 21_500 + 100 * (i % 2), 1) for i in range(5)],
        [ask(f"n{i}", "s3", 21_000 + 50 * i, 2) for i in range(4)],
        ExpireOrders(variant_id="v1", limit=100),
    ]


def _run(engine: RedisEngine | ReferenceEngine, clock: FakeClock) -> list[Any]:
    engine.open_book("v1")
    out: list[Any] = []
    for step in _stream():
        if isinstance(step, list):  # a batch places as that many places one after the other
            batch = engine.place_many if isinstance(engine, RedisEngine) else _one_by_one(engine)
            out.append(batch(step))
        else:
            got: Outcome = engine.execute(step)
            out.append(got)
        out.append(engine.snapshot("v1"))
        clock.advance(7)
    return out


def _one_by_one(ref: ReferenceEngine) -> Any:
    return lambda cmds: [ref.place(c) for c in cmds]


def _fcalls(client: Any) -> tuple[int, int]:
    stats: dict[str, Any] = client.info("commandstats")
    calls = [stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("fcall", "evalsha")]
    return calls[0], calls[1]


def test_the_fcall_path_equals_the_reference_engine(redis_client: Any) -> None:
    redis_client.config_resetstat()
    clock = FakeClock()
    got = _run(RedisEngine(redis_client, clock=clock), clock)
    fcalls, evalshas = _fcalls(redis_client)
    clock = FakeClock()
    want = _run(ReferenceEngine(clock=clock), clock)
    assert got == want
    assert any(isinstance(r, PlaceResult) and len(r.fills) == 2 for r in got)
    assert fcalls >= len(_stream()) * 2 and evalshas == 0


def test_a_restarted_server_without_its_functions_gets_them_again(
    server: servers.RedisServer, clock: FakeClock
) -> None:
    """A restart without persistence: no data, no functions. The engine made before it loads
    the library again on "Function not found" and every command works, single and batched."""
    client: Any = redis.Redis.from_url(server.url)
    engine = RedisEngine(client, clock=clock)
    assert engine.open_book("v1")
    server.kill9()
    server.start()  # same port, no append-only file: an empty server
    assert client.function_list() == []
    assert engine.open_book("v1")  # the first call after the restart: the library is reloaded
    assert [lib[1] for lib in client.function_list()] == [LIBRARY.name.encode()]
    engine.place(ask("a1", "s1", 20_000))
    server.kill9()
    server.start()
    client.function_list()  # reconnect
    engine.open_book("v1")
    many = engine.place_many([bid("b1", "u1", 20_000), ask("a1", "s1", 20_000)])
    assert [type(r) for r in many] == [PlaceResult, PlaceResult]
    client.function_flush()
    result = engine.place(bid("b2", "u1", 20_000))
    assert isinstance(result, PlaceResult) and result.sequence == 4  # after b1, a1 and a trade
    client.close()


def test_a_server_too_old_for_functions_is_refused() -> None:
    for old in (
        {"redis_version": "6.2.14"},
        {"redis_version": "5.0.7"},
        {"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "7.1.9"},
        {},
    ):
        with pytest.raises(UnsupportedServer, match=r"Redis >= 7\.0 or Valkey >= 7\.2"):
            check_server(old)
    for new in (
        {"redis_version": "7.0.0"},
        {"redis_version": "8.2.1"},
        {"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "7.2.0"},
        {"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "9.1.2"},
    ):
        check_server(new)
    assert server_version({"redis_version": "7.2.4", "valkey_version": "9.1.2"}) == (
        "valkey",
        (9, 1, 2),
    )


def test_the_test_server_is_new_enough_and_checked_at_engine_start(redis_client: Any) -> None:
    kind, version = server_version(redis_client.info("server"))
    assert (kind, version[:2]) == ("valkey", (9, 1))
    RedisEngine(redis_client)  # checks the server, loads the library
    assert redis_client.fcall(LIBRARY.function("noop"), 0) == 1


def test_an_order_expiring_sooner_than_any_before_is_expired_on_time(
    redis_client: Any, clock: FakeClock
) -> None:
    """Nothing due, nothing read: the book keeps a bound of its earliest expiry. An order that
    expires sooner lowers it, and a rebuild (which may bring back any expiry) forgets it."""
    engine = RedisEngine(redis_client, clock=clock)
    engine.open_book("v1")
    engine.place(ask("a1", "s1", 20_000, expires_at=T0 + DAY_MS))
    engine.place(ask("a2", "s1", 20_100, expires_at=T0 + 1_000))  # sooner than the bound
    clock.advance(2_000)
    result = engine.place(bid("b1", "u1", 19_000))
    assert isinstance(result, PlaceResult) and type(result.events[0]).__name__ == "Expired"
    soon = clock.now + 1_000  # sooner than the bound the book keeps (a1's expiry)
    r1 = OpenOrder(order_id="r1", user_id="s2", side=Side.ASK, price_cents=21_000, remaining=1,
                   sequence=50, expires_at=soon)  # fmt: skip
    rebuild_book(redis_client, "v1", [r1], last_sequence=60, clock=clock)
    clock.advance(2_000)
    result = engine.place(bid("b2", "u1", 19_000))
    assert isinstance(result, PlaceResult) and type(result.events[0]).__name__ == "Expired"
    assert engine.snapshot("v1").asks == ()
