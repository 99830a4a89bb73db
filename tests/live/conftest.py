"""Live servers: real uvicorn processes, alone or two of them behind Redis."""

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import IN_CI, service_missing
from tests.live.server import LiveServer, uvicorn

pytestmark = pytest.mark.live


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for cross-process tests: REDIS_URL, or in CI the machine's own Redis."""
    url = os.environ.get("REDIS_URL") or ("redis://127.0.0.1:6379/0" if IN_CI else "")
    if not url:
        service_missing("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0 to run it")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} is unreachable: {exc}")
    return url


@pytest.fixture
def uvicorn_server(transactional_db: None, tmp_path: Any) -> Iterator[LiveServer]:
    """One uvicorn on the embedded configuration of this run (Redis only if REDIS_URL is set)."""
    with uvicorn(tmp_path, "uvicorn", redis_url=os.environ.get("REDIS_URL")) as server:
        yield server


@pytest.fixture
def two_servers(
    transactional_db: None, tmp_path: Any, redis_url: str
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two uvicorn processes sharing one database and one Redis channel layer."""
    env = {"CHANNEL_PREFIX": f"parley-{uuid.uuid4().hex[:8]}"}
    with uvicorn(tmp_path, "one", redis_url, env) as one:
        with uvicorn(tmp_path, "two", redis_url, env) as two:
            yield one, two


def http_post(base: str, path: str, data: dict, token: str | None = None) -> dict:
    """POST JSON to the live server and return the decoded answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(base + path, json.dumps(data).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else {}


def guest(server: LiveServer, name: str) -> dict:
    """Sign in a new guest over HTTP: {"user": ..., "token": ...}."""
    return http_post(server.url, "/api/auth/guest/", {"display_name": name})
