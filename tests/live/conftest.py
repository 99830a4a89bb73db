"""Live servers: real uvicorn processes, alone or two of them behind Redis."""

import contextlib
import json
import os
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import IN_CI, service_missing
from tests.live.server import LiveServer, uvicorn
from tests.live.wsclient import TIMEOUT, LiveSocket

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
    yield from serve_two(tmp_path, redis_url)


@pytest.fixture
def two_quick_servers(
    transactional_db: None, tmp_path: Any, redis_url: str
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two workers that beat every second and are declared dead after 3 silent seconds."""
    quick = {"PARLEY_WORKER_HEARTBEAT_SECONDS": "1", "PARLEY_WORKER_STALE_SECONDS": "3"}
    yield from serve_two(tmp_path, redis_url, quick)


def serve_two(
    tmp_path: Any, redis_url: str, env: dict | None = None
) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {"CHANNEL_PREFIX": f"parley-{uuid.uuid4().hex[:8]}", **(env or {})}
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


@dataclass
class TwoInARoom:
    """Alice, who made a room, and Bob, who joined it and follows its messages ("m")."""

    alice: dict
    bob: dict
    a: LiveSocket
    b: LiveSocket
    room_id: int


@contextlib.asynccontextmanager
async def two_in_a_room(
    server: LiveServer, room_name: str, bob_server: LiveServer | None = None
) -> AsyncIterator[TwoInARoom]:
    """Alice on ``server`` and Bob (on ``bob_server``, the same by default) in a new room."""
    alice, bob = guest(server, "Alice"), guest(bob_server or server, "Bob")
    a = await LiveSocket.open(server.ws_url, alice["token"])
    b = await LiveSocket.open((bob_server or server).ws_url, bob["token"])
    try:
        room = await a.request("rooms", "create", data={"name": room_name, "title": room_name})
        room_id = room["payload"]["data"]["id"]
        await b.request("rooms", "join", pk=room_id)
        await b.request("messages", "subscribe_room", room=room_id, request_id="m")
        yield TwoInARoom(alice, bob, a, b, room_id)
    finally:
        await a.close()
        await b.close()


@contextlib.asynccontextmanager
async def watching_presence(
    server: LiveServer, room_name: str, alice: dict | None = None
) -> AsyncIterator[tuple[LiveSocket, int]]:
    """Alice's socket, following the presence of a room she just created (request_id "p")."""
    alice = alice or guest(server, "Alice")
    a = await LiveSocket.open(server.ws_url, alice["token"])
    try:
        room = await a.request("rooms", "create", data={"name": room_name, "title": room_name})
        room_id = room["payload"]["data"]["id"]
        await a.request("presence", "subscribe_room", room=room_id, request_id="p")
        yield a, room_id
    finally:
        await a.close()


async def presence_of(watcher: LiveSocket, user: dict, timeout: float = TIMEOUT) -> dict:
    """The next push of ``watching_presence``'s subscription about ``user``.

    Others are kept aside: the watcher's own arrival in the room she has just created is
    published as she subscribes, and may or may not reach her subscription (the two race).
    """
    return await watcher.wait_for(
        lambda f: f["stream"] == "presence"
        and f["payload"]["request_id"] == "p"
        and f["payload"]["action"] in {"create", "update", "delete"}
        and f["payload"]["data"]["user"]["id"] == user["user"]["id"],
        timeout,
    )


async def presence_changes(watcher: LiveSocket, user: dict, count: int) -> list[str]:
    return [(await presence_of(watcher, user))["payload"]["action"] for _ in range(count)]
