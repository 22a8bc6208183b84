"""Garbage collector settings for the long-running processes: keep full passes off the work.

The web backend holds every open tab's session, plotly, Reflex's compiled app and the imported
libraries: with a thousand product pages open, a few million long-lived objects. CPython's
full (generation 2) collection walks all of them: it ran every second or two during
`scripts/bench_live.py` and took 200-600 ms, every live update waiting behind it. The journal
consumer and the Celery worker hold fewer (about 130,000 once SQLAlchemy, Celery and the app
are imported) but allocate fast (an ORM object per row): during a drop
(`scripts/bench_drop.py`) a full pass took 60-110 ms, several times per run, the worker
spending 0.6 s of its CPU on them, every charge waiting behind it. So, in the web
backend (`tune`):

- once the app has started, everything alive then (libraries, the compiled app) is moved to
  the permanent generation (`gc.freeze`): none of it is garbage, and no pass walks it again;
- the young generations are collected as usual (small, frequent, about a millisecond);
- the full pass does not run by itself but every `FULL_PASS_SECONDS` (cyclic garbage is rare
  here: the live loops make none; reference counting frees everything else at once).

The consumer and the Celery worker (`freeze_startup`) only freeze what they imported: their
full passes walk what they made since, and free their sessions' cycles as they come.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

THRESHOLDS = (700, 10, 1_000_000_000)
"""CPython's defaults for the young generations; the full pass only when `full_passes` runs it."""
SETTLE_SECONDS = 3.0
FULL_PASS_SECONDS = 600.0
SLOW_PASS_SECONDS = 0.1
"""A collection slower than this is logged (it delayed every live update by as much)."""

_started = [0.0]


def _watch(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = time.perf_counter() - _started[0]
    if took >= SLOW_PASS_SECONDS:
        log.warning(
            "gc: generation %s pass took %.0f ms (%s collected)",
            info.get("generation"),
            took * 1000,
            info.get("collected"),
        )


def tune() -> None:
    freeze_startup()
    gc.set_threshold(*THRESHOLDS)
    log.debug("gc: thresholds %s", THRESHOLDS)


def freeze_startup() -> None:
    """For the consumer and the Celery worker (call it once the process has imported
    everything): move what is alive now out of every pass. Their thresholds stay CPython's, so
    a full pass still runs by itself, over what they made since (their sessions' cycles are
    freed within seconds, not at a timer)."""
    gc.collect()
    gc.freeze()
    if _watch not in gc.callbacks:
        gc.callbacks.append(_watch)
    log.debug("gc: %d objects frozen", gc.get_freeze_count())


async def tune_after_startup() -> None:
    """A lifespan task of the Reflex app: tune once the app has started, then run the full pass
    every `FULL_PASS_SECONDS`."""
    await asyncio.sleep(SETTLE_SECONDS)
    tune()
    while True:
        await asyncio.sleep(FULL_PASS_SECONDS)
        gc.collect()
