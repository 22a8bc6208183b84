"""The book's Lua script: loaded once per server, called by SHA, reloaded on NOSCRIPT.

Every book command is one script: `lua/common.lua` followed by each command's own file, each in
its branch of a dispatch on the command's name (sent as the last argument), so the rules
(matching, self-trade prevention, expiry, journal, publish) are written once and compiled once.
One compiled copy matters: Redis runs a step of Lua's garbage collector every 50 script calls,
and its cost follows the size of the Lua heap, which was mostly the compiled scripts: with a
copy of the rules per command it alone made the slowest 2% of single places (docs/trading.md).
`noop` (the benchmark's ceiling) stays a script of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
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


@dataclass(frozen=True, slots=True)
class LuaScript:
    name: str
    source: str
    sha: str
    tail: tuple[str, ...] = ()
    """Arguments sent after the caller's: the book script's command name."""

    def evalsha(self, keys: Sequence[str], args: Args) -> tuple[str | int, ...]:
        """The EVALSHA command calling this script with `keys` and `args`."""
        return ("EVALSHA", self.sha, len(keys), *keys, *args, *self.tail)


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
"""An order table's slots in the scripts, in order: the id, the order record's 13 fields (see
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


def _sha(source: str) -> str:
    return hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


def book_source(read: Callable[[str], str] = _read) -> str:
    """common.lua, then one branch per command on its name (the last argument); `read` gives a
    file's source by name (the benchmarks compare other copies of the scripts with it)."""
    branches = [
        f"{'if' if i == 0 else 'elseif'} CMD == '{name}' then\n{read(name).rstrip()}\n"
        for i, name in enumerate(BOOK_COMMANDS)
    ]
    return (
        "-- the command's name is the last argument; its own arguments are ARGV[6..NARGV]\n"
        "local NARGV = #ARGV - 1\n"
        "local CMD = ARGV[NARGV + 1]\n"
        f"{read('common')}\n{''.join(branches)}end\n"
        "return redis.error_reply('no such book command: ' .. tostring(CMD))\n"
    )


def build(read: Callable[[str], str] = _read) -> dict[str, LuaScript]:
    """Every script by command name (`read` as for book_source)."""
    book = book_source(read)
    book_sha = _sha(book)
    noop = read("noop")
    out = {"noop": LuaScript(name="noop", source=noop, sha=_sha(noop))}
    for name in BOOK_COMMANDS:
        out[name] = LuaScript(name=name, source=book, sha=book_sha, tail=(name,))
    return out


SCRIPTS = build()


class ScriptRunner:
    """Runs the scripts on a redis-py `Redis` or `RedisCluster` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def load_all(self) -> None:
        # On a RedisCluster client, SCRIPT LOAD goes to every primary.
        for source in {script.source for script in SCRIPTS.values()}:
            self.client.script_load(source)

    def call(self, name: str, keys: Sequence[str], args: Args) -> Any:
        script = SCRIPTS[name]
        pool = self._plain_pool()
        if pool is not None:
            try:
                return self._call_direct(pool, script, keys, args)
            except NoScriptError:
                self.client.script_load(script.source)
            except (RedisConnectionError, RedisTimeoutError):
                pass  # the client's own path below, with its retries
        try:
            return self.client.evalsha(*script.evalsha(keys, args)[1:])
        except NoScriptError:
            self.client.script_load(script.source)
            return self.client.evalsha(*script.evalsha(keys, args)[1:])

    def _plain_pool(self) -> Any:
        """The connection pool of a plain `Redis` client (not a cluster, not a client bound to
        one connection), whose connections `call` may use directly; else None."""
        if isinstance(self.client, RedisCluster) or getattr(self.client, "connection", None):
            return None
        return getattr(self.client, "connection_pool", None)

    @staticmethod
    def _call_direct(pool: Any, script: LuaScript, keys: Sequence[str], args: Args) -> Any:
        """One EVALSHA on a pooled connection: what `client.evalsha` does, without the
        client's per-command wrapping (retry closure, metrics hooks), which costs about as
        much as the round trip on loopback. A connection error leaves the connection
        closed and is raised for the caller to retry through the client."""
        conn = pool.get_connection()
        try:
            conn.send_command(*script.evalsha(keys, args))
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
        met NOSCRIPT did not run: the scripts are reloaded and those calls alone are re-sent, in
        their order."""
        script = SCRIPTS[name]
        results = self._pipeline(script, calls)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:
            self.load_all()
            again = self._pipeline(script, [calls[i] for i in missing])
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
        one at a time; on a cluster this is `call_many`. Calls that met NOSCRIPT are re-sent
        after a reload, in their order, and reported then."""
        pool = self._plain_pool()
        if pool is None:
            for i, reply in enumerate(self.call_many(name, list(calls))):
                on_reply(i, reply)
            return
        script = SCRIPTS[name]
        conn = pool.get_connection()
        try:
            sent, missing, failure = self._stream(conn, script, calls, on_reply)
        except BaseException:
            conn.disconnect()  # replies may be left unread: never reuse this connection
            raise
        finally:
            pool.release(conn)
        if failure is not None:
            raise failure
        if missing:
            self.load_all()
            again = self._pipeline(script, [sent[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                if isinstance(reply, Exception):
                    raise reply
                on_reply(i, reply)

    @staticmethod
    def _stream(
        conn: Any,
        script: LuaScript,
        calls: Iterable[tuple[Sequence[str], Args]],
        on_reply: Callable[[int, Any], None],
    ) -> tuple[list[tuple[Sequence[str], Args]], list[int], Exception | None]:
        """`call_each` on one connection: send each call as `calls` yields it, then read the
        replies in order and hand each to `on_reply` until an error reply. Returns the calls
        sent, the indexes of those that met NOSCRIPT, and the first error reply."""
        sent: list[tuple[Sequence[str], Args]] = []
        missing: list[int] = []
        failure: Exception | None = None
        for keys, args in calls:
            conn.send_packed_command(conn.pack_command(*script.evalsha(keys, args)))
            sent.append((keys, args))
        for i in range(len(sent)):
            try:
                reply = conn.read_response()
            except NoScriptError:
                missing.append(i)
                continue
            except ResponseError as exc:
                failure = failure or exc
                continue
            if failure is None:
                on_reply(i, reply)
        return sent, missing, failure

    def _pipeline(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Args]]
    ) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for keys, args in calls:
            # execute_command: a RedisCluster pipeline blocks the evalsha method, not the command
            pipe.execute_command(*script.evalsha(keys, args))
        return list(pipe.execute(raise_on_error=False))
