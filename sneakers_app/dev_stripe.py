"""localstripe as the app starts it (`embedded.start_localstripe`): for development
(`./scripts/dev.sh`) with its state kept with the app's other runtime files, for the tests and
benchmarks in memory only.

localstripe on its own pickles its whole state to /tmp/localstripe.pickle on every change: once
for each object a request creates and again after the request, so a request costs more the more
the server holds (a drop's 400 charges: 16 ms of CPU each in localstripe, as much as the worker
spent charging), and every copy on the machine shares the one file, rewritten in place, so a
copy killed in the middle of a write leaves a truncated file and the next start fails. Here:

- with `LOCALSTRIPE_STATE` (development) the state lives in the file it names, written once
  after each request that changed it (a POST, PUT or DELETE), to a temporary file that then
  replaces it (a start finds the old state or the new, never half of one); a file that cannot
  be read is set aside (`.unreadable`) so the server starts empty instead of not at all;
- without it (tests, benchmarks) the state is never written or read: each copy starts empty.

    LOCALSTRIPE_STATE=var/localstripe.pickle python -m sneakers_app.dev_stripe --port N
    python -m sneakers_app.dev_stripe --port N
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

from localstripe import resources, server


def _load(state: Path) -> dict[str, Any] | None:
    try:
        with state.open("rb") as f:
            loaded: dict[str, Any] = pickle.load(f)  # noqa: S301 - localstripe's own state file
    except FileNotFoundError:
        return None
    except Exception as exc:
        state.replace(state.with_name(state.name + ".unreadable"))
        print(f"{state} could not be read ({exc!r}): set aside, starting empty", file=sys.stderr)
        return None
    return loaded


def _dump(store: dict[str, Any], state: Path) -> None:
    partial = state.with_name(state.name + ".partial")
    with partial.open("wb") as f:
        pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(state)


def _saved_per_request() -> Any:
    """The store's own writes stay in memory; localstripe's middleware saves it once after each
    request that changed it. Returns localstripe's store class."""
    store: Any = resources.Store
    store.__setitem__ = dict.__setitem__
    store.__delitem__ = dict.__delitem__
    return store


def keep_state_nowhere() -> None:
    """Make localstripe's store live in memory only: nothing loaded at start, nothing saved."""
    store = _saved_per_request()
    store.try_load_from_disk = lambda _store: None
    store.dump_to_disk = lambda _store: None


def keep_state_in(state: Path) -> None:
    """Make localstripe's store load from and save to `state`, once per request that changed
    it."""
    state.parent.mkdir(parents=True, exist_ok=True)
    _saved_per_request()

    def try_load_from_disk(store: resources.Store) -> None:
        loaded = _load(state)
        if loaded is not None:
            store.clear()
            store.update(loaded)

    def dump_to_disk(store: resources.Store) -> None:
        _dump(store, state)

    resources.Store.try_load_from_disk = try_load_from_disk
    resources.Store.dump_to_disk = dump_to_disk


def main() -> None:
    state = os.environ.get("LOCALSTRIPE_STATE")
    if state:
        keep_state_in(Path(state))
    else:
        keep_state_nowhere()
    server.start()


if __name__ == "__main__":
    main()
