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

A worker that is stopped (a rolling restart) lets its tabs go before the server stops serving
them (`let_tabs_go`): they come back at once on the workers that stay, with their sessions.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import pickle
import signal
import time
from collections.abc import Callable
from typing import Any

from engineio import packet

from sneakers_app import live
from state.base import event_namespace, stop_serving_tabs, worker_stopping

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
    _refuse_while_stopping(event_namespace())


async def keep_alive() -> None:
    """The worker's lifespan task: installs the hand-over, takes over the server's stop signal
    (see `let_tabs_go`) and renews the worker's mark."""
    manager = _redis_token_manager()
    if manager is None:
        return
    _install(manager)
    _take_over_stop_signals(manager)
    while True:
        try:
            # The instance id is read on every beat: Reflex gives a forked worker its own.
            await manager.redis.set(ALIVE_PREFIX + manager.instance_id, 1, ex=ALIVE_SECONDS)
        except Exception:
            logger.warning("could not renew this web worker's mark in Redis", exc_info=True)
        await asyncio.sleep(BEAT_SECONDS)


# --- a worker that is stopped lets its tabs go first ----------------------------------------------

LET_GO_SECONDS = 4.0
"""How long a stopping worker gives its tabs' connections to close before it stops serving."""
CLIENT_CLOSE_SECONDS = 1.5
"""How long a stopping worker waits for its tabs to close their connections on its goodbye."""
WORKER_KILL_SECONDS = 6
"""How long Granian's main process waits for a stopped worker to end before it kills it."""
_pending: set[asyncio.Task[None]] = set()
_taken: set[int] = set()  # the loops whose stop signals are handled here
_signalled: list[float] = []  # when the stop signal came (monotonic)


def _capture_server_stop() -> None:
    """Keep the event Granian's worker stops on (`granian._signals.set_loop_signals` makes it,
    in the worker, after loading the app; its signal handler only sets it), so a stop can run
    when this worker has let its tabs go, on any event loop (asyncio's or uvloop's)."""
    try:
        from granian import _signals
    except ImportError:  # not served by Granian (the development server): nothing to take over
        return
    if getattr(_signals.set_loop_signals, "_sneakers_wrapped", False):
        return
    make: Callable[[Any], Any] = _signals.set_loop_signals

    def set_loop_signals(loop: Any) -> Any:
        stop = make(loop)
        _server_stops[id(loop)] = stop
        return stop

    set_loop_signals._sneakers_wrapped = True  # type: ignore[attr-defined]
    _signals.set_loop_signals = set_loop_signals


_server_stops: dict[int, Any] = {}
_capture_server_stop()


