"""Where a background event's slow work runs, off the backend's event loop (docs/limits.md).

Three kinds, three pools, so one kind piling up never starves another:

- `password_work`: argon2 hashing and verification (CPU: each hash runs its 4 lanes on
  threads of its own). At most one thread per core but one, at a lower scheduling priority
  (nice 10; on Linux a thread's priority is its own and the threads it starts inherit it), so
  a flood of log-ins queues here and yields the cores to the event loop whenever it has work.
- `outside_call`: calls to Stripe (waiting on the network, up to STRIPE_TIMEOUT_SECONDS per
  request). Many threads: while Stripe is slow or away, every waiting card save holds one.
- everything else (database reads for a page): `asyncio.to_thread`, the loop's default pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

PASSWORD_NICE = 10


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the default priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PASSWORD_NICE)


_PASSWORDS = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 2) - 1),
    thread_name_prefix="password",
    initializer=_lower_priority,
)
_OUTSIDE = ThreadPoolExecutor(max_workers=32, thread_name_prefix="outside-call")


async def _run(pool: ThreadPoolExecutor, fn: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T:
    return await asyncio.get_running_loop().run_in_executor(
        pool, functools.partial(fn, *args, **kw)
    )


async def password_work(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await _run(_PASSWORDS, fn, *args, **kwargs)


async def outside_call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await _run(_OUTSIDE, fn, *args, **kwargs)
