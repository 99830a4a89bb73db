"""A client that stops reading its socket must not hold up the others' pushes."""

import json
import random
import string

import pytest

from tests.live.conftest import guest
from tests.live.server import uvicorn
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MESSAGES = 1500
# Random letters: permessage-deflate cannot shrink them much, so the frames fill the socket
# buffers of a client that stops reading (several MB on loopback) and the server must wait.
BODY = 4000


async def test_a_client_that_stops_reading_does_not_hold_up_the_others(tmp_path, transactional_db):
    with uvicorn(tmp_path, "uvicorn", extra_env={"PARLEY_MESSAGE_BURST": "100000"}) as server:
        alice, bob, carol = guest(server, "Alice"), guest(server, "Bob"), guest(server, "Carol")
        a = await LiveSocket.open(server.ws_url, alice["token"])
        b = await LiveSocket.open(server.ws_url, bob["token"])
        c = await LiveSocket.open(server.ws_url, carol["token"])
        try:
            room = await a.request("rooms", "create", data={"name": "busy", "title": "Busy"})
            room_id = room["payload"]["data"]["id"]
            for reader in (b, c):
                await reader.request("rooms", "join", pk=room_id)
                await reader.request("messages", "subscribe_room", room=room_id, request_id="m")
            rng = random.Random(7)
            sent = []
            # Carol reads nothing from now on: her client stops taking frames off the socket
            # once its small queue is full, and the server's writes to her back up.
            for _ in range(MESSAGES):
                body = "".join(rng.choices(string.ascii_letters, k=BODY))
                reply = await a.request("messages", "create", data={"room": room_id, "body": body})
                sent.append(reply["payload"]["data"]["id"])
                # Bob gets every push while Carol is stuck.
                push = await b.push("messages", "m", timeout=10)
                assert push["payload"]["data"]["id"] == sent[-1]
            # Carol reads again: every push is there, in order, none lost.
            received: list[int] = []
            while len(received) < MESSAGES:
                frame = json.loads(await c.connection.recv())
                if frame["payload"]["request_id"] == "m":
                    received.append(frame["payload"]["data"]["id"])
            assert received == sent
        finally:
            for socket in (a, b, c):
                await socket.close()
