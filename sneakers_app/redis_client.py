"""One Redis client and matching engine per process, from REDIS_URL.

A `redis+cluster://` URL (or REDIS_CLUSTER=1) selects Redis Cluster: the engine's keys are
hash-tagged per book, so nothing else changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from redis.cluster import RedisCluster

from sneakers_app.settings import get_settings
from trading.engine import RedisEngine


@lru_cache
def get_redis() -> Any:
    url = get_settings().redis_url
    if url.startswith("redis+cluster://"):
        return RedisCluster.from_url(url.replace("redis+cluster://", "redis://", 1))
    return redis.Redis.from_url(url)


@lru_cache
def get_matching_engine() -> RedisEngine:
    return RedisEngine(get_redis())
