"""Hostile frames over a real uvicorn: every one gets an error frame and the socket stays open;
a socket that ends abnormally still takes its user offline and its call with it."""

import asyncio
import contextlib
import json

import pytest

from tests.live.conftest import guest
from tests.live.server import uvicorn
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def in_payload(value: str) -> str:
    return '{"stream": "rooms", "payload": {"action": "list", "request_id": "h", "data": ' + value


HOSTILE = [
    # (frame, status of its error frame)
    (nested(1_000), 400),  # 2,000 bytes that used to kill the socket (1006)
    (nested(100_000), 413),  # 200 KB: over the 64 KiB cap, never parsed
    (nested(30_000), 400),  # 60 KB of nesting under the cap
    (nested(20_000, '{"a":', "}")[: 60_000], 400),  # deep objects, cut short
    (in_payload(nested(5_000) + "}}"), 400),  # deep inside a real request
    ('{"stream": "rooms", "payload": {"x": "' + "y" * 1_040_000 + '"}}', 413),  # ~1 MiB string
    ("\ufeff" + '{"stream": "rooms", "payload": {}}', 400),  # a byte-order mark
    ('{"stream": "rooms", "payload": {"action": "list", "request_id": ' + "9" * 5_000 + "}}", 400),
    ('{"stream": "rooms", "payload": {"action": "retrieve", "request_id": 1, "pk": NaN}}', 400),
    ("[" + "1," * 20_000 + "1]", 400),  # wide, not deep
    ("", 400),
    ("null", 400),
]


async def test_hostile_frames_get_error_frames_and_the_socket_stays_open(uvicorn_server):
    alice = guest(uvicorn_server, "Alice")
    a = await LiveSocket.open(uvicorn_server.ws_url, alice["token"])
    try:
        for frame, status in HOSTILE:
            await a.connection.send(frame)
            error = await a.wait_for(lambda f: f["payload"]["response_status"] >= 400)
            assert error["payload"]["response_status"] == status, frame[:80]
            assert error["payload"]["errors"]
        await a.connection.send(b"\x00\xffbinary")
        error = await a.wait_for(lambda f: f["payload"]["response_status"] >= 400)
        assert error["payload"]["response_status"] == 400
        assert (await a.request("rooms", "list"))["payload"]["response_status"] == 200
    finally:
        await a.close()


async def test_text_that_is_not_unicode_is_refused_and_nothing_is_stored(uvicorn_server):
    alice = guest(uvicorn_server, "Alice")
    a = await LiveSocket.open(uvicorn_server.ws_url, alice["token"])
    try:
        room = await a.request("rooms", "create", data={"name": "utf", "title": "UTF"})
        room_id = room["payload"]["data"]["id"]
        # An unpaired surrogate, escaped: valid JSON, but no database or client can take it.
        frame = json.dumps(
            {"stream": "messages", "payload": {"action": "create", "request_id": "s",
                                               "data": {"room": room_id, "body": "a\ud800b"}}}
        )
        await a.connection.send(frame)
        error = await a.wait_for(lambda f: f["payload"]["response_status"] >= 400)
        assert error["payload"]["response_status"] == 400
        history = await a.request("messages", "list", room=room_id)
        assert history["payload"]["data"] == []
        # A real astral character (a surrogate pair in JSON) is text, and is stored.
        sent = await a.request("messages", "create", data={"room": room_id, "body": "\U0001f600"})
        assert sent["payload"]["response_status"] == 201
        assert sent["payload"]["data"]["body"] == "\U0001f600"
    finally:
        await a.close()


@pytest.mark.parametrize("how", ["connection cut", "invalid UTF-8 (1007)"])
async def test_a_socket_that_ends_abnormally_takes_its_user_offline_and_ends_its_call(
    tmp_path, transactional_db, how
):
    grace = {"PARLEY_CALL_GRACE_SECONDS": "1", "PARLEY_CALL_CLOCK_SECONDS": "0.2"}
    with uvicorn(tmp_path, "uvicorn", extra_env=grace) as server:
        alice, bob = guest(server, "Alice"), guest(server, "Bob")
        a = await LiveSocket.open(server.ws_url, alice["token"])
        b = await LiveSocket.open(server.ws_url, bob["token"])
        try:
            room = await a.request("rooms", "create", data={"name": "cut", "title": "Cut"})
            room_id = room["payload"]["data"]["id"]
            await b.request("rooms", "join", pk=room_id)
            await a.request("presence", "subscribe_room", room=room_id, request_id="p")
            await a.request("calls", "subscribe_calls", request_id="c")
            call = await a.request("calls", "create", data={"callee": bob["user"]["id"]})
            call_id = call["payload"]["data"]["id"]
            await b.request("calls", "accept", pk=call_id)

            if how == "connection cut":
                b.connection.transport.abort()  # no closing handshake: the server sees 1006
            else:
                await b.connection.send(b"\xff\xfe not UTF-8", text=True)

            offline = await a.wait_for(
                lambda f: f["stream"] == "presence" and f["payload"]["action"] == "delete"
            )
            assert offline["payload"]["data"]["user"]["id"] == bob["user"]["id"]
            ended = await a.wait_for(
                lambda f: f["stream"] == "calls"
                and f["payload"]["request_id"] == "c"
                and f["payload"]["data"]["state"] == "ended"
            )
            assert ended["payload"]["data"]["end_reason"] == "peer_gone"
            listing = await a.request("presence", "list", room=room_id)
            assert [u["id"] for u in listing["payload"]["data"]] == [alice["user"]["id"]]
        finally:
            await a.close()
            with contextlib.suppress(Exception):  # already cut off
                await asyncio.wait_for(b.close(), 5)