def _bound_worker_stops() -> None:
    """Have Granian kill a worker that has not ended `WORKER_KILL_SECONDS` after it was told
    to stop (its `workers_kill_timeout`, which Reflex leaves unset: Granian then waits for
    it for ever). In about a third of the live benchmark's rolling restarts a stopping
    worker stopped answering for 5 to 60 s (its main thread in a native wait, on uvloop's
    loop and on asyncio's alike, every Python thread idle): its tabs heard nothing, tabs
    reconnecting could land on it and wait for an answer, and the rest of the restart waited
    behind it (docs/live.md). Applied in Granian's main process, which imports the app
    before it forks its workers."""
    try:
        from granian.server import common
    except ImportError:  # not served by Granian (the development server)
        return
    init = common.AbstractServer.__init__
    if getattr(init, "_sneakers_wrapped", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if not self.workers_kill_timeout:
            self.workers_kill_timeout = WORKER_KILL_SECONDS

    __init__._sneakers_wrapped = True  # type: ignore[attr-defined]
    common.AbstractServer.__init__ = __init__  # type: ignore[method-assign]


_bound_worker_stops()


def _take_over_stop_signals(manager: Any) -> None:
    """Granian stops a worker (a rolling restart, SIGHUP to its main process; or a stop) with
    SIGTERM, handled on the worker's event loop: the server stops taking connections and cuts
    every websocket from the app at once, but leaves them open to the browsers until its
    process ends, seconds later (its shutdown stops the live feeds first): the tabs would hear
    nothing, and not know it. So this worker's stop signals are handled here: the tabs are
    let go first (`let_tabs_go`, at most LET_GO_SECONDS), then the server's own stop runs.
    A second signal stops it at once."""
    loop = asyncio.get_running_loop()
    server_stop = _server_stops.get(id(loop))
    if server_stop is None or id(loop) in _taken:
        return

    def on_signal() -> None:
        if worker_stopping():
            server_stop.set()
            return
        stop_serving_tabs()
        _signalled.append(time.monotonic())
        task = loop.create_task(_let_go_then_stop(manager, server_stop))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    _taken.add(id(loop))


async def _let_go_then_stop(manager: Any, server_stop: Any) -> None:
    try:
        await asyncio.wait_for(let_tabs_go(manager), LET_GO_SECONDS)
    except TimeoutError:
        names = collections.Counter(_handler_name(t) for t in _running_handlers())
        logger.warning(
            "stopping: the tabs' handlers were not done within %.0f s: %s",
            LET_GO_SECONDS,
            dict(names.most_common(5)),
        )
    except Exception:
        logger.warning("this stopping worker's tabs were not all let go", exc_info=True)
    finally:
        server_stop.set()


async def let_tabs_go(manager: Any) -> None:
    """A stopping worker hands its tabs to the workers that stay: from now on it refuses new
    connections (a tab that comes back here is refused and tries again, as state.js does), its
    mark goes (a tab that comes back elsewhere need not wait for it to run down: its socket
    record here counts as a dead worker's), then every tab is sent Engine.IO's close packet.
    The browser, told the transport closed, closes its websocket and reconnects at once, to
    another worker, with its own token and session; its closing runs Reflex's disconnect
    handler here. The few still open after CLIENT_CLOSE_SECONDS (a client gone without a
    word) are closed from here.

    The tabs close their connections themselves because a stopping worker that closed a
    hundred websockets at once froze, in 4 of 15 rolling-restart benchmark runs: no update
    and no close went out for about 5 s, until its grace period ran out and Granian's stop cut
    them (docs/live.md, "The restart's last seconds")."""
    stop_serving_tabs()
    started = time.monotonic()
    waited = started - _signalled[0] if _signalled else 0.0
    with contextlib.suppress(Exception):
        await manager.redis.delete(ALIVE_PREFIX + manager.instance_id)
    unmarked = time.monotonic() - started
    engineio = getattr(getattr(event_namespace(), "server", None), "eio", None)
    if engineio is None:
        return
    sockets = list(engineio.sockets.values())
    goodbye = packet.Packet(packet.CLOSE)
    await asyncio.gather(*(s.send(goodbye) for s in sockets), return_exceptions=True)
    deadline = time.monotonic() + CLIENT_CLOSE_SECONDS
    while engineio.sockets and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    left = list(engineio.sockets.values())
    reason = engineio.reason.SERVER_DISCONNECT
    await asyncio.gather(*(s.close(reason=reason) for s in left), return_exceptions=True)
    closed = time.monotonic() - started
    # Their pages' loops end (Reflex cancels a closed tab's page-load chain; the others see
    # it gone on their next pass), each saving the tab's state under the tab's lock one last
    # time: wait for them, or the server's stop would cancel them again in the middle of it
    # and leave the lock held (the tab, on its new worker, would wait out its expiry).
    # Loops asleep until their next update or timeout look now, find their tab gone and end.
    live.get_hub().wake_all()
    running = _running_handlers()
    names = collections.Counter(_handler_name(t) for t in running)
    if running:
        await asyncio.wait(running)
    took = time.monotonic() - started
    (logger.warning if took + waited > 1.0 else logger.info)(
        "stopping: %d tabs handed to the other web workers (begun %.2f s after the signal, "
        "mark deleted in %.2f s, closed in %.2f s, %d of them from here, their handlers done "
        "in %.2f s: %s)",
        len(sockets),
        waited,
        unmarked,
        closed,
        len(left),
        took,
        dict(names.most_common(5)),
    )


def _handler_name(task: asyncio.Task[Any]) -> str:
    """The event handler a task of Reflex's event processor runs ("<token>|<state>.<name>")."""
    return [*task.get_name().split("|"), ""][1].rsplit(".", 1)[-1]


def _running_handlers() -> list[asyncio.Task[Any]]:
    processor = getattr(getattr(event_namespace(), "app", None), "_event_processor", None)
    return [t for t in getattr(processor, "_tasks", {}).values() if not t.done()]


def _refuse_while_stopping(namespace: Any) -> None:
    """Engine.IO refuses a connection whose connect handler returns False (an HTTP 401 to the
    websocket's request): a stopping worker takes no new tabs."""
    engineio = getattr(getattr(namespace, "server", None), "eio", None)
    if engineio is None or getattr(engineio, "_sneakers_refusing", False):
        return
    connect = engineio.handlers.get("connect")
    if connect is None:
        return

    async def connect_unless_stopping(*args: Any) -> Any:
        if worker_stopping():
            return False
        return await connect(*args)

    engineio.handlers["connect"] = connect_unless_stopping
    engineio._sneakers_refusing = True
