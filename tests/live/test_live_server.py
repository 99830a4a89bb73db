"""A real uvicorn, real WebSocket clients: what a user of a running Parley sees."""

import asyncio

import pytest
import websockets

from tests.live.conftest import guest, two_in_a_room
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_subscriber_receives_message_posted_by_another_client(uvicorn_server):
    async with two_in_a_room(uvicorn_server, "live") as them:
        await them.a.request(
            "messages", "create", data={"room": them.room_id, "body": "over the wire"}
        )
        push = await them.b.push("messages", "m")
        assert push["payload"]["data"]["body"] == "over the wire"
        assert push["payload"]["data"]["author"]["display_name"] == "Alice"


async def test_unauthenticated_socket_is_closed_with_4401(uvicorn_server):
    async with websockets.connect(uvicorn_server.ws_url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_frame_over_hard_limit_closes_with_1009_but_64k_cap_answers_413(uvicorn_server):
    alice = guest(uvicorn_server, "Alice")
    a = await LiveSocket.open(uvicorn_server.ws_url, alice["token"])
    try:
        big = '{"stream": "rooms", "payload": {"x": "' + "y" * 70_000 + '"}}'
        await a.connection.send(big)
        error = await a.wait_for(lambda f: f["payload"]["response_status"] == 413)
        assert "limited" in error["payload"]["errors"][0]
        rooms = await a.request("rooms", "list")
        assert rooms["payload"]["response_status"] == 200
    finally:
        await a.close()


@pytest.mark.parametrize("name", ["token", "tok%65n", "%74oken"])
async def test_the_token_of_a_socket_url_never_reaches_the_log(uvicorn_server, name):
    alice = guest(uvicorn_server, "Alice")
    socket = LiveSocket(
        await websockets.connect(f"{uvicorn_server.ws_url}?{name}={alice['token']}")
    )
    try:
        listing = await socket.request("rooms", "list")  # the spelling signs in
        assert listing["payload"]["response_status"] == 200
    finally:
        await socket.close()
    # uvicorn logs the handshake's line (with its query) as the socket opens.
    log = uvicorn_server.log.read_text()
    assert f"/ws/?{name}=[redacted]" in log
    assert alice["token"] not in log
