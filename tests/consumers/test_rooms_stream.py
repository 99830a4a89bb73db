"""The ``rooms`` stream: CRUD, membership, the lobby and instance subscriptions."""

import pytest
from asgiref.sync import sync_to_async

from rooms import services
from rooms.models import Room

pytestmark = pytest.mark.django_db(transaction=True)


async def test_creator_owns_new_room(connected, alice):
    async with connected(alice) as a:
        reply = await a.request("rooms", "create", data={"name": "general", "title": "General"})
        assert reply["payload"]["response_status"] == 201
        assert reply["payload"]["data"]["owner"]["id"] == alice.pk
        members = await a.request("rooms", "members", pk=reply["payload"]["data"]["id"])
        assert [(m["user"]["id"], m["role"]) for m in members["payload"]["data"]] == [
            (alice.pk, "owner")
        ]


async def test_list_shows_public_rooms_and_my_private_ones(connected, alice, bob):
    await sync_to_async(services.room_create)(owner=alice, name="public", title="P")
    await sync_to_async(services.room_create)(
        owner=alice, name="hidden", title="H", is_private=True
    )
    await sync_to_async(services.room_create)(owner=bob, name="mine", title="M", is_private=True)
    async with connected(bob) as b:
        reply = await b.request("rooms", "list")
        assert [r["name"] for r in reply["payload"]["data"]] == ["public", "mine"]


async def test_private_room_is_404_for_non_members_whatever_the_action(connected, alice, bob):
    room = await sync_to_async(services.room_create)(
        owner=alice, name="secret", title="S", is_private=True
    )
    async with connected(bob) as b:
        for action in ["retrieve", "join", "members", "delete", "subscribe_instance"]:
            reply = await b.request("rooms", action, pk=room.pk)
            assert reply["payload"]["response_status"] == 404, action
            assert reply["payload"]["errors"] == ["Not found."]
        missing = await b.request("rooms", "retrieve", pk=999999)
        assert missing["payload"]["errors"] == reply["payload"]["errors"]


async def test_only_owner_changes_room(connected, alice, bob):
    room = await sync_to_async(services.room_create)(owner=alice, name="general", title="G")
    async with connected(bob) as b:
        patch = await b.request("rooms", "patch", pk=room.pk, data={"title": "Mine"})
        assert patch["payload"]["response_status"] == 403
        delete = await b.request("rooms", "delete", pk=room.pk)
        assert delete["payload"]["response_status"] == 403
    assert (await sync_to_async(Room.objects.get)(pk=room.pk)).title == "G"


async def test_owner_invites_to_private_room(connected, alice, bob):
    room = await sync_to_async(services.room_create)(
        owner=alice, name="secret", title="S", is_private=True
    )
    async with connected(alice) as a, connected(bob) as b:
        await b.request("rooms", "subscribe_rooms", request_id="lobby")
        invite = await a.request("rooms", "invite", pk=room.pk, user=bob.pk)
        assert invite["payload"]["response_status"] == 200
        appeared = await b.push("rooms", "lobby")
        assert appeared["payload"]["action"] == "create"
        assert appeared["payload"]["data"]["name"] == "secret"
        retrieve = await b.request("rooms", "retrieve", pk=room.pk)
        assert retrieve["payload"]["response_status"] == 200


async def test_member_cannot_invite(connected, alice, bob, carol):
    room = await sync_to_async(services.room_create)(
        owner=alice, name="secret", title="S", is_private=True
    )
    await sync_to_async(services.room_invite)(room=room, by=alice, user=bob)
    async with connected(bob) as b:
        reply = await b.request("rooms", "invite", pk=room.pk, user=carol.pk)
        assert reply["payload"]["response_status"] == 403


