"""A client that stops reading its socket: it holds up nobody, and it cannot hold the server's
memory. Within its send buffer it loses nothing; past it, it is closed with 4408 ("too slow")
and reconnects to catch up; one that reads nothing at all is cut off."""

import asyncio
import json
import random
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import websockets

from tests.live.conftest import guest
from tests.live.server import LiveServer, uvicorn
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Random letters: permessage-deflate cannot shrink them much, so the frames fill the socket
# buffers of a client that stops reading (several MB on loopback) and the server must wait.
BODY = 4000
TOO_SLOW = "closed with 4408"
CUT_OFF = "cut off: it read nothing more"


class Room:
    """Alice posts in a room Bob reads promptly and Carol stops reading."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.rng = random.Random(7)
        self.sent: list[int] = []

    async def open(self) -> None:
        alice, bob, self.carol = (guest(self.server, n) for n in ("Alice", "Bob", "Carol"))
        self.a = await LiveSocket.open(self.server.ws_url, alice["token"])
        self.b = await LiveSocket.open(self.server.ws_url, bob["token"])
        self.c = await LiveSocket.open(self.server.ws_url, self.carol["token"])
        room = await self.a.request("rooms", "create", data={"name": "busy", "title": "Busy"})
        self.id = room["payload"]["data"]["id"]
        for reader in (self.b, self.c):
            await reader.request("rooms", "join", pk=self.id)
            await reader.request("messages", "subscribe_room", room=self.id, request_id="m")

    async def post(self) -> None:
        """Alice posts; Bob gets the push at once, whatever Carol does."""
        body = "".join(self.rng.choices(string.ascii_letters, k=BODY))
        reply = await self.a.request("messages", "create", data={"room": self.id, "body": body})
        self.sent.append(reply["payload"]["data"]["id"])
        push = await self.b.push("messages", "m", timeout=10)
        assert push["payload"]["data"]["id"] == self.sent[-1]

    async def post_until_logged(self, line: str, most: int = 6000) -> None:
        """Post until the server's log says ``line`` (a server event, not a guess at time)."""
        while len(self.sent) < most:
            for _ in range(50):
                await self.post()
            if line in self.server.log.read_text():
                return
        raise AssertionError(f"{line!r} never logged after {most} messages")

    async def close(self) -> None:
        for socket in (self.a, self.b, self.c):
            await socket.close()


@asynccontextmanager
async def busy_room(tmp_path, **env: str) -> AsyncIterator[Room]:
    settings = {"PARLEY_MESSAGE_BURST": "100000", **env}
    with uvicorn(tmp_path, "uvicorn", extra_env=settings) as server:
        room = Room(server)
        await room.open()
        try:
            yield room
        finally:
            await room.close()


async def carol_reads_until_closed(room: Room) -> tuple[list[int], websockets.ConnectionClosed]:
    """Carol reads again: the pushes her buffers held, in order, then the end of her socket."""
    received: list[int] = []
    try:
        async with asyncio.timeout(60):
            while True:
                frame = json.loads(await room.c.connection.recv())
                if frame["payload"]["request_id"] == "m":
                    received.append(frame["payload"]["data"]["id"])
    except websockets.ConnectionClosed as closed:
        return received, closed


async def test_a_client_behind_within_its_buffer_loses_nothing(tmp_path, transactional_db):
    async with busy_room(tmp_path, PARLEY_SEND_BUFFER_BYTES=str(64 * 2**20)) as room:
        for _ in range(1500):  # 6 MB: more than the kernel buffers hold, less than 64 MiB
            await room.post()
        received: list[int] = []
        while len(received) < len(room.sent):
            frame = json.loads(await room.c.connection.recv())
            if frame["payload"]["request_id"] == "m":
                received.append(frame["payload"]["data"]["id"])
        assert received == room.sent
        assert TOO_SLOW not in room.server.log.read_text()


async def test_a_client_too_far_behind_is_closed_with_4408_and_catches_up(
    tmp_path, transactional_db
):
    async with busy_room(
        tmp_path, PARLEY_SEND_BUFFER_BYTES="262144", PARLEY_SLOW_CLIENT_GRACE_SECONDS="120"
    ) as room:
        await room.post_until_logged(TOO_SLOW)
        received, closed = await carol_reads_until_closed(room)
        assert closed.rcvd is not None, "no close frame came"
        assert (closed.rcvd.code, closed.rcvd.reason) == (4408, "too slow")
        assert received == room.sent[: len(received)]  # in order, a prefix: nothing skipped
        # As the close code asks: reconnect, and catch up from the last message held.
        again = await LiveSocket.open(room.server.ws_url, room.carol["token"])
        try:
            missed = await again.request(
                "messages", "list", room=room.id, after=received[-1], limit=100
            )
            assert [m["id"] for m in missed["payload"]["data"]] == room.sent[
                len(received): len(received) + 100
            ]
        finally:
            await again.close()


async def test_a_client_that_reads_nothing_is_cut_off(tmp_path, transactional_db):
    async with busy_room(
        tmp_path, PARLEY_SEND_BUFFER_BYTES="262144", PARLEY_SLOW_CLIENT_GRACE_SECONDS="1"
    ) as room:
        await room.post_until_logged(CUT_OFF)
        received, closed = await carol_reads_until_closed(room)
        assert closed.rcvd is None  # no close frame could reach her: the connection dropped
        assert received == room.sent[: len(received)]
        await room.post()  # the server and everyone else go on
