"""Real uvicorn processes on free ports, serving the test database."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (not the development one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class LiveServer:
    """A running uvicorn and where to reach it."""

    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"


def wait_until_serving(server: LiveServer, timeout: float = 30) -> None:
    """Poll the landing page until it answers, or fail with the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.url + "/", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 500 without collected static files: a test's concern)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not start:\n{server.log.read_text()[-4000:]}")


@contextlib.contextmanager
def uvicorn(
    log_dir: Path,
    name: str,
    redis_url: str | None = None,
    extra_env: dict | None = None,
    workers: int = 1,
) -> Iterator[LiveServer]:
    """Start ``uvicorn project.asgi:application`` against the test database; stop it after.

    It runs as ``make run`` does (DEBUG on: static files from the apps, cookies over plain
    http); ``extra_env`` may change any variable, or remove it with None.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "true",
        "PARLEY_AUTH_RATE": "100000/minute",
        "SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env = {name: value for name, value in env.items() if value is not None}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = log_dir / f"{name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "project.asgi:application",
             "--host", "127.0.0.1", "--port", str(port), "--ws-max-size", "1048576",
             *(["--workers", str(workers)] if workers > 1 else [])],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    server = LiveServer(port=port, process=process, log=log)
    try:
        wait_until_serving(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
