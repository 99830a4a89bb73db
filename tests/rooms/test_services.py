"""The rules of rooms and messages, without any transport."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from rooms import selectors, services
from rooms.models import Membership, Message, Room

pytestmark = pytest.mark.django_db(transaction=True)


def test_creator_becomes_owner_and_member(alice):
    room = services.room_create(owner=alice, name="general", title="General")
    membership = Membership.objects.get(room=room, user=alice)
    assert membership.role == Membership.Role.OWNER


def test_room_name_must_be_a_slug(alice):
    with pytest.raises(ValidationError):
        services.room_create(owner=alice, name="Not A Slug!", title="x")
    assert not Room.objects.exists()


def test_private_room_is_invisible_to_non_members(alice, bob):
    room = services.room_create(owner=alice, name="secret", title="S", is_private=True)
    assert list(selectors.rooms_visible_to(user=bob)) == []
    with pytest.raises(Room.DoesNotExist):
        selectors.room_get_visible(user=bob, pk=room.pk)


def test_public_and_own_private_rooms_are_listed(alice, bob):
    public = services.room_create(owner=alice, name="public", title="P")
    services.room_create(owner=alice, name="hidden", title="H", is_private=True)
    mine = services.room_create(owner=bob, name="mine", title="M", is_private=True)
    assert list(selectors.rooms_visible_to(user=bob)) == [public, mine]


def test_private_room_cannot_be_joined_without_invitation(alice, bob):
    room = services.room_create(owner=alice, name="secret", title="S", is_private=True)
    with pytest.raises(PermissionDenied):
        services.room_join(room=room, user=bob)
    services.room_invite(room=room, by=alice, user=bob)
    assert selectors.is_member(user_id=bob.pk, room_id=room.pk)


def test_only_owner_invites(alice, bob, carol):
    room = services.room_create(owner=alice, name="secret", title="S", is_private=True)
    services.room_invite(room=room, by=alice, user=bob)
    with pytest.raises(PermissionDenied):
        services.room_invite(room=room, by=bob, user=carol)


def test_only_owner_changes_or_deletes_room(alice, bob):
    room = services.room_create(owner=alice, name="general", title="General")
    with pytest.raises(PermissionDenied):
        services.room_update(room=room, user=bob, title="Mine now")
    with pytest.raises(PermissionDenied):
        services.room_delete(room=room, user=bob)
    assert Room.objects.get(pk=room.pk).title == "General"


def test_owner_cannot_leave(alice):
    room = services.room_create(owner=alice, name="general", title="General")
    with pytest.raises(ValidationError):
        services.room_leave(room=room, user=alice)


def test_only_members_post(alice, bob):
    room = services.room_create(owner=alice, name="general", title="General")
    with pytest.raises(PermissionDenied):
        services.message_create(author=bob, room_id=room.pk, body="hello")
    services.room_join(room=room, user=bob)
    message, created = services.message_create(author=bob, room_id=room.pk, body="hello")
    assert created and message.body == "hello"


@pytest.mark.parametrize("body", ["", "   ", "x" * 4001])
def test_message_body_is_one_to_4000_characters(alice, body):
    room = services.room_create(owner=alice, name="general", title="General")
    with pytest.raises(ValidationError):
        services.message_create(author=alice, room_id=room.pk, body=body)
    assert not Message.objects.exists()


def test_retry_with_same_client_id_returns_first_message(alice):
    room = services.room_create(owner=alice, name="general", title="General")
    client_id = uuid.uuid4()
    first, created = services.message_create(
        author=alice, room_id=room.pk, body="once", client_id=client_id
    )
    again, created_again = services.message_create(
        author=alice, room_id=room.pk, body="once", client_id=client_id
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert Message.objects.count() == 1


def test_only_author_edits_or_deletes(alice, bob):
    room = services.room_create(owner=alice, name="general", title="General")
    services.room_join(room=room, user=bob)
    message, _ = services.message_create(author=alice, room_id=room.pk, body="mine")
    with pytest.raises(PermissionDenied):
        services.message_edit(message=message, user=bob, body="yours")
    with pytest.raises(PermissionDenied):
        services.message_delete(message=message, user=bob)
    edited = services.message_edit(message=message, user=alice, body="still mine")
    assert edited.edited_at is not None


def test_history_pages_by_cursor_oldest_first(alice):
    room = services.room_create(owner=alice, name="general", title="General")
    ids = [
        services.message_create(author=alice, room_id=room.pk, body=f"m{i}")[0].pk for i in range(7)
    ]
    assert [m.pk for m in selectors.messages_page(room=room, limit=3)] == ids[-3:]
    assert [m.pk for m in selectors.messages_page(room=room, before=ids[4], limit=3)] == ids[1:4]
    assert [m.pk for m in selectors.messages_page(room=room, after=ids[4], limit=10)] == ids[5:]


def test_presence_audiences_are_everyone_for_public_rooms_and_members_for_private(
    alice, bob, carol
):
    public = services.room_create(owner=alice, name="open", title="O")
    secret = services.room_create(owner=alice, name="secret", title="S", is_private=True)
    services.room_invite(room=secret, by=alice, user=bob)
    audiences = dict(selectors.rooms_with_audience(user_ids=[bob.pk])[bob.pk])
    assert audiences[secret.pk].private and audiences[secret.pk].members == {alice.pk, bob.pk}
    assert public.pk not in audiences  # Bob never joined it
    services.room_join(room=public, user=bob)
    audiences = dict(selectors.rooms_with_audience(user_ids=[bob.pk])[bob.pk])
    assert audiences[public.pk].allows(carol.pk) and not audiences[secret.pk].allows(carol.pk)


def post(room, author, body: str) -> Message:
    return services.message_create(author=author, room_id=room.pk, body=body)[0]


def test_each_rooms_messages_are_numbered_from_one_without_gaps(alice):
    one = services.room_create(owner=alice, name="one", title="One")
    two = services.room_create(owner=alice, name="two", title="Two")
    for n in range(3):
        post(one, alice, f"one {n}")
        post(two, alice, f"two {n}")
    post(one, alice, "one more")
    for room, count in ((one, 4), (two, 3)):
        seqs = list(Message.objects.filter(room=room).order_by("id").values_list("seq", flat=True))
        assert seqs == list(range(1, count + 1))


def test_a_deleted_messages_number_is_never_used_again(alice):
    room = services.room_create(owner=alice, name="one", title="One")
    first, last = post(room, alice, "a"), post(room, alice, "b")
    services.message_delete(message=last, user=alice)
    assert (first.seq, post(room, alice, "c").seq) == (1, 3)


def test_a_retry_with_the_same_client_id_takes_no_number(alice):
    room = services.room_create(owner=alice, name="one", title="One")
    client_id = uuid.uuid4()
    for _ in range(2):
        services.message_create(author=alice, room_id=room.pk, body="x", client_id=client_id)
    assert post(room, alice, "y").seq == 2


def test_posts_racing_in_one_room_get_every_number_once(alice, settings):
    settings.PARLEY = {**settings.PARLEY, "MESSAGE_BURST": 1000}
    room = services.room_create(owner=alice, name="race", title="Race")

    def post_some(n: int) -> None:
        try:
            for i in range(10):
                post(room, alice, f"{n}.{i}")
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(post_some, range(4)))
    rows = Message.objects.filter(room=room).order_by("id").values_list("seq", flat=True)
    assert list(rows) == list(range(1, 41))  # numbered in the order they were stored
