"""A socket's end always runs: presence and calls stay consistent whatever ends it, and however
many sockets open and close at once."""

import asyncio
from collections import Counter
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from calls import services as call_services
from calls.models import Call
from presence.models import Presence
from rooms import services
from tests.client import Socket
from tests.conftest import make_user, token_for

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user: object) -> Socket:
    socket = Socket(f"/ws/?token={await sync_to_async(token_for)(user)}")
    accepted, _ = await socket.connect()
    assert accepted
    return socket


async def test_a_socket_whose_task_dies_still_takes_its_user_offline_and_out_of_the_call(
    connected, alice, bob, general
):
    call, _ = await sync_to_async(call_services.call_invite)(caller=alice, callee=bob)
    async with connected(alice) as a:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="p")
        b = await open_socket(bob)
        assert (await a.push("presence", "p"))["payload"]["action"] == "create"
        accepted = await b.request("calls", "accept", pk=call.pk)
        assert accepted["payload"]["data"]["state"] == "accepted"

        b.communicator.future.cancel()  # the socket's task dies (a crash, a cancelled server)

        offline = await a.push("presence", "p")
        assert (offline["payload"]["action"], offline["payload"]["data"]["user"]["id"]) == (
            "delete",
            bob.pk,
        )
        # The call rules ran before the rooms were told: the call waits out bob's grace period.
        call = await Call.objects.aget(pk=call.pk)
        assert call.state == "accepted" and call.callee_gone_at is not None
        assert [p async for p in Presence.objects.values_list("user_id", flat=True)] == [alice.pk]
        await a.assert_silent()


async def test_many_sockets_opened_and_closed_at_once_leave_no_stale_presence(
    connected, alice, general
):
    def people() -> list[Any]:
        users = [make_user(f"user{i}") for i in range(30)]
        for user in users:
            services.room_join(room=general, user=user)
        return users

    users = await sync_to_async(people)()
    async with connected(alice) as a:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="p")
        # Three tabs each, all opening at once: a reconnect storm.
        sockets = await asyncio.gather(*(open_socket(user) for user in users * 3))
        listing = await a.request("presence", "list", room=general.pk)
        assert len(listing["payload"]["data"]) == 31

        await asyncio.gather(*(socket.close() for socket in sockets))

        frames = await a.drain(quiet=1.0)
        changes = Counter(
            (f["payload"]["action"], f["payload"]["data"]["user"]["id"])
            for f in frames
            if f["payload"]["request_id"] == "p"
        )
        # Each user came online once and went offline once, however many tabs they had.
        assert changes == Counter(
            [("create", user.pk) for user in users] + [("delete", user.pk) for user in users]
        )
        listing = await a.request("presence", "list", room=general.pk)
        assert [u["id"] for u in listing["payload"]["data"]] == [alice.pk]
        assert [p async for p in Presence.objects.values_list("user_id", flat=True)] == [alice.pk]
