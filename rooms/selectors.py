"""Reads: what a user may see. Hidden rooms raise ``Room.DoesNotExist``: existence never leaks."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet

from project.pagination import MAX_LIMIT, page_of
from rooms.audience import Audience, visible_to
from rooms.models import Membership, Message, Room


def rooms_visible_to(*, user: User) -> QuerySet[Room]:
    """Public rooms and the private rooms ``user`` belongs to."""
    return Room.objects.filter(visible_to(user.pk)).select_related("owner")


def rooms_page(*, user: User, after: int | None = None, limit: int = MAX_LIMIT) -> list[Room]:
    """A page of the rooms ``user`` may see, in id order after the room id ``after``."""
    return page_of(rooms_visible_to(user=user), after=after, limit=limit)


def room_get_visible(*, user: User, pk: int | str) -> Room:
    """The room ``pk`` if ``user`` may see it, else ``Room.DoesNotExist``."""
    return rooms_visible_to(user=user).get(pk=pk)


def membership_get(*, user: User, room_id: int) -> Membership | None:
    """The user's membership of the room, or None."""
    return Membership.objects.filter(room_id=room_id, user_id=user.pk).first()


def membership_with_room(*, user: User, room_id: int | str) -> Membership | None:
    """The user's membership of the room, with the room, or None."""
    return (
        Membership.objects.select_related("room").filter(room_id=room_id, user_id=user.pk).first()
    )


def is_member(*, user_id: int, room_id: int) -> bool:
    """Whether the user belongs to the room."""
    return Membership.objects.filter(room_id=room_id, user_id=user_id).exists()


def room_member_ids(*, room_id: int) -> list[int]:
    """Ids of the room's members (none once a deleted room's memberships are gone)."""
    return list(Membership.objects.filter(room_id=room_id).values_list("user_id", flat=True))


def rooms_with_audience(*, user_ids: list[int]) -> dict[int, list[tuple[int, Audience]]]:
    """Each user's rooms, each with its audience, in two queries whatever the number of users."""
    rows = list(
        Membership.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "room_id", "room__is_private"
        )
    )
    private = {room_id for _, room_id, is_private in rows if is_private}
    members: dict[int, set[int]] = {room_id: set() for room_id in private}
    for room_id, member_id in Membership.objects.filter(room_id__in=private).values_list(
        "room_id", "user_id"
    ):
        members[room_id].add(member_id)
    rooms: dict[int, list[tuple[int, Audience]]] = {user_id: [] for user_id in user_ids}
    for user_id, room_id, is_private in rows:
        audience = Audience(private=is_private, members=frozenset(members.get(room_id, ())))
        rooms[user_id].append((room_id, audience))
    return rooms


def room_audience(*, room: Room, with_members: bool = False) -> Audience:
    """Who may receive the room's pushes. The members of a public room are read only when
    asked for (``with_members``): nobody needs them to see it."""
    if room.is_private or with_members:
        members = frozenset(room_member_ids(room_id=room.pk))
        return Audience(private=room.is_private, members=members)
    return Audience(private=False)


def room_members(*, room: Room) -> QuerySet[Membership]:
    """The room's memberships with their users."""
    return Membership.objects.filter(room=room).select_related("user")


def members_page(
    *, room: Room, after: int | None = None, limit: int = MAX_LIMIT
) -> list[Membership]:
    """A page of the room's memberships, in id order after the membership id ``after``."""
    return page_of(room_members(room=room), after=after, limit=limit)


def room_ids_of(*, user_id: int) -> list[int]:
    """Ids of the rooms the user belongs to."""
    return list(Membership.objects.filter(user_id=user_id).values_list("room_id", flat=True))


def messages_page(
    *, room: Room, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[Message]:
    """Up to ``limit`` messages of the room, oldest first.

    ``after`` pages forward from a cursor (catching up after a reconnect); otherwise the newest
    messages (before ``before`` when given) are returned, still oldest first.
    """
    messages = Message.objects.filter(room=room).select_related("author")
    if after is not None:
        return list(messages.filter(id__gt=after).order_by("id")[:limit])
    if before is not None:
        messages = messages.filter(id__lt=before)
    return list(reversed(messages.order_by("-id")[:limit]))


def message_get_visible(*, user: User, pk: int | str) -> Message:
    """The message ``pk`` if its room is visible to ``user``, else ``Message.DoesNotExist``."""
    visible = rooms_visible_to(user=user).values("pk")
    return Message.objects.select_related("author", "room").get(pk=pk, room__in=visible)


def users_by_id(*, ids: list[int]) -> list[User]:
    """The users with these ids, in id order."""
    return list(get_user_model().objects.filter(pk__in=ids).order_by("pk"))
