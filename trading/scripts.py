"""The book's Lua scripts: loaded once per server, called by SHA, reloaded on NOSCRIPT.

Every script except `noop` is `lua/common.lua` followed by the command's own file, so the rules
(matching, self-trade prevention, expiry, journal, publish) are written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.exceptions import NoScriptError

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
        try:
            return self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self.client.script_load(script.source)
            return self.client.evalsha(script.sha, len(keys), *keys, *args)

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

    def _pipeline(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Args]]
    ) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for keys, args in calls:
            # execute_command: a RedisCluster pipeline blocks the evalsha method, not the command
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return list(pipe.execute(raise_on_error=False))
