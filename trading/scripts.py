"""The book's function library: loaded once per server, called with FCALL, reloaded when lost.

Every book command is a function of one library (`FUNCTION LOAD`, Redis >= 7.0 or Valkey >= 7.2):
`lua/common.lua` (the rules: matching, self-trade prevention, expiry, journal, publish) followed
by each command's own file as the body of its function. The server compiles the library and
creates the rules' closures once, when it loads it; a call (`FCALL`) runs `begin` (the call's
state) and its command only. (With EVALSHA every call ran the whole prelude again: about 45
closures created per call, and garbage that the server's Lua GC step, every 50 calls, had to
collect: a single place cost 170-190 us of Redis time, docs/trading.md.)

The library's name holds a digest of its source (`sneakers_book_<digest>`, functions
`<library>_<command>`), so a process always runs the code it was built with, as it did with
script SHAs: two versions of the app loaded on one server during a deploy do not replace each
other's library. A server that lost its functions (a restart without persistence, a new
replica, FUNCTION FLUSH) answers "Function not found": the library is loaded again and the call
retried, as NOSCRIPT was handled for scripts. On a Redis Cluster the library is loaded on every
primary.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import ClusterDownError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Args = Sequence[str | int]

BOOK_COMMANDS = (
    "place",
    "place_batch",
    "cancel",
    "modify",
    "expire",
    "open_book",
    "snapshot",
    "rebuild_begin",
    "rebuild_load",
    "rebuild_end",
)
READ_ONLY = frozenset({"snapshot"})
"""Commands registered with the `no-writes` flag."""
LIBRARY_PREFIX = "sneakers_book"

MIN_REDIS = (7, 0)
MIN_VALKEY = (7, 2)


class UnsupportedServer(RuntimeError):
    """The server cannot hold the book's function library (Redis < 7.0, Valkey < 7.2)."""


ORDER_FIELDS = (
    "id",
    "status",
    "side",
    "user",
    "price",
    "orig",
    "rem",
    "filled",
    "cxl",
    "expq",
    "seq",
    "exp",
    "tif",
    "at",
    "dirty",
    "body",
    "expiry",
)
"""An order table's slots in the library, in order: the id, the order record's 13 fields (see
common.lua), whether the record must be written, the events of an order placed now, and its
pending change of the expiry index."""

_ORDER_SLOT = {f"O_{name.upper()}": str(i) for i, name in enumerate(ORDER_FIELDS, start=1)}
_CONSTANT = re.compile(r"\bO_[A-Z]+\b")


def _slot(match: re.Match[str]) -> str:
    name = match.group(0)
    if name not in _ORDER_SLOT:
        raise ValueError(f"unknown order field {name} in a book script")
    return _ORDER_SLOT[name]


def order_slots(source: str) -> str:
    """`source` with each O_<FIELD> (an order table's slot) replaced with its index."""
    return _CONSTANT.sub(_slot, source)


