"""Start Parley and the naive app as uvicorn subprocesses on free 127.0.0.1 ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WS_MAX_SIZE = 1024 * 1024  # as in `make run`
START_TIMEOUT = 30.0
# Server log lines worth reporting (uvicorn's own lines, Django/Parley loggers, tracebacks).
PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|Traceback|Exception in ASGI)\b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    port: int
    popen: subprocess.Popen
    log: Path
    grace: float = 10.0  # seconds between SIGTERM and SIGKILL when stopping

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time of the server process so far, all threads (Linux schedstat, in ns)."""
        total = 0
        for task in Path(f"/proc/{self.popen.pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass  # a thread that just ended
        return total / 1e9

    def rss_kib(self) -> int:
        try:
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0


@dataclass
class App:
    """One application (Parley or naive) served by one or more uvicorn processes."""

    name: str
    prefix: str = ""  # the channel-layer prefix (Redis configurations)
    processes: list[Process] = field(default_factory=list)
    db: Path | None = None  # its SQLite file, when the bench reads it
    database_url: str = ""  # or its PostgreSQL database (dropped when stopped)
    seed: dict = field(default_factory=dict)  # the users made for it: ids, tokens, rooms

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.processes)

    def rss_kib(self) -> int:
        return sum(p.rss_kib() for p in self.processes)

    def problems(self) -> list[str]:
        """Log lines at WARNING or above, and tracebacks, from every process."""
        lines: list[str] = []
        for index, process in enumerate(self.processes):
            try:
                text = process.log.read_text(errors="replace")
            except OSError:
                continue
            lines += [f"[{self.name}#{index}] {line}" for line in text.splitlines()
                      if PROBLEM.search(line)]
        return lines

    def alive(self) -> bool:
        return all(p.popen.poll() is None for p in self.processes)


def parley_env(db: Path | None, redis_url: str | None, prefix: str,
               database_url: str = "") -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"REDIS_URL", "CHANNEL_PREFIX", "DJANGO_SETTINGS_MODULE", "LOG_LEVEL"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": database_url or f"sqlite:///{db}",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "PARLEY_AUTH_RATE": "100000/minute",
        # The sender posts hundreds of messages a second: that is the measure, not abuse.
        "PARLEY_MESSAGE_BURST": "100000000",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    })
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CHANNEL_PREFIX"] = prefix
    return env


def naive_env(db: Path, redis_url: str | None, prefix: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"REDIS_URL", "CHANNEL_PREFIX", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.naive.settings",
        "NAIVE_DB": str(db),
        "PYTHONUNBUFFERED": "1",
    })
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CHANNEL_PREFIX"] = prefix
    return env


def migrate(env: dict[str, str], log: Path) -> None:
    with open(log, "a") as out:
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--no-input", "--verbosity", "0"],
            cwd=ROOT, env=env, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=120,
        )


def spawn(asgi: str, env: dict[str, str], log: Path) -> Process:
    port = free_port()
    with open(log, "w") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", asgi, "--host", "127.0.0.1", "--port", str(port),
             "--ws-max-size", str(WS_MAX_SIZE)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    return Process(port=port, popen=popen, log=log)


def wait_ready(process: Process) -> None:
    """Wait until the port accepts connections (uvicorn binds once the app is loaded)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.popen.poll() is not None:
            raise RuntimeError(f"server exited:\n{process.log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", process.port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{process.log.read_text()[-3000:]}")
            time.sleep(0.1)


def start_apps(tmp: Path, tag: str, redis_url: str | None, processes: int,
               started: list[Process]) -> tuple[App, App]:
    """Migrate fresh databases and start Parley and the naive app, ``processes`` each.

    Every process started is appended to ``started`` at once, so the caller can stop them all.
    """
    run_id = uuid.uuid4().hex[:8]
    prefixes = {name: f"bench-{name}-{tag}-{run_id}" for name in ("parley", "naive")}
    envs = {
        "parley": parley_env(tmp / f"{tag}-parley.sqlite3", redis_url, prefixes["parley"]),
        "naive": naive_env(tmp / f"{tag}-naive.sqlite3", redis_url, prefixes["naive"]),
    }
    asgi = {"parley": "project.asgi:application", "naive": "bench.naive.asgi:application"}
    apps = {name: App(name, prefix=prefixes[name] if redis_url else "") for name in envs}
    with ThreadPoolExecutor(len(envs)) as pool:  # both migrations at once
        list(pool.map(lambda name: migrate(envs[name], tmp / f"{tag}-{name}-migrate.log"), envs))
    for name, env in envs.items():
        for index in range(processes):
            process = spawn(asgi[name], env, tmp / f"{tag}-{name}-{index}.log")
            # The naive app behind channels-redis's list layer does not exit on SIGTERM (its
            # consumers sit in BZPOPMIN); its shutdown is not under test, so it gets 3 s.
            process.grace = 10.0 if name == "parley" else 3.0
            started.append(process)
            apps[name].processes.append(process)
    for app in apps.values():
        for process in app.processes:
            wait_ready(process)
    return apps["parley"], apps["naive"]


def stop(processes: list[Process]) -> dict[str, float]:
    """SIGTERM every process, SIGKILL those still running after their ``grace`` seconds.

    Returns how long each took to exit (keyed by log file name); -1 means it had to be killed.
    """
    began = time.monotonic()
    for process in processes:
        if process.popen.poll() is None:
            process.popen.terminate()
    took: dict[str, float] = {}
    for process in processes:
        try:
            process.popen.wait(timeout=max(0.1, process.grace - (time.monotonic() - began)))
            took[process.log.stem] = round(time.monotonic() - began, 1)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()
            took[process.log.stem] = -1
    return took


POSTGRES = "postgres://postgres@127.0.0.1:5432"


def postgres_answers() -> bool:
    """Whether PostgreSQL answers at 127.0.0.1:5432 as user postgres (trust auth)."""
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=2):
            return True
    except Exception:
        return False


def postgres_create(name: str) -> str:
    """A new, empty PostgreSQL database; its URL."""
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}"


def postgres_drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at 127.0.0.1:6379."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_forget(prefixes: list[str]) -> int:
    """Delete the keys this run's channel layers left behind (only our own prefixes)."""
    try:
        import redis
    except ImportError:
        return 0
    client = redis.Redis(host="127.0.0.1", port=6379, db=0, socket_timeout=5)
    deleted = 0
    try:
        for prefix in prefixes:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                deleted += int(client.delete(*keys))
    finally:
        client.close()
    return deleted
