"""A new Redis connection must not read the redis package's metadata from disk each time."""

from __future__ import annotations

from importlib import metadata

import pytest
import redis.asyncio
import redis.utils

from sneakers_app import redis_client


def test_a_new_connection_reads_the_library_version_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert redis_client is not None  # the app's own import caches it
    reads: list[str] = []
    real = metadata.version

    def counting(name: str) -> str:
        reads.append(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", counting)
    getattr(redis.utils.get_lib_version, "cache_clear", lambda: None)()
    connections = [redis.asyncio.Connection() for _ in range(5)]
    assert reads.count("redis") == 1
    assert connections[-1].driver_info is not None
    assert connections[-1].driver_info.lib_version == real("redis")