async def test_lobby_pushes_public_rooms_to_everyone(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        await b.request("rooms", "subscribe_rooms", request_id="lobby")
        created = await a.request("rooms", "create", data={"name": "new", "title": "New"})
        pk = created["payload"]["data"]["id"]
        push = await b.push("rooms", "lobby")
        assert (push["payload"]["action"], push["payload"]["data"]["id"]) == ("create", pk)

        await a.request("rooms", "patch", pk=pk, data={"title": "Renamed"})
        push = await b.push("rooms", "lobby")
        assert (push["payload"]["action"], push["payload"]["data"]["title"]) == (
            "update",
            "Renamed",
        )

        await a.request("rooms", "delete", pk=pk)
        push = await b.push("rooms", "lobby")
        assert (push["payload"]["action"], push["payload"]["data"]) == ("delete", {"pk": pk})
        await b.assert_silent()


async def test_non_member_gets_no_pushes_of_private_rooms(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        await b.request("rooms", "subscribe_rooms", request_id="lobby")
        created = await a.request(
            "rooms", "create", data={"name": "secret", "title": "S", "is_private": True}
        )
        pk = created["payload"]["data"]["id"]
        await a.request("rooms", "patch", pk=pk, data={"title": "Still secret"})
        await a.request("rooms", "delete", pk=pk)
        await b.assert_silent()


async def test_room_turning_private_vanishes_from_non_members_lobby(connected, alice, bob):
    room = await sync_to_async(services.room_create)(owner=alice, name="open", title="O")
    async with connected(alice) as a, connected(bob) as b:
        await a.request("rooms", "subscribe_rooms", request_id="mine")
        await b.request("rooms", "subscribe_rooms", request_id="lobby")
        await a.request("rooms", "patch", pk=room.pk, data={"is_private": True})
        gone = await b.push("rooms", "lobby")
        assert (gone["payload"]["action"], gone["payload"]["data"]) == ("delete", {"pk": room.pk})
        await b.assert_silent()
        # The owner, a member, still sees the room (it left the public lobby, joined the private).
        actions = [(await a.push("rooms", "mine"))["payload"]["action"] for _ in range(2)]
        assert actions == ["delete", "create"]


async def test_instance_subscriber_sees_update_and_delete(connected, alice, bob):
    room = await sync_to_async(services.room_create)(owner=alice, name="general", title="G")
    async with connected(alice) as a, connected(bob) as b:
        ack = await b.request("rooms", "subscribe_instance", pk=room.pk, request_id="inst")
        assert ack["payload"]["response_status"] == 201
        await a.request("rooms", "patch", pk=room.pk, data={"title": "G2"})
        update = await b.push("rooms", "inst")
        assert update["payload"]["data"]["title"] == "G2"
        await a.request("rooms", "delete", pk=room.pk)
        delete = await b.push("rooms", "inst")
        assert (delete["payload"]["action"], delete["payload"]["data"]) == (
            "delete",
            {"pk": room.pk},
        )
        await b.assert_silent()


async def test_unsubscribe_instance_stops_only_that_request_id(connected, alice, bob):
    room = await sync_to_async(services.room_create)(owner=alice, name="general", title="G")
    async with connected(alice) as a, connected(bob) as b:
        await b.request("rooms", "subscribe_instance", pk=room.pk, request_id="s1")
        await b.request("rooms", "subscribe_instance", pk=room.pk, request_id="s2")
        await a.request("rooms", "patch", pk=room.pk, data={"title": "one"})
        await b.push("rooms", "s1")
        await b.push("rooms", "s2")
        await b.request("rooms", "unsubscribe_instance", pk=room.pk, request_id="s1")
        await a.request("rooms", "patch", pk=room.pk, data={"title": "two"})
        assert (await b.push("rooms", "s2"))["payload"]["data"]["title"] == "two"
        await b.assert_silent()


async def test_removed_member_sees_private_room_vanish_on_every_socket(connected, alice, bob):
    room = await sync_to_async(services.room_create)(
        owner=alice, name="secret", title="S", is_private=True
    )
    await sync_to_async(services.room_invite)(room=room, by=alice, user=bob)
    async with connected(alice) as a, connected(bob) as tab1, connected(bob) as tab2:
        await tab1.request("rooms", "subscribe_rooms", request_id="lobby1")
        await tab2.request("rooms", "subscribe_instance", pk=room.pk, request_id="inst2")
        await a.request("rooms", "remove_member", pk=room.pk, user=bob.pk)
        gone1 = await tab1.push("rooms", "lobby1")
        gone2 = await tab2.push("rooms", "inst2")
        assert gone1["payload"]["action"] == gone2["payload"]["action"] == "delete"
        await a.request("rooms", "patch", pk=room.pk, data={"title": "after"})
        await tab1.assert_silent()
        await tab2.assert_silent()


async def test_room_turning_public_appears_once_for_non_members(connected, alice, bob):
    room = await sync_to_async(services.room_create)(
        owner=alice, name="secret", title="S", is_private=True
    )
    async with connected(alice) as a, connected(bob) as b:
        await b.request("rooms", "subscribe_rooms", request_id="lobby")
        await a.request("rooms", "patch", pk=room.pk, data={"is_private": False})
        appeared = await b.push("rooms", "lobby")
        assert (appeared["payload"]["action"], appeared["payload"]["data"]["id"]) == (
            "create",
            room.pk,
        )
        await b.assert_silent()


async def test_non_member_following_a_room_that_turns_private_is_told(connected, alice, bob):
    room = await sync_to_async(services.room_create)(owner=alice, name="open", title="O")
    async with connected(alice) as a, connected(bob) as b:
        await b.request("rooms", "subscribe_instance", pk=room.pk, request_id="inst")
        await b.request("messages", "subscribe_room", room=room.pk, request_id="msgs")
        await a.request("rooms", "patch", pk=room.pk, data={"is_private": True})
        gone = await b.push("rooms", "inst")
        assert (gone["payload"]["action"], gone["payload"]["data"]) == ("delete", {"pk": room.pk})

        await a.request("messages", "create", data={"room": room.pk, "body": "members only"})
        revoked = await b.push("messages", "msgs")
        assert revoked["payload"]["action"] == "revoked"
        assert revoked["payload"]["data"] == {"room": room.pk, "reason": "now_private"}
        await a.request("messages", "create", data={"room": room.pk, "body": "still private"})
        await b.assert_silent()


async def test_deleting_a_room_ends_its_followers_subscriptions_without_a_push_per_message(
    connected, alice, bob
):
    room = await sync_to_async(services.room_create)(owner=alice, name="doomed", title="D")
    await sync_to_async(services.room_join)(room=room, user=bob)
    for i in range(5):
        await sync_to_async(services.message_create)(author=alice, room_id=room.pk, body=f"m{i}")
    async with connected(alice) as a, connected(bob) as b:
        await b.request("messages", "subscribe_room", room=room.pk, request_id="msgs")
        await a.request("rooms", "delete", pk=room.pk)
        revoked = await b.push("messages", "msgs")
        assert revoked["payload"]["data"] == {"room": room.pk, "reason": "room_deleted"}
        assert revoked["payload"]["errors"] == ["The room was deleted."]
        await b.assert_silent()
