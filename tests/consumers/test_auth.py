"""Who may open the socket: session cookie or ?token=, an allowed Origin; others get 4401/403."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import Client

from tests.client import Socket
from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://127.0.0.1:8000"
# A browser sends the host it connected to; the page's origin must match it exactly.
HOST = (b"host", b"127.0.0.1:8000")


async def expect_closed_with(socket: Socket, code: int) -> None:
    accepted, _ = await socket.connect()
    assert accepted
    closed = await socket.communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": code}


async def test_socket_without_credentials_is_closed_with_4401(transactional_db):
    await expect_closed_with(Socket("/ws/"), 4401)


async def test_socket_with_unknown_token_is_closed_with_4401(transactional_db):
    await expect_closed_with(Socket("/ws/?token=not-a-token"), 4401)


async def test_inactive_users_token_is_refused(alice):
    key = await sync_to_async(token_for)(alice)
    alice.is_active = False
    await sync_to_async(alice.save)()
    await expect_closed_with(Socket(f"/ws/?token={key}"), 4401)


async def test_browser_session_cookie_signs_the_socket_in(alice):
    client = Client()
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = Socket("/ws/", headers=[(b"cookie", cookie), (b"origin", ORIGIN), HOST])
    accepted, _ = await socket.connect()
    assert accepted
    reply = await socket.request("rooms", "list")
    assert reply["payload"]["response_status"] == 200
    await socket.close()


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:9999",  # another port of the same host is another site
        b"https://127.0.0.1:8000",  # another scheme
        b"http://127.0.0.1:8000.evil.example",  # the host as a prefix
        b"http://localhost:8000",  # an allowed host, but not the one the socket reached
        b"null",  # a sandboxed page or a file
    ],
)
async def test_only_the_sockets_own_origin_may_open_it(alice, origin):
    key = await sync_to_async(token_for)(alice)
    socket = Socket(f"/ws/?token={key}", headers=[(b"origin", origin), HOST])
    accepted, _ = await socket.connect()
    assert not accepted


async def test_a_trusted_origin_may_open_the_socket(alice, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    key = await sync_to_async(token_for)(alice)
    socket = Socket(
        f"/ws/?token={key}", headers=[(b"origin", b"https://app.example.com"), HOST]
    )
    accepted, _ = await socket.connect()
    assert accepted
    await socket.close()


async def test_foreign_origin_is_rejected(alice):
    key = await sync_to_async(token_for)(alice)
    socket = Socket(f"/ws/?token={key}", headers=[(b"origin", b"https://evil.example")])
    accepted, _ = await socket.connect()
    assert not accepted


async def test_guest_signs_in_over_http_and_uses_the_socket(transactional_db):
    from rest_framework.test import APIClient

    http = APIClient()
    response = await sync_to_async(http.post)(
        "/api/auth/guest/", {"display_name": "Zoë"}, format="json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    socket = Socket(f"/ws/?token={token}")
    assert (await socket.connect())[0]
    created = await socket.request("rooms", "create", data={"name": "zoe", "title": "Z"})
    assert created["payload"]["data"]["owner"]["display_name"] == "Zoë"
    await socket.close()


async def test_requests_sent_at_once_after_connect_reach_every_stream(alice):
    """The socket opens when its first stream is ready; frames for the others wait, not vanish."""
    key = await sync_to_async(token_for)(alice)
    socket = Socket(f"/ws/?token={key}")
    assert (await socket.connect())[0]
    streams = ["rooms", "messages", "presence", "calls", "sdp", "ice"]
    actions = {"rooms": "list", "calls": "list", "messages": "list", "presence": "list"}
    ids = [await socket.send(s, action=actions.get(s, "list")) for s in streams]
    replies = [
        await socket.wait_for(lambda f, rid=rid: f["payload"]["request_id"] == rid) for rid in ids
    ]
    assert [r["stream"] for r in replies] == streams
    await socket.close()


async def test_signing_out_closes_the_sockets_it_signed_in_and_no_others(alice, bob):
    async def browser() -> tuple[Client, Socket]:
        client = Client()
        await sync_to_async(client.force_login)(alice)
        cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
        socket = Socket("/ws/", headers=[(b"cookie", cookie), (b"origin", ORIGIN), HOST])
        assert (await socket.connect())[0]
        return client, socket

    laptop, laptop_socket = await browser()
    _, phone_socket = await browser()  # another browser session of Alice's
    script_socket = Socket(f"/ws/?token={await sync_to_async(token_for)(alice)}")
    bobs_socket = Socket(f"/ws/?token={await sync_to_async(token_for)(bob)}")
    for socket in (script_socket, bobs_socket):
        assert (await socket.connect())[0]

    signed_out = await database_sync_to_async(laptop.post)("/api/auth/logout/")
    assert signed_out.status_code == 204

    # The laptop's session ended and the API token is revoked: their sockets close.
    for socket in (laptop_socket, script_socket):
        closed = await socket.communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}
    # The phone's session and Bob were not signed out.
    for socket in (phone_socket, bobs_socket):
        assert (await socket.request("rooms", "list"))["payload"]["response_status"] == 200
        await socket.close()
    for socket in (laptop_socket, script_socket):
        await socket.close()
