"""The development localstripe (`./scripts/dev.sh`: `embedded.start_localstripe` with a
directory, var/) keeps its state in that directory, across restarts, apart from any
other copy on the machine; and a state file cut short (a copy killed mid-write) does not stop it
from starting. localstripe on its own pickles to /tmp/localstripe.pickle, shared by every copy.
A throwaway copy (the tests', the benchmarks') keeps its state in memory and writes none.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sneakers_app import embedded

SHARED_STATE = Path("/tmp/localstripe.pickle")  # where localstripe itself writes

KEY = "sk_test_development"


def _call(server: embedded.LocalStripeServer, method: str, path: str) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        server.url + path, method=method, headers={"Authorization": f"Bearer {KEY}"}, data=b""
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body: dict[str, object] = json.load(response)
    return body


def _has_customer(server: embedded.LocalStripeServer, customer: object) -> bool:
    try:
        _call(server, "GET", f"/v1/customers/{customer}")
    except urllib.error.HTTPError as err:
        assert err.code == 404
        return False
    return True


@contextmanager
def _development(directory: Path) -> Iterator[embedded.LocalStripeServer]:
    server = embedded.start_localstripe(directory=directory)
    try:
        yield server
    finally:
        server.stop()


def test_each_copy_keeps_its_own_state_across_restarts(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    with _development(mine) as server:
        customer = _call(server, "POST", "/v1/customers")["id"]
    with _development(other) as server:
        assert not _has_customer(server, customer), "another copy's state leaked in"
    with _development(mine) as server:
        assert _has_customer(server, customer), "its own state did not survive a restart"


def test_a_state_file_cut_short_is_set_aside_and_it_starts_empty(tmp_path: Path) -> None:
    state = tmp_path / embedded.LOCALSTRIPE_STATE
    state.write_bytes(b"\x80\x05\x95\xff\x00\x00")  # a pickle's first bytes, then nothing
    with _development(tmp_path) as server:
        customer = _call(server, "POST", "/v1/customers")["id"]
        assert _has_customer(server, customer)
    assert (tmp_path / (embedded.LOCALSTRIPE_STATE + ".unreadable")).exists()


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (found.st_mtime_ns, found.st_size)


def test_a_throwaway_copy_keeps_its_state_in_memory_and_writes_none() -> None:
    """Each write request made localstripe pickle everything it held, several times: a drop's
    charges cost it as much CPU as the worker that made them."""
    shared = _stat(SHARED_STATE)
    server = embedded.start_localstripe()
    try:
        customers = [_call(server, "POST", "/v1/customers")["id"] for _ in range(3)]
        assert all(_has_customer(server, c) for c in customers)
        assert _stat(SHARED_STATE) == shared, "it wrote its whole state to the shared file"
        written = sorted(p.name for p in server.directory.iterdir())
        assert written == ["localstripe.log"], written
    finally:
        server.stop()
