"""localstripe for development (`./scripts/dev.sh`), its state kept with the app's other
runtime files.

localstripe pickles its whole state to /tmp/localstripe.pickle on every change and loads it at
start: one file for every copy on the machine, rewritten in place, so a copy killed in the
middle of a write leaves a truncated file and the next start fails. Here the state lives in the
file `LOCALSTRIPE_STATE` names (var/ in development), each write goes to a temporary file that
then replaces it (a start finds the old state or the new, never half of one), and a file that
cannot be read is set aside (`.unreadable`) so the server starts empty instead of not at all.

    LOCALSTRIPE_STATE=var/localstripe.pickle python -m sneakers_app.dev_stripe --port N
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


def keep_state_in(state: Path) -> None:
    """Make localstripe's store load from and save to `state`."""
    state.parent.mkdir(parents=True, exist_ok=True)

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
    keep_state_in(Path(os.environ["LOCALSTRIPE_STATE"]))
    server.start()


if __name__ == "__main__":
    main()
