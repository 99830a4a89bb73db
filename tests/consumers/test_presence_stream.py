"""The ``presence`` stream: online across tabs, offline when the last tab closes, typing."""

import pytest
from asgiref.sync import sync_to_async

from rooms import services

pytestmark = pytest.mark.django_db(transaction=True)


async def test_member_coming_online_and_going_offline_is_pushed(connected, alice, bob, general):
    async with connected(alice) as a:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="p")
        async with connected(bob):
            online = await a.push("presence", "p")
            assert online["payload"]["action"] == "create"
            assert online["payload"]["data"]["user"]["id"] == bob.pk
            listing = await a.request("presence", "list", room=general.pk)
            assert sorted(u["id"] for u in listing["payload"]["data"]) == [alice.pk, bob.pk]
        offline = await a.push("presence", "p")
        assert offline["payload"]["action"] == "delete"
        assert offline["payload"]["data"]["user"]["id"] == bob.pk
        await a.assert_silent()


async def test_second_tab_neither_duplicates_nor_ends_presence(connected, alice, bob, general):
    async with connected(alice) as a:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="p")
        async with connected(bob):
            await a.push("presence", "p")
            async with connected(bob):
                pass
            listing = await a.request("presence", "list", room=general.pk)
            assert bob.pk in [u["id"] for u in listing["payload"]["data"]]
            await a.assert_silent()
        assert (await a.push("presence", "p"))["payload"]["action"] == "delete"


async def test_closing_the_first_tab_keeps_the_user_online_while_another_is_open(
    connected, alice, bob, general
):
    async with connected(alice) as a:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="p")
        first_tab = connected(bob)
        await first_tab.__aenter__()
        assert (await a.push("presence", "p"))["payload"]["action"] == "create"
        async with connected(bob):
            await first_tab.__aexit__(None, None, None)
            listing = await a.request("presence", "list", room=general.pk)
            assert bob.pk in [u["id"] for u in listing["payload"]["data"]]
            await a.assert_silent()
        assert (await a.push("presence", "p"))["payload"]["action"] == "delete"
        await a.assert_silent()


async def test_typing_reaches_the_others_not_the_typist(connected, alice, bob, general):
    async with connected(alice) as a, connected(bob) as b:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="pa")
        await b.request("presence", "subscribe_room", room=general.pk, request_id="pb")
        reply = await b.request("presence", "typing", room=general.pk)
        assert reply["payload"]["response_status"] == 202
        # Bob may also be announced online (create) around now; typing is an update.
        typing = await a.wait_for(
            lambda f: f["payload"]["request_id"] == "pa" and f["payload"]["action"] == "update"
        )
        assert typing["payload"]["data"]["user"]["id"] == bob.pk
        assert typing["payload"]["data"]["typing"] is True
        # Alice's own "came online" may reach Bob, depending on timing; a typing echo never.
        assert [f for f in await b.drain() if f["payload"]["action"] == "update"] == []


async def test_non_member_cannot_type_or_see_private_presence(connected, alice, carol):
    secret = await sync_to_async(services.room_create)(
        owner=alice, name="secret", title="S", is_private=True
    )
    public = await sync_to_async(services.room_create)(owner=alice, name="open", title="O")
    async with connected(carol) as c:
        hidden = await c.request("presence", "subscribe_room", room=secret.pk)
        assert hidden["payload"]["response_status"] == 404
        typing = await c.request("presence", "typing", room=public.pk)
        assert typing["payload"]["response_status"] == 403


async def test_online_user_joining_a_room_is_announced_there(connected, alice, carol, general):
    async with connected(alice) as a, connected(carol) as c:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="p")
        await c.request("rooms", "join", pk=general.pk)
        joined = await a.wait_for(
            lambda f: f["payload"]["request_id"] == "p"
            and f["payload"]["action"] == "create"
            and f["payload"]["data"]["user"]["id"] == carol.pk
        )
        assert joined["payload"]["data"]["room"] == general.pk
        await c.request("rooms", "leave", pk=general.pk)
        left = await a.wait_for(
            lambda f: f["payload"]["request_id"] == "p" and f["payload"]["action"] == "delete"
        )
        assert left["payload"]["data"]["user"]["id"] == carol.pk


async def test_typing_more_than_once_a_second_is_refused_and_not_broadcast(
    connected, alice, bob, general
):
    async with connected(alice) as a, connected(bob) as b:
        await a.request("presence", "subscribe_room", room=general.pk, request_id="pa")
        first = await b.request("presence", "typing", room=general.pk)
        again = await b.request("presence", "typing", room=general.pk)
        assert (first["payload"]["response_status"], again["payload"]["response_status"]) == (
            202,
            429,
        )
        typing = [f for f in await a.drain() if f["payload"]["action"] == "update"]
        assert len(typing) == 1
