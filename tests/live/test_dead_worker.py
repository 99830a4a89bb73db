"""A worker that dies (or stops) with sockets open: the other workers tell the rooms."""

import os
import signal

import pytest

from tests.live.conftest import guest, presence_changes, presence_of, watching_presence
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Declared dead after 3 silent seconds, swept within a second more: 20 s is ample on a busy CI.
WITHIN = 20


async def test_users_of_a_killed_worker_go_offline_and_their_calls_stop_ringing(
    two_quick_servers,
):
    one, two = two_quick_servers
    alice, bob = guest(one, "Alice"), guest(one, "Bob")
    async with watching_presence(one, "crash", alice) as (a, room_id):
        await a.request("calls", "subscribe_calls", request_id="c")
        b = await LiveSocket.open(two.ws_url, bob["token"])
        await b.request("rooms", "join", pk=room_id)
        assert await presence_changes(a, bob, 1) == ["create"]
        await b.request("calls", "create", data={"callee": alice["user"]["id"]})
        assert (await a.push("calls", "c"))["payload"]["data"]["state"] == "ringing"

        two.process.kill()  # SIGKILL: no socket of it closes, no disconnect runs
        two.process.wait()

        offline = await presence_of(a, bob, timeout=WITHIN)
        assert offline["payload"]["action"] == "delete"
        assert offline["payload"]["data"]["user"]["id"] == bob["user"]["id"]
        call = await a.push("calls", "c", timeout=WITHIN)
        assert (call["payload"]["data"]["state"], call["payload"]["data"]["end_reason"]) == (
            "cancelled",
            "caller_gone",
        )
        listing = await a.request("presence", "list", room=room_id)
        assert [u["id"] for u in listing["payload"]["data"]] == [alice["user"]["id"]]


async def test_users_of_a_paused_worker_come_back_online_when_it_resumes(two_quick_servers):
    one, two = two_quick_servers
    bob = guest(one, "Bob")
    async with watching_presence(one, "pause") as (a, room_id):
        b = await LiveSocket.open(two.ws_url, bob["token"])
        try:
            await b.request("rooms", "join", pk=room_id)
            assert await presence_changes(a, bob, 1) == ["create"]

            os.kill(two.process.pid, signal.SIGSTOP)
            try:
                offline = await presence_of(a, bob, timeout=WITHIN)
            finally:
                os.kill(two.process.pid, signal.SIGCONT)
            assert offline["payload"]["action"] == "delete"
            # Someone connecting to the resumed worker first must not hide that Bob's socket
            # went uncounted (that socket brings the worker's row back).
            carol = await LiveSocket.open(two.ws_url, guest(one, "Carol")["token"])

            # Bob's socket never closed: once the worker beats again, he is back.
            online = await presence_of(a, bob, timeout=WITHIN)
            assert online["payload"]["action"] == "create"
            assert online["payload"]["data"]["user"]["id"] == bob["user"]["id"]
            await carol.close()
            listing = await a.request("presence", "list", room=room_id)
            assert bob["user"]["id"] in [u["id"] for u in listing["payload"]["data"]]
            message = await b.request("messages", "create", data={"room": room_id, "body": "back"})
            assert message["payload"]["response_status"] == 201
        finally:
            await b.close()
