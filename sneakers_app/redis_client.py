"""One Redis client and matching engine per process, from REDIS_URL.

A `redis+cluster://` URL (or REDIS_CLUSTER=1) selects Redis Cluster: the engine's keys are
hash-tagged per book, so nothing else changes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import redis
from redis.cluster import RedisCluster

from sneakers_app import metrics
from sneakers_app.settings import get_settings
from trading.engine import RedisEngine
from trading.scripts import Args, ScriptRunner


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
