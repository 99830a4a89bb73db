"""The ``messages`` stream: history, posting, pushes only where they may go."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import transaction
from rest_framework.test import APIClient

from rooms import services
from rooms.models import Message, Room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def secret(alice):
    return services.room_create(owner=alice, name="secret", title="Secret", is_private=True)


async def test_member_sees_new_message_pushed_with_subscribe_request_id(
    connected, alice, bob, general
):
    async with connected(alice) as a, connected(bob) as b:
        ack = await b.request("messages", "subscribe_room", room=general.pk, request_id="sub-1")
        assert ack["payload"]["response_status"] == 201

        reply = await a.request("messages", "create", data={"room": general.pk, "body": "hi"})
        assert reply["payload"]["response_status"] == 201

        push = await b.push("messages", "sub-1")
        assert push["payload"]["action"] == "create"
        assert push["payload"]["data"]["body"] == "hi"
        assert push["payload"]["data"] == reply["payload"]["data"]
        await b.assert_silent()


async def test_edit_and_delete_are_pushed(connected, alice, bob, general):
    async with connected(alice) as a, connected(bob) as b:
        await b.request("messages", "subscribe_room", room=general.pk, request_id="s")
        created = await a.request("messages", "create", data={"room": general.pk, "body": "v1"})
        pk = created["payload"]["data"]["id"]
        assert (await b.push("messages", "s"))["payload"]["action"] == "create"

        await a.request("messages", "patch", pk=pk, data={"body": "v2"})
        update = await b.push("messages", "s")
        assert update["payload"]["action"] == "update"
        assert update["payload"]["data"]["body"] == "v2"
        assert update["payload"]["data"]["edited_at"] is not None

        await a.request("messages", "delete", pk=pk)
        delete = await b.push("messages", "s")
        assert delete["payload"]["action"] == "delete"
        assert delete["payload"]["data"] == {"pk": pk, "room": general.pk}
        await b.assert_silent()


async def test_non_member_cannot_subscribe_to_private_room(connected, bob, secret):
    async with connected(bob) as b:
        reply = await b.request("messages", "subscribe_room", room=secret.pk)
        assert reply["payload"]["response_status"] == 404
        listing = await b.request("messages", "list", room=secret.pk)
        assert listing["payload"]["response_status"] == 404
        post = await b.request("messages", "create", data={"room": secret.pk, "body": "x"})
        assert post["payload"]["response_status"] == 404


async def test_non_member_can_read_public_room_but_not_post(connected, alice, carol, general):
    await sync_to_async(services.message_create)(author=alice, room_id=general.pk, body="welcome")
    async with connected(carol) as c:
        listing = await c.request("messages", "list", room=general.pk)
        assert [m["body"] for m in listing["payload"]["data"]] == ["welcome"]
        post = await c.request("messages", "create", data={"room": general.pk, "body": "me too"})
        assert post["payload"]["response_status"] == 403


async def test_member_who_leaves_gets_no_further_pushes_on_any_socket(
    connected, alice, bob, general
):
    async with connected(alice) as a, connected(bob) as tab1, connected(bob) as tab2:
        await tab1.request("messages", "subscribe_room", room=general.pk, request_id="t1")
        await tab2.request("messages", "subscribe_room", room=general.pk, request_id="t2")

        await tab1.request("rooms", "leave", pk=general.pk)
        assert (await tab1.push("messages", "t1"))["payload"]["action"] == "revoked"
        assert (await tab2.push("messages", "t2"))["payload"]["action"] == "revoked"

        await a.request("messages", "create", data={"room": general.pk, "body": "after"})
        await tab1.assert_silent()
        await tab2.assert_silent()


async def test_removed_member_of_private_room_gets_no_further_pushes(connected, alice, bob, secret):
    await sync_to_async(services.room_invite)(room=secret, by=alice, user=bob)
    async with connected(alice) as a, connected(bob) as b:
        await b.request("messages", "subscribe_room", room=secret.pk, request_id="s")
        await a.request("messages", "create", data={"room": secret.pk, "body": "before"})
        assert (await b.push("messages", "s"))["payload"]["data"]["body"] == "before"

        await a.request("rooms", "remove_member", pk=secret.pk, user=bob.pk)
        assert (await b.push("messages", "s"))["payload"]["action"] == "revoked"
        await a.request("messages", "create", data={"room": secret.pk, "body": "after"})
        await b.assert_silent()


async def test_unsubscribe_stops_only_that_request_id(connected, alice, bob, general):
    async with connected(alice) as a, connected(bob) as b:
        await b.request("messages", "subscribe_room", room=general.pk, request_id="keep")
        await b.request("messages", "subscribe_room", room=general.pk, request_id="drop")
        await a.request("messages", "create", data={"room": general.pk, "body": "one"})
        await b.push("messages", "keep")
        await b.push("messages", "drop")

        reply = await b.request("messages", "unsubscribe_room", room=general.pk, request_id="drop")
        assert reply["payload"]["response_status"] == 204
        await a.request("messages", "create", data={"room": general.pk, "body": "two"})
        assert (await b.push("messages", "keep"))["payload"]["data"]["body"] == "two"
        await b.assert_silent()


async def test_retried_create_with_same_client_id_does_not_duplicate(
    connected, alice, bob, general
):
    client_id = str(uuid.uuid4())
    async with connected(alice) as a, connected(bob) as b:
        await b.request("messages", "subscribe_room", room=general.pk, request_id="s")
        data = {"room": general.pk, "body": "once", "client_id": client_id}
        first = await a.request("messages", "create", data=data)
        retry = await a.request("messages", "create", data=data)
        assert first["payload"]["response_status"] == 201
        assert retry["payload"]["response_status"] == 200
        assert retry["payload"]["data"]["id"] == first["payload"]["data"]["id"]
        await b.push("messages", "s")
        await b.assert_silent()


async def test_reconnecting_client_fetches_everything_it_missed(connected, alice, bob, general):
    async with connected(bob) as b:
        await b.request("messages", "subscribe_room", room=general.pk, request_id="s")
        async with connected(alice) as a:
            await a.request("messages", "create", data={"room": general.pk, "body": "seen"})
        last_seen = (await b.push("messages", "s"))["payload"]["data"]["id"]

    for i in range(3):
        await sync_to_async(services.message_create)(
            author=alice, room_id=general.pk, body=f"missed {i}"
        )

    async with connected(bob) as b:
        # dcrf-client nests list arguments under data; both shapes are accepted.
        missed = await b.request("messages", "list", data={"room": general.pk, "after": last_seen})
        bodies = [m["body"] for m in missed["payload"]["data"]]
        assert bodies == ["missed 0", "missed 1", "missed 2"]


async def test_history_limit_is_capped(connected, alice, general):
    async with connected(alice) as a:
        reply = await a.request("messages", "list", room=general.pk, limit=101)
        assert reply["payload"]["response_status"] == 400


async def test_rolled_back_write_pushes_nothing(connected, alice, bob, general):
    from django.db import transaction

    def create_then_fail() -> None:
        with transaction.atomic():
            services.message_create(author=alice, room_id=general.pk, body="never")
            raise RuntimeError("rolled back")

    async with connected(bob) as b:
        await b.request("messages", "subscribe_room", room=general.pk, request_id="s")
        with pytest.raises(RuntimeError):
            await sync_to_async(create_then_fail)()
        await b.assert_silent()


async def test_only_author_edits_over_the_socket(connected, alice, bob, general):
    async with connected(alice) as a, connected(bob) as b:
        created = await a.request("messages", "create", data={"room": general.pk, "body": "mine"})
        pk = created["payload"]["data"]["id"]
        edit = await b.request("messages", "patch", pk=pk, data={"body": "yours"})
        assert edit["payload"]["response_status"] == 403
        delete = await b.request("messages", "delete", pk=pk)
        assert delete["payload"]["response_status"] == 403


async def test_posting_past_the_burst_is_refused_on_socket_and_rest_and_nothing_is_stored(
    connected, alice, bob, general, settings
):
    # A window longer than the test: the count cannot roll over while it runs.
    settings.PARLEY = {**settings.PARLEY, "MESSAGE_BURST": 3, "MESSAGE_BURST_SECONDS": 10**9}
    rest = APIClient()
    rest.force_authenticate(alice)
    post_over_rest = database_sync_to_async(
        lambda body: rest.post("/api/messages/", body, format="json")
    )
    first = {"room": general.pk, "body": "one", "client_id": str(uuid.uuid4())}
    async with connected(alice) as a, connected(bob) as b:
        assert (await a.request("messages", "create", data=first))["payload"][
            "response_status"
        ] == 201
        two = await a.request("messages", "create", data={"room": general.pk, "body": "two"})
        assert two["payload"]["response_status"] == 201
        assert (await post_over_rest({"room": general.pk, "body": "three"})).status_code == 201

        refused = await a.request("messages", "create", data={"room": general.pk, "body": "four"})
        assert refused["payload"]["response_status"] == 429
        assert "too fast" in refused["payload"]["errors"][0]
        over_rest = await post_over_rest({"room": general.pk, "body": "four"})
        assert over_rest.status_code == 429 and int(over_rest["Retry-After"]) > 0

        # A retry of a message already sent is not a new post; and Bob has his own burst.
        retry = await a.request("messages", "create", data=first)
        assert retry["payload"]["response_status"] == 200
        bobs = await b.request("messages", "create", data={"room": general.pk, "body": "hi"})
        assert bobs["payload"]["response_status"] == 201
    bodies = await sync_to_async(lambda: list(Message.objects.values_list("body", flat=True)))()
    assert sorted(bodies) == ["hi", "one", "three", "two"]


def store_without_push(room, author, body: str) -> Message:
    """A message committed whose push never went out (its worker died in between)."""
    with transaction.atomic():
        seq = Room.next_seq(room.pk)
        quiet = Message(room=room, author=author, body=body, seq=seq)
        return Message.objects.bulk_create([quiet])[0]


async def test_a_listener_sees_a_missed_message_as_a_gap_and_catches_up(
    connected, alice, bob, general
):
    async with connected(alice) as a, connected(bob) as b:
        await b.request("messages", "subscribe_room", room=general.pk, request_id="m")
        await a.request("messages", "create", data={"room": general.pk, "body": "one"})
        first = (await b.push("messages", "m"))["payload"]["data"]
        await database_sync_to_async(store_without_push)(general, alice, "two")
        await a.request("messages", "create", data={"room": general.pk, "body": "three"})
        third = (await b.push("messages", "m"))["payload"]["data"]
        assert (first["seq"], third["seq"]) == (1, 3)  # 2 is missing: catch up
        missed = await b.request("messages", "list", room=general.pk, after=first["id"])
    assert [(m["seq"], m["body"]) for m in missed["payload"]["data"]] == [
        (2, "two"), (3, "three")
    ]
