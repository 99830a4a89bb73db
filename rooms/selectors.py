"""Reads: what a user may see. Hidden rooms raise ``Room.DoesNotExist``: existence never leaks."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from rooms.models import Connection, Membership, Message, Room


def rooms_visible_to(*, user: User) -> QuerySet[Room]:
    """Public rooms and the private rooms ``user`` belongs to."""
    mine = Membership.objects.filter(room=OuterRef("pk"), user_id=user.pk)
    return Room.objects.filter(Q(is_private=False) | Q(Exists(mine))).select_related("owner")


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


def rooms_with_audience(*, user_id: int) -> list[tuple[int, list[int] | None]]:
    """The user's rooms, each with its audience (see ``room_audience``), in two queries."""
    rooms = list(Room.objects.filter(memberships__user_id=user_id).values_list("pk", "is_private"))
    private = [pk for pk, is_private in rooms if is_private]
    members: dict[int, list[int]] = {pk: [] for pk in private}
    for room_id, member_id in Membership.objects.filter(room_id__in=private).values_list(
        "room_id", "user_id"
    ):
        members[room_id].append(member_id)
    return [(pk, members[pk] if is_private else None) for pk, is_private in rooms]


def room_audience(*, room: Room) -> list[int] | None:
    """Who may receive the room's pushes: None for everyone signed in, else the member ids."""
    return None if not room.is_private else room_member_ids(room_id=room.pk)


def room_members(*, room: Room) -> QuerySet[Membership]:
    """The room's memberships with their users."""
    return Membership.objects.filter(room=room).select_related("user")


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


def online_cutoff() -> object:
    """Connections of workers silent since before this moment no longer count."""
    return timezone.now() - timedelta(seconds=settings.PARLEY["WORKER_STALE_SECONDS"])


def live_connections() -> QuerySet[Connection]:
    """Open sockets on workers that are still beating."""
    return Connection.objects.filter(worker__seen_at__gte=online_cutoff())


def users_by_id(*, ids: list[int]) -> list[User]:
    """The users with these ids, in id order."""
    return list(get_user_model().objects.filter(pk__in=ids).order_by("pk"))


def online_members(*, room: Room) -> QuerySet[Membership]:
    """Members of the room with at least one live socket."""
    online = live_connections().filter(user_id=OuterRef("user_id"))
    return room_members(room=room).filter(Exists(online))


def is_online(*, user_id: int) -> bool:
    """Whether the user has at least one live socket."""
    return live_connections().filter(user_id=user_id).exists()
