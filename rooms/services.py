"""Writes: every rule about rooms, memberships and messages lives here.

Errors are Django's own: ``PermissionDenied`` (not allowed), ``ValidationError`` (bad input),
``<Model>.DoesNotExist`` (not found or not visible), plus ``RateLimited``.
Transports map them to status codes.
"""

import uuid

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from project import ratelimits
from rooms.models import Membership, Message, Room
from rooms.selectors import membership_get, membership_with_room, room_get_visible

ROOM_FIELDS = frozenset({"name", "title", "is_private"})


def _check_owner(*, room: Room, user: User) -> None:
    if room.owner_id != user.pk:
        raise PermissionDenied("Only the room's owner may do this.")


def room_check_member(*, room: Room, user: User) -> None:
    """Refuse (403) anything but a member: posting, typing."""
    if membership_get(user=user, room_id=room.pk) is None:
        raise PermissionDenied("Only members of the room may do this.")


def room_typing(*, room: Room, user: User) -> None:
    """May ``user`` tell the room they are typing: a member (403), not too often (429)."""
    room_check_member(room=room, user=user)
    ratelimits.count("TYPING", user_id=user.pk)


@transaction.atomic
def room_create(
    *, owner: User, name: str, title: str, is_private: bool = False
) -> Room:
    """Create a room; its creator becomes its owner and first member."""
    ratelimits.count("ROOM", user_id=owner.pk)
    room = Room(name=name, title=title, owner=owner, is_private=is_private)
    room.full_clean()
    room.save()
    Membership.objects.create(room=room, user=owner, role=Membership.Role.OWNER)
    return room


def room_update(*, room: Room, user: User, **fields: object) -> Room:
    """Change a room's name, title or privacy (owner only)."""
    _check_owner(room=room, user=user)
    unknown = set(fields) - ROOM_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(room, name, value)
    room.full_clean()
    room.save(update_fields=[*fields])
    return room


def room_delete(*, room: Room, user: User) -> None:
    """Delete a room and everything said in it (owner only)."""
    _check_owner(room=room, user=user)
    room.delete()


def room_join(*, room: Room, user: User) -> Membership:
    """Join a public room; joining twice returns the existing membership."""
    if room.is_private and membership_get(user=user, room_id=room.pk) is None:
        raise PermissionDenied("Private rooms are joined by invitation of the owner.")
    membership, _ = Membership.objects.get_or_create(room=room, user=user)
    return membership


def room_leave(*, room: Room, user: User) -> None:
    """Leave a room. The owner cannot leave: they delete the room instead."""
    if room.owner_id == user.pk:
        raise ValidationError("The owner cannot leave the room; delete it instead.")
    membership = membership_get(user=user, room_id=room.pk)
    if membership is None:
        raise ValidationError("You are not a member of this room.")
    membership.delete()


def room_invite(*, room: Room, by: User, user: User) -> Membership:
    """Add ``user`` to the room (owner only); inviting a member again changes nothing."""
    _check_owner(room=room, user=by)
    ratelimits.count("INVITE", user_id=by.pk)
    membership, _ = Membership.objects.get_or_create(room=room, user=user)
    return membership


def room_remove_member(*, room: Room, by: User, user: User) -> None:
    """Remove ``user`` from the room (owner only; the owner cannot be removed)."""
    _check_owner(room=room, user=by)
    if user.pk == room.owner_id:
        raise ValidationError("The owner cannot be removed from the room.")
    deleted, _ = Membership.objects.filter(room=room, user=user).delete()
    if not deleted:
        raise ValidationError("This user is not a member of the room.")


def _count_post(*, author: User) -> None:
    """Count a post against the author's burst (shared by every worker through the cache)."""
    ratelimits.count("MESSAGE", user_id=author.pk)


def _check_body(body: object) -> str:
    limit = settings.PARLEY["MESSAGE_MAX_LENGTH"]
    if not isinstance(body, str) or not body.strip():
        raise ValidationError({"body": "Write 1 to %d characters." % limit})
    if len(body) > limit:
        raise ValidationError({"body": "Messages are at most %d characters." % limit})
    return body


def message_create(
    *, author: User, room_id: int, body: str, client_id: uuid.UUID | None = None
) -> tuple[Message, bool]:
    """Post a message in the room ``room_id`` (members only). Returns (message, created).

    A room the author may not see is ``Room.DoesNotExist``; one they see but have not joined,
    ``PermissionDenied``. A retry with a ``client_id`` already used by this author returns the
    first message instead of a duplicate, even when two retries race.
    """
    room = _room_of_member(user=author, room_id=room_id)
    body = _check_body(body)
    if client_id is None:
        _count_post(author=author)
        # Numbering it and storing it is one transaction (Message.save): two statements.
        return Message.objects.create(room=room, author=author, body=body), True
    existing = _message_by_client_id(author=author, room=room, client_id=client_id)
    if existing is not None:
        return existing, False  # a retry is not a new post: it does not count
    _count_post(author=author)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                room=room, author=author, body=body, client_id=client_id
            )
    except IntegrityError:
        existing = _message_by_client_id(author=author, room=room, client_id=client_id)
        if existing is None:
            raise
        return existing, False
    return message, True


def _room_of_member(*, user: User, room_id: int) -> Room:
    # One query on the hot path (every message posted): a member sees the room by definition.
    membership = membership_with_room(user=user, room_id=room_id)
    if membership is None:
        room_get_visible(user=user, pk=room_id)  # hidden: Room.DoesNotExist, so a 404
        raise PermissionDenied("Only members of the room may do this.")
    return membership.room


def _message_by_client_id(
    *, author: User, room: Room, client_id: uuid.UUID | None
) -> Message | None:
    message = (
        Message.objects.select_related("author")
        .filter(author=author, client_id=client_id)
        .first()
    )
    if message is not None and message.room_id != room.pk:
        raise ValidationError({"client_id": "This client_id was used for another room."})
    return message


def message_edit(*, message: Message, user: User, body: str) -> Message:
    """Change a message's body (its author only)."""
    if message.author_id != user.pk:
        raise PermissionDenied("Only the author may edit a message.")
    message.body = _check_body(body)
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "edited_at"])
    return message


def message_delete(*, message: Message, user: User) -> None:
    """Delete a message (its author only)."""
    if message.author_id != user.pk:
        raise PermissionDenied("Only the author may delete a message.")
    message.delete()
