"""A tab keeps its session when the web worker holding it goes away (several backend workers,
REFLEX_STATE_MANAGER_MODE=redis).

Reflex records which worker holds each tab's socket (the tab's token's socket record, in the
sessions' Redis, for an hour) and takes a record that still exists when the tab connects for a
second tab with the same token (a duplicated browser tab): the connecting tab gets a new token,
that is a new, empty session. A worker that stops cleanly deletes its records first; one that
crashes, is killed or dies in its shutdown leaves them, and every tab it held would come back
logged out of its choices (its session still in Redis, under a token nobody uses).

So each worker says it is alive (`alive:<instance id>`, expiring `ALIVE_SECONDS` after its last
renewal every `BEAT_SECONDS`, a lifespan task), and before Reflex looks at a connecting tab's
record, a record whose worker is no longer alive is deleted (compare-and-delete: only that
record), so the tab keeps its token and carries on where it was. A record held by a worker
that is alive is Reflex's to judge, as before; one whose worker's mark is still running down
after a crash is waited for, at most ALIVE_SECONDS, which only such a tab (or a duplicated
tab) ever waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from typing import Any

from state.base import event_namespace

logger = logging.getLogger(__name__)

ALIVE_PREFIX = "sneakers:web-worker-alive:"
ALIVE_SECONDS = 4
BEAT_SECONDS = 1.0
RECORD_PREFIX = "token_manager_socket_record_"
_DELETE_IF_SAME = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def _redis_token_manager() -> Any | None:
    namespace = event_namespace()
    manager = getattr(namespace, "_token_manager", None)
    if manager is None or not hasattr(manager, "redis"):
        return None  # memory mode: one process, nothing to hand over
    return manager


async def _orphaned(manager: Any, token: str) -> bool:
    """Whether the token's socket record names a worker that is gone (then it is deleted)."""
    key = RECORD_PREFIX + token
    waited = 0.0
    while True:
        record = await manager.redis.get(key)
        if record is None:
            return False
        try:
            owner = pickle.loads(record).instance_id  # noqa: S301 - Reflex's own record
        except Exception:
            return False
        if owner == manager.instance_id:
            return False
        if not await manager.redis.exists(ALIVE_PREFIX + owner):
            await manager.redis.eval(_DELETE_IF_SAME, 1, key, record)
            return True
        if waited >= ALIVE_SECONDS:
            return False  # its worker is alive: a duplicated tab, Reflex gives it a new token
        await asyncio.sleep(0.25)
        waited += 0.25


def _install(manager: Any) -> None:
    if getattr(manager, "_sneakers_hand_over", False):
        return
    link = manager.link_token_to_sid

    async def link_token_to_sid(token: str, sid: str) -> str | None:
        with contextlib.suppress(Exception):  # Redis away: Reflex's own handling, as before
            if await _orphaned(manager, token):
                logger.info("tab %s reconnected from a worker that is gone", token[:8])
        result: str | None = await link(token, sid)
        return result

    manager.link_token_to_sid = link_token_to_sid
    manager._sneakers_hand_over = True


async def keep_alive() -> None:
    """The worker's lifespan task: installs the hand-over and renews the worker's mark."""
    manager = _redis_token_manager()
    if manager is None:
        return
    _install(manager)
    while True:
        try:
            # The instance id is read on every beat: Reflex gives a forked worker its own.
            await manager.redis.set(ALIVE_PREFIX + manager.instance_id, 1, ex=ALIVE_SECONDS)
        except Exception:
            logger.warning("could not renew this web worker's mark in Redis", exc_info=True)
        await asyncio.sleep(BEAT_SECONDS)
