"""Lists that grow without bound come a page at a time: rooms and a room's members."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from rooms.models import Membership, Room

pytestmark = pytest.mark.django_db(transaction=True)

MAX = 100


def many_rooms(owner, count: int) -> list[int]:
    rooms = Room.objects.bulk_create(
        Room(name=f"room-{n}", title=f"Room {n}", owner=owner) for n in range(count)
    )
    return [room.pk for room in rooms]


def crowded_room(owner, count: int) -> tuple[int, list[int]]:
    room = Room.objects.create(name="crowd", title="Crowd", owner=owner)
    people = User.objects.bulk_create(User(username=f"member-{n}") for n in range(count))
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in people)
    return room.pk, [user.pk for user in people]


async def every_page(socket, action: str, limit: int, **args) -> list[list[dict]]:
    pages, after = [], None
    while True:
        cursor: dict[str, int] = {} if after is None else {"after": after}
        reply = await socket.request("rooms", action, limit=limit, **cursor, **args)
        assert reply["payload"]["response_status"] == 200, reply
        page = reply["payload"]["data"]
        pages.append(page)
        if len(page) < limit:
            return pages
        after = page[-1]["id"]


async def test_the_rooms_list_is_at_most_a_hundred_and_pages_by_id(connected, alice):
    ids = await sync_to_async(many_rooms)(alice, MAX + 5)
    async with connected(alice) as a:
        first = (await a.request("rooms", "list"))["payload"]["data"]
        assert [room["id"] for room in first] == ids[:MAX]
        pages = await every_page(a, "list", limit=40)
    assert [len(page) for page in pages] == [40, 40, 25]
    assert [room["id"] for page in pages for room in page] == ids


async def test_a_room_added_while_paging_is_neither_skipped_nor_repeated(connected, alice):
    ids = await sync_to_async(many_rooms)(alice, 4)
    async with connected(alice) as a:
        first = (await a.request("rooms", "list", limit=2))["payload"]["data"]
        late = await sync_to_async(Room.objects.create)(name="late", title="Late", owner=alice)
        rest = (await a.request("rooms", "list", limit=10, after=first[-1]["id"]))["payload"]
    assert [room["id"] for room in first + rest["data"]] == [*ids, late.pk]


async def test_members_page_by_membership_id(connected, alice):
    room, people = await sync_to_async(crowded_room)(alice, MAX + 1)
    async with connected(alice) as a:
        first = (await a.request("rooms", "members", pk=room))["payload"]["data"]
        assert len(first) == MAX
        pages = await every_page(a, "members", limit=60, pk=room)
    assert [m["user"]["id"] for page in pages for m in page] == people


@pytest.mark.parametrize("args", [{"limit": MAX + 1}, {"limit": 0}, {"after": "abc"},
                                  {"after": -1}, {"limit": [1]}])
async def test_a_bad_page_is_a_400_naming_the_argument(connected, alice, args):
    async with connected(alice) as a:
        for action, extra in (("list", {}), ("members", {"pk": 1})):
            reply = await a.request("rooms", action, **extra, **args)
            assert reply["payload"]["response_status"] == 400, reply
            assert list(reply["payload"]["errors"][0]) == list(args)
