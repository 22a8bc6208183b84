"""One command per process role (`python -m sneakers_app web|worker|beat|consume-journal`): what
each runs, and the web tier's refusal to split sessions across workers that cannot share them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sneakers_app import embedded
from sneakers_app.settings import PROJECT_ROOT, Settings


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_one_web_worker_keeps_sessions_in_memory() -> None:
    assert embedded.web_env(settings(), 1) == {"GRANIAN_WORKERS": "1"}


def test_several_web_workers_need_the_redis_state_manager() -> None:
    with pytest.raises(ValueError, match="REFLEX_STATE_MANAGER_MODE=redis"):
        embedded.web_env(settings(), 2)
    with pytest.raises(ValueError, match="1 or more"):
        embedded.web_env(settings(REFLEX_STATE_MANAGER_MODE="redis"), 0)


def test_redis_sessions_live_at_reflex_redis_url_else_the_books_redis() -> None:
    books = "redis://books:6379/0"
    env = embedded.web_env(settings(REFLEX_STATE_MANAGER_MODE="redis", REDIS_URL=books), 4)
    assert env == {
        "GRANIAN_WORKERS": "4",
        "REFLEX_STATE_MANAGER_MODE": "redis",
        "REFLEX_REDIS_URL": books,
    }
    apart = "redis://sessions:6379/1"
    env = embedded.web_env(
        settings(REFLEX_STATE_MANAGER_MODE="redis", REDIS_URL=books, REFLEX_REDIS_URL=apart), 2
    )
    assert env["REFLEX_REDIS_URL"] == apart


def test_worker_and_beat_are_separate_celery_processes(tmp_path: Path) -> None:
    worker = embedded.celery_worker_command(3, "warning")
    assert worker[-4:] == ["sneakers_app.worker", "worker", "--concurrency=3", "--loglevel=warning"]
    assert "--beat" not in worker
    beat = embedded.beat_command(tmp_path / "schedule")
    assert beat[beat.index("sneakers_app.worker") + 1] == "beat"
    assert str(tmp_path / "schedule") in beat


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_web_command_refuses_several_workers_without_redis_sessions() -> None:
    done = _run("-m", "sneakers_app", "web", "--workers", "2", REFLEX_STATE_MANAGER_MODE="memory")
    assert done.returncode == 2
    assert "REFLEX_STATE_MANAGER_MODE=redis" in done.stderr


READ_CONFIG = (
    "from reflex_base.config import get_config; c = get_config(); "
    "print(c.state_manager_mode.value, c.redis_url)"
)


def test_reflex_keeps_sessions_in_memory_by_default_and_in_redis_when_configured() -> None:
    assert _run("-c", READ_CONFIG).stdout.split() == ["memory", "None"]
    books = "redis://127.0.0.1:6391/0"
    done = _run("-c", READ_CONFIG, REFLEX_STATE_MANAGER_MODE="redis", REDIS_URL=books)
    assert done.stdout.split() == ["redis", books]
    sessions = "redis://127.0.0.1:6391/1"
    done = _run(
        "-c",
        READ_CONFIG,
        REFLEX_STATE_MANAGER_MODE="redis",
        REDIS_URL=books,
        REFLEX_REDIS_URL=sessions,
    )
    assert done.stdout.split() == ["redis", sessions]
