"""Named users, sockets through the real ASGI application, and checks of the services in use."""

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from tests.client import Socket
from tests.live.server import free_port

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

if settings.REDIS_URL:
    # The suite deletes its cache keys between tests: never those of a server on this Redis.
    settings.CACHES["default"]["KEY_PREFIX"] = f"parley-tests-{os.getpid()}"


def service_missing(reason: str) -> None:
    """In CI a missing service fails the run; elsewhere the test is skipped with the reason."""
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def configured_services() -> None:
    """A REDIS_URL that is set must answer: the whole suite runs over it."""
    if not settings.REDIS_URL:
        return
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"REDIS_URL={settings.REDIS_URL} is unreachable: {exc}")


@pytest.fixture(scope="session", autouse=True)
def threads_let_go_of_the_database(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """At the end, close the connections that the server's long-lived threads (presence writes,
    sync actions) opened: PostgreSQL refuses to drop a test database still in use."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from presence.tracker import tracker

    with django_db_blocker.unblock():
        for executor in (tracker.executor, SyncToAsync.single_thread_executor):
            executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Throttles count in the cache: each test starts from zero."""
    if not settings.REDIS_URL:
        cache.clear()
        return
    # Never FLUSHDB a Redis other programs may share: delete this project's cache keys only.
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    for key in client.scan_iter(match=cache.make_key("*")):
        client.delete(key)


def make_user(username: str, display_name: str = "") -> Any:
    return get_user_model().objects.create_user(
        username=username, password="correct horse battery staple", first_name=display_name
    )


@pytest.fixture(autouse=True)
def sockets_settled(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test, wait until every socket it opened has finished closing.

    A closing socket still writes presence in a worker thread; flushing the database under it
    would deadlock on PostgreSQL.
    """
    yield
    if "connected" not in request.fixturenames:
        return
    from presence.models import Presence

    deadline = time.monotonic() + 15
    while Presence.objects.exists():
        assert time.monotonic() < deadline, list(Presence.objects.values("user__username"))
        time.sleep(0.05)


@pytest.fixture
def alice(transactional_db: None) -> object:
    return make_user("alice", "Alice")


@pytest.fixture
def bob(transactional_db: None) -> object:
    return make_user("bob", "Bob")


@pytest.fixture
def carol(transactional_db: None) -> object:
    return make_user("carol", "Carol")


@pytest.fixture
def staff(transactional_db: None) -> object:
    user = make_user("sam", "Sam (support)")
    user.is_staff = True
    user.save()
    return user


PEOPLE = ("alice", "bob", "carol", "staff")


def share_a_room(*users: Any, name: str = "common") -> None:
    """Put ``users`` in one private room, as people who may ring each other must be."""
    from rooms.models import Membership, Room

    room = Room.objects.create(name=name, title=name, owner=users[0], is_private=True)
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in users)


@pytest.fixture
def acquainted(request: pytest.FixtureRequest) -> None:
    """The people a test asks for share a room, so they may call each other."""
    people = [request.getfixturevalue(name) for name in PEOPLE if name in request.fixturenames]
    if people:
        share_a_room(*people)


def token_for(user: object) -> str:
    return Token.objects.get_or_create(user=user)[0].key


SocketFactory = Callable[..., contextlib.AbstractAsyncContextManager[Socket]]


@pytest.fixture
def connected() -> SocketFactory:
    """``async with connected(alice) as ws``: a signed-in socket, closed afterwards."""

    @contextlib.asynccontextmanager
    async def open_socket(user: object) -> AsyncIterator[Socket]:
        key = await sync_to_async(token_for)(user)
        socket = Socket(f"/ws/?token={key}")
        accepted, _ = await socket.connect()
        assert accepted
        try:
            yield socket
        finally:
            await socket.close()

    return open_socket


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Close database connections after each socket action, so none outlives its test.

    Sync actions run in a worker thread whose persistent connection would otherwise keep the
    test database open (PostgreSQL then refuses to drop it).
    """
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


class PrivateRedis:
    """A redis-server of this test's own, which it may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        service_missing("needs redis-server on PATH (Debian: apt-get install redis-server)")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()