def _read(name: str) -> str:
    return order_slots((files("trading") / "lua" / f"{name}.lua").read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class BookLibrary:
    """The library's source and name; `fcall` builds the command calling one of its functions."""

    name: str
    source: str

    def function(self, command: str) -> str:
        return f"{self.name}_{command}"

    def fcall(self, command: str, keys: Sequence[str], args: Args) -> tuple[str | int, ...]:
        """The FCALL command calling `command` with `keys` and `args`."""
        return ("FCALL", f"{self.name}_{command}", len(keys), *keys, *args)


def build(read: Callable[[str], str] = _read) -> BookLibrary:
    """The library: common.lua, then one local function per command (its file as the body) and
    `noop` (the benchmark's ceiling: no rules, no state), then their registration. `read` gives
    a file's source by name (the benchmarks compare other copies of the files with it)."""
    commands = "".join(
        f"local function cmd_{name}()\n{read(name).rstrip()}\nend\n\n" for name in BOOK_COMMANDS
    )
    body = (
        f"{read('common').rstrip()}\n\n{commands}"
        f"local function cmd_noop()\n{read('noop').rstrip()}\nend\n"
    )
    digest = hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()[:16]
    name = f"{LIBRARY_PREFIX}_{digest}"
    no_writes = ", {'no-writes'}"
    register = "".join(
        f"register('{name}_{command}', cmd_{command}{no_writes if command in READ_ONLY else ''})\n"
        for command in BOOK_COMMANDS
    )
    source = (
        f"#!lua name={name}\n{body}\n"
        "local function register(function_name, command, flags)\n"
        "  redis.register_function{function_name = function_name, flags = flags,\n"
        "    callback = function(keys, args)\n"
        "      begin(keys, args)\n"
        "      return command()\n"
        "    end}\n"
        "end\n"
        f"{register}"
        f"redis.register_function('{name}_noop', cmd_noop)\n"
    )
    return BookLibrary(name=name, source=source)


LIBRARY = build()


def server_version(info: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    """("valkey" or "redis", version) from INFO server."""
    if info.get("valkey_version") or info.get("server_name") == "valkey":
        raw = str(info.get("valkey_version") or info.get("redis_version", "0"))
        kind = "valkey"
    else:
        raw, kind = str(info.get("redis_version", "0")), "redis"
    return kind, tuple(int(p) for p in re.findall(r"\d+", raw)[:3])


def check_server(info: dict[str, Any]) -> None:
    """Raise UnsupportedServer unless INFO server names Redis >= 7.0 or Valkey >= 7.2."""
    kind, version = server_version(info)
    needed = MIN_VALKEY if kind == "valkey" else MIN_REDIS
    if version < needed:
        shown = ".".join(map(str, version)) or "unknown"
        raise UnsupportedServer(
            f"the order books need Redis >= 7.0 or Valkey >= 7.2 (functions, FCALL); "
            f"this server is {kind} {shown}"
        )


def _function_missing(exc: BaseException) -> bool:
    return isinstance(exc, ResponseError) and "function not found" in str(exc).lower()


class ScriptRunner:
    """Calls the library's functions on a redis-py `Redis` or `RedisCluster` client."""

    def __init__(self, client: Any, library: BookLibrary | None = None) -> None:
        self.client = client
        self.library = library or LIBRARY

    def check_server(self) -> None:
        """Refuse (UnsupportedServer) a server too old for functions; on a cluster, every
        primary is checked."""
        if isinstance(self.client, RedisCluster):
            infos: Any = self.client.info("server", target_nodes=RedisCluster.PRIMARIES)
            for info in infos.values():
                check_server(info)
        else:
            check_server(self.client.info("server"))

    def load_all(self) -> None:
        """Check the server, then FUNCTION LOAD REPLACE the library (on a RedisCluster client
        FUNCTION LOAD goes to every primary)."""
        self.check_server()
        self.reload()

    def reload(self) -> None:
        self.client.function_load(self.library.source, replace=True)

    def call(self, name: str, keys: Sequence[str], args: Args) -> Any:
        command = self.library.fcall(name, keys, args)
        try:
            return self._send(command, keys)
        except ResponseError as exc:
            if not _function_missing(exc):
                raise
        self.reload()
        return self._send(command, keys)

    def _send(self, command: tuple[str | int, ...], keys: Sequence[str]) -> Any:
        if isinstance(self.client, RedisCluster):
            return self._send_cluster(command, keys)
        pool = self._plain_pool()
        if pool is not None:
            try:
                return self._call_direct(pool, command)
            except (RedisConnectionError, RedisTimeoutError):
                pass  # the client's own path below, with its retries
        return self.client.execute_command(*command)

    def _send_cluster(self, command: tuple[str | int, ...], keys: Sequence[str]) -> Any:
        """FCALL on the primary of the book's slot. redis-py would ask the server for the keys
        of every FCALL (COMMAND GETKEYS: a round trip per call); the book's keys share one hash
        tag, so its slot is the first key's. Redirects (MOVED, ASK) are followed by the client;
        a lost node or a cluster that is down is retried through the client's own routing."""
        client = self.client
        try:
            node = client.get_node_from_key(keys[0])
            return client.execute_command(*command, target_nodes=node)
        except (RedisConnectionError, RedisTimeoutError, ClusterDownError):
            return client.execute_command(*command)

    def _plain_pool(self) -> Any:
        """The connection pool of a plain `Redis` client (not a cluster, not a client bound to
        one connection), whose connections `call` may use directly; else None."""
        if isinstance(self.client, RedisCluster) or getattr(self.client, "connection", None):
            return None
        return getattr(self.client, "connection_pool", None)

    @staticmethod
    def _call_direct(pool: Any, command: tuple[str | int, ...]) -> Any:
        """One FCALL on a pooled connection: what `client.execute_command` does, without the
        client's per-command wrapping (retry closure, metrics hooks), which costs about as
        much as the round trip on loopback. A connection error leaves the connection
        closed and is raised for the caller to retry through the client."""
        conn = pool.get_connection()
        try:
            conn.send_command(*command)
            return conn.read_response()
        except ResponseError:
            raise  # an error reply, read in full: the connection is fine
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def call_many(self, name: str, calls: Sequence[tuple[Sequence[str], Args]]) -> list[Any]:
        """One non-transactional pipeline of calls (grouped per node on a cluster). A call that
        found no function did not run: the library is loaded again and those calls alone are
        re-sent, in their order."""
        results = self._pipeline(name, calls)
        missing = [i for i, r in enumerate(results) if _function_missing(r)]
        if missing:
            self.reload()
            again = self._pipeline(name, [calls[i] for i in missing])
            for i, r in zip(missing, again, strict=True):
                results[i] = r
        for r in results:
            if isinstance(r, Exception):
                raise r
        return results

    def call_each(
        self,
        name: str,
        calls: Iterable[tuple[Sequence[str], Args]],
        on_reply: Callable[[int, Any], None],
    ) -> None:
        """Like `call_many`, but hands each reply to `on_reply(index, reply)` as soon as it
        arrives, so the caller works on one reply while the server runs the next calls. On a
        single Redis each call is sent as soon as `calls` yields it (the server starts on the
        first while the caller builds the next), all on one connection, and the replies are read
        one at a time; on a cluster this is `call_many`. Calls that found no function are
        re-sent after a reload, in their order, and reported then."""
        pool = self._plain_pool()
        if pool is None:
            for i, reply in enumerate(self.call_many(name, list(calls))):
                on_reply(i, reply)
            return
        conn = pool.get_connection()
        try:
            sent, missing, failure = self._stream(conn, self.library, name, calls, on_reply)
        except BaseException:
            conn.disconnect()  # replies may be left unread: never reuse this connection
            raise
        finally:
            pool.release(conn)
        if failure is not None:
            raise failure
        if missing:
            self.reload()
            again = self._pipeline(name, [sent[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                if isinstance(reply, Exception):
                    raise reply
                on_reply(i, reply)

    @staticmethod
    def _stream(
        conn: Any,
        library: BookLibrary,
        name: str,
        calls: Iterable[tuple[Sequence[str], Args]],
        on_reply: Callable[[int, Any], None],
    ) -> tuple[list[tuple[Sequence[str], Args]], list[int], Exception | None]:
        """`call_each` on one connection: send each call as `calls` yields it, then read the
        replies in order and hand each to `on_reply` until an error reply. Returns the calls
        sent, the indexes of those that found no function, and the first other error reply."""
        sent: list[tuple[Sequence[str], Args]] = []
        missing: list[int] = []
        failure: Exception | None = None
        for keys, args in calls:
            conn.send_packed_command(conn.pack_command(*library.fcall(name, keys, args)))
            sent.append((keys, args))
        for i in range(len(sent)):
            try:
                reply = conn.read_response()
            except ResponseError as exc:
                if _function_missing(exc):
                    missing.append(i)
                else:
                    failure = failure or exc
                continue
            if failure is None:
                on_reply(i, reply)
        return sent, missing, failure

    def _pipeline(self, name: str, calls: Sequence[tuple[Sequence[str], Args]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for keys, args in calls:
            pipe.execute_command(*self.library.fcall(name, keys, args))
        return list(pipe.execute(raise_on_error=False))
