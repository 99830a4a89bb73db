"""Every way a sign-in ends closes the sockets it opened (4401), and only those."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.client import Socket
from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

BROWSER = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def by_session(user: Any) -> tuple[Socket, Client]:
    browser = Client()
    await sync_to_async(browser.force_login)(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    socket = Socket("/ws/", headers=[(b"cookie", cookie), *BROWSER])
    assert (await socket.connect())[0]
    return socket, browser


async def by_token(user: Any) -> Socket:
    socket = Socket(f"/ws/?token={await sync_to_async(token_for)(user)}")
    assert (await socket.connect())[0]
    return socket


async def closes_with_4401(socket: Socket) -> None:
    assert await socket.communicator.receive_output(timeout=5) == {
        "type": "websocket.close", "code": 4401
    }
    await socket.close()  # the client's side of the closing handshake


async def stays_open(socket: Socket) -> None:
    assert (await socket.request("rooms", "list"))["payload"]["response_status"] == 200
    await socket.close()


async def ended(change: Callable[[], Any]) -> None:
    await sync_to_async(change)()


async def test_a_session_deleted_in_the_admin_closes_its_sockets(alice):
    session_socket, browser = await by_session(alice)
    token_socket = await by_token(alice)
    key = browser.cookies["sessionid"].value
    await ended(lambda: Session.objects.filter(session_key=key).delete())
    await closes_with_4401(session_socket)
    await stays_open(token_socket)


async def test_signing_in_as_someone_else_in_that_browser_closes_the_first_ones_sockets(
    alice, bob
):
    session_socket, browser = await by_session(alice)
    await ended(lambda: browser.force_login(bob))  # a new user: Django flushes the session
    await closes_with_4401(session_socket)


async def test_a_token_deleted_in_the_admin_closes_its_sockets(alice):
    session_socket, _ = await by_session(alice)
    token_socket = await by_token(alice)
    await ended(lambda: Token.objects.filter(user=alice).delete())
    await closes_with_4401(token_socket)
    await stays_open(session_socket)


async def both_ways_and_someone_else(user: Any, other: Any) -> tuple[Socket, Socket, Socket]:
    """``user``'s socket by session and by token, and ``other``'s."""
    return (await by_session(user))[0], await by_token(user), await by_token(other)


async def test_a_new_password_closes_the_sockets_of_sessions_signed_in_before(alice, bob):
    session_socket, token_socket, others = await both_ways_and_someone_else(alice, bob)

    def change_password():
        alice.set_password("a new and long passphrase")
        alice.save()

    await ended(change_password)
    await closes_with_4401(session_socket)
    await stays_open(token_socket)
    await stays_open(others)


async def test_a_deactivated_user_loses_every_socket(alice, bob):
    session_socket, token_socket, others = await both_ways_and_someone_else(alice, bob)

    def deactivate():
        alice.is_active = False
        alice.save()

    await ended(deactivate)
    await closes_with_4401(session_socket)
    await closes_with_4401(token_socket)
    await stays_open(others)


async def test_a_socket_closes_when_its_session_expires(alice):
    session_socket, browser = await by_session(alice)
    await session_socket.close()

    def expire_soon():
        session = browser.session
        session.set_expiry(2)
        session.save()

    await ended(expire_soon)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    socket = Socket("/ws/", headers=[(b"cookie", cookie), *BROWSER])
    assert (await socket.connect())[0]
    assert (await socket.request("rooms", "list"))["payload"]["response_status"] == 200
    assert await socket.communicator.receive_output(timeout=10) == {
        "type": "websocket.close", "code": 4401
    }
    await socket.close()
