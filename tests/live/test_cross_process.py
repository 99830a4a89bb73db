"""Two uvicorn processes behind one Redis: a push crosses from one worker to the other."""

import pytest

from tests.live.conftest import (
    guest,
    presence_changes,
    presence_of,
    two_in_a_room,
    watching_presence,
)
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_subscriber_on_one_worker_receives_message_posted_through_the_other(two_servers):
    one, two = two_servers
    async with two_in_a_room(one, "across", bob_server=two) as them:
        await them.a.request(
            "messages", "create", data={"room": them.room_id, "body": "from worker one"}
        )
        push = await them.b.push("messages", "m")
        assert push["payload"]["data"]["body"] == "from worker one"


async def test_presence_counts_sockets_across_workers(two_servers):
    one, two = two_servers
    bob = guest(one, "Bob")
    async with watching_presence(one, "pres") as (a, room_id):
        b1 = await LiveSocket.open(one.ws_url, bob["token"])
        await b1.request("rooms", "join", pk=room_id)
        joined = await presence_of(a, bob)  # online Bob joined: announced once
        assert (joined["payload"]["action"], joined["payload"]["data"]["user"]["id"]) == (
            "create",
            bob["user"]["id"],
        )
        b2 = await LiveSocket.open(two.ws_url, bob["token"])
        # A second tab on the other worker neither announces Bob again nor, closing the
        # first one, takes him offline.
        await b1.close()
        listing = await a.request("presence", "list", room=room_id)
        online = sorted(u["display_name"] for u in listing["payload"]["data"])
        assert online == ["Alice", "Bob"]
        await b2.close()
        offline = await presence_of(a, bob)
        assert offline["payload"]["action"] == "delete"
        assert offline["payload"]["data"]["user"]["display_name"] == "Bob"


async def test_a_socket_counts_as_online_as_soon_as_it_opens_on_either_worker(two_servers):
    one, two = two_servers
    bob = guest(one, "Bob")
    async with watching_presence(one, "ready") as (a, room_id):
        b = await LiveSocket.open(two.ws_url, bob["token"])
        await b.request("rooms", "join", pk=room_id)
        await b.close()
        assert await presence_changes(a, bob, 2) == ["create", "delete"]
        # The race is between two processes: a few rounds make a lost one show.
        for server in [one, two] * 4:
            b = await LiveSocket.open(server.ws_url, bob["token"])
            listing = await a.request("presence", "list", room=room_id)
            assert bob["user"]["id"] in [u["id"] for u in listing["payload"]["data"]]
            await b.close()
            assert await presence_changes(a, bob, 2) == ["create", "delete"]
