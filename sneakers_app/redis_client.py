"""One Redis client and matching engine per process, from REDIS_URL.

A `redis+cluster://` URL (or REDIS_CLUSTER=1) selects Redis Cluster: the engine's keys are
hash-tagged per book, so nothing else changes.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import redis
import redis.utils
from redis.cluster import RedisCluster

from sneakers_app import metrics
from sneakers_app.settings import get_settings
from trading.engine import RedisEngine
from trading.scripts import Args, ScriptRunner


def _cache_lib_version() -> None:
    """Every new Redis connection (and Reflex opens one per wait for a session's lock) asks
    `redis.utils.get_lib_version`, which reads and parses the package's metadata from disk each
    time: a tenth of a web worker's time while a crowd opened a page. redis-py 8 caches it;
    Reflex 0.10.1 needs redis < 8, so the same cache is put here."""
    if not hasattr(redis.utils.get_lib_version, "cache_info"):
        redis.utils.get_lib_version = functools.cache(redis.utils.get_lib_version)


_cache_lib_version()


@lru_cache
def get_redis() -> Any:
    url = get_settings().redis_url
    if url.startswith("redis+cluster://"):
        return RedisCluster.from_url(url.replace("redis+cluster://", "redis://", 1))
    return redis.Redis.from_url(url)


class TimedScriptRunner(ScriptRunner):
    """Every engine command is one script call: timing it here times them all, once
    (`sneakers_engine_call_seconds`, by command and ok / error)."""

    def call(self, name: str, keys: Sequence[str], args: Args) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            reply = super().call(name, keys, args)
            outcome = "ok"
            return reply
        finally:
            elapsed = time.perf_counter() - started
            metrics.ENGINE_CALL_SECONDS.labels(command=name, outcome=outcome).observe(elapsed)


@lru_cache
def get_matching_engine() -> RedisEngine:
    engine = RedisEngine(get_redis())
    engine.scripts = TimedScriptRunner(engine.client)
    return engine
