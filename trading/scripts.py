"""The book's Lua scripts: loaded once per server, called by SHA, reloaded on NOSCRIPT.

Every script except `noop` is `lua/common.lua` followed by the command's own file, so the rules
(matching, self-trade prevention, expiry, journal, publish) are written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

NAMES = (
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
    "noop",
)


@dataclass(frozen=True, slots=True)
class LuaScript:
    name: str
    source: str
    sha: str


def _read(name: str) -> str:
    return (files("trading") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def _build() -> dict[str, LuaScript]:
    common = _read("common")
    out: dict[str, LuaScript] = {}
    for name in NAMES:
        source = _read(name) if name == "noop" else f"{common}\n{_read(name)}"
        sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        out[name] = LuaScript(name=name, source=source, sha=sha)
    return out


SCRIPTS = _build()

Args = Sequence[str | int]


class ScriptRunner:
    """Runs the scripts on a redis-py `Redis` or `RedisCluster` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def load_all(self) -> None:
        # On a RedisCluster client, SCRIPT LOAD goes to every primary.
        for script in SCRIPTS.values():
            self.client.script_load(script.source)

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
            return self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self.client.script_load(script.source)
            return self.client.evalsha(script.sha, len(keys), *keys, *args)

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
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
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
        sent: list[tuple[Sequence[str], Args]] = []
        missing: list[int] = []
        failure: Exception | None = None
        conn = pool.get_connection()
        try:
            for keys, args in calls:
                conn.send_packed_command(
                    conn.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)
                )
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

    def _pipeline(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Args]]
    ) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for keys, args in calls:
            # execute_command: a RedisCluster pipeline blocks the evalsha method, not the command
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return list(pipe.execute(raise_on_error=False))
