"""The ``rooms`` stream: CRUD, membership and subscriptions to rooms."""

from typing import Any

from channels.db import database_sync_to_async
from djangochannelsrestframework.decorators import action
from djangochannelsrestframework.observer.model_observer import Action

from consumers import groups
from consumers.contract import Argument, Push, Shape, declare
from consumers.membership import LEFT, RoomScoped
from consumers.stream import data_arg, model_observer, object_id, parse
from project.pagination import PageSerializer
from rooms import selectors, services
from rooms.audience import Audience
from rooms.models import Room
from rooms.serializers import (
    MembershipSerializer,
    RoomInviteSerializer,
    RoomSerializer,
)

INSTANCE = "room"

PK = Argument("pk", "The room's id.")
ROOM_GONE = Shape(
    "RoomGone",
    {
        "type": "object",
        "description": "A room deleted, or out of my sight: its id.",
        "properties": {"pk": {"type": "integer"}},
        "required": ["pk"],
    },
)
ROOM_CREATED = Push(("create",), RoomSerializer, "A room I can see appeared in the lobby.")
ROOM_CHANGED = Push(("update",), RoomSerializer, "A room I can see changed.")
ROOM_DELETED = Push(("delete",), ROOM_GONE, "A room was deleted, or I can no longer see it.")


class RoomStream(RoomScoped):
    """Rooms: list, retrieve, create, update, patch, delete, join, leave, invite, subscribe."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lobby_request_ids: set[Any] = set()

    def visible_room(self, args: dict[str, Any]) -> Room:
        """The room named ``pk`` in ``args``, or 404 if the user may not see it."""
        return selectors.room_get_visible(user=self.user, pk=object_id(args, "pk"))

    @declare(arguments=[PageSerializer], reply=RoomSerializer(many=True))
    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """Public rooms and private rooms I belong to, a page at a time (``after``, ``limit``)."""
        rooms = selectors.rooms_page(user=self.user, **parse(PageSerializer, kwargs))
        return RoomSerializer(rooms, many=True).data, 200

    @declare(arguments=[PK], reply=RoomSerializer)
    @action()
    def retrieve(self, **kwargs: Any) -> tuple[Any, int]:
        """One room."""
        return RoomSerializer(self.visible_room(kwargs)).data, 200

    @declare(data=[RoomSerializer], reply=RoomSerializer, status=201)
    @action()
    def create(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """A new room, owned by the caller."""
        fields = parse(RoomSerializer, data_arg(data))
        room = services.room_create(owner=self.user, **fields)
        return RoomSerializer(room).data, 201

    @declare(arguments=[PK], data=[RoomSerializer], reply=RoomSerializer)
    @action()
    def update(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Replace a room's name, title and privacy (owner only)."""
        return self.change(kwargs, data, partial=False)

    @declare(arguments=[PK], data=[RoomSerializer(partial=True)], reply=RoomSerializer)
    @action()
    def patch(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Change some of a room's fields (owner only)."""
        return self.change(kwargs, data, partial=True)

    def change(self, args: dict[str, Any], data: Any, *, partial: bool) -> tuple[Any, int]:
        room = self.visible_room(args)
        serializer = RoomSerializer(room, data=data_arg(data), partial=partial)
        serializer.is_valid(raise_exception=True)
        room = services.room_update(room=room, user=self.user, **serializer.validated_data)
        return RoomSerializer(room).data, 200

    @declare(arguments=[PK], status=204)
    @action()
    def delete(self, **kwargs: Any) -> tuple[Any, int]:
        """Delete a room (owner only)."""
        services.room_delete(room=self.visible_room(kwargs), user=self.user)
        return None, 204

    @declare(arguments=[PK], reply=MembershipSerializer)
    @action()
    def join(self, **kwargs: Any) -> tuple[Any, int]:
        """Join a public room."""
        membership = services.room_join(room=self.visible_room(kwargs), user=self.user)
        return MembershipSerializer(membership).data, 200

    @declare(arguments=[PK], status=204)
    @action()
    def leave(self, **kwargs: Any) -> tuple[Any, int]:
        """Leave a room; its pushes stop on every socket of mine."""
        services.room_leave(room=self.visible_room(kwargs), user=self.user)
        return None, 204

    @declare(arguments=[PK, RoomInviteSerializer], reply=MembershipSerializer)
    @action()
    def invite(self, **kwargs: Any) -> tuple[Any, int]:
        """Add a user to my room (owner only)."""
        room = self.visible_room(kwargs)
        invitee = parse(RoomInviteSerializer, kwargs)["user"]
        membership = services.room_invite(room=room, by=self.user, user=invitee)
        return MembershipSerializer(membership).data, 200

    @declare(arguments=[PK, RoomInviteSerializer], status=204)
    @action()
    def remove_member(self, **kwargs: Any) -> tuple[Any, int]:
        """Remove a user from my room (owner only)."""
        room = self.visible_room(kwargs)
        user = parse(RoomInviteSerializer, kwargs)["user"]
        services.room_remove_member(room=room, by=self.user, user=user)
        return None, 204

    @declare(arguments=[PK, PageSerializer], reply=MembershipSerializer(many=True))
    @action()
    def members(self, **kwargs: Any) -> tuple[Any, int]:
        """Who belongs to a room, a page at a time (``after`` a membership id, ``limit``)."""
        page = parse(PageSerializer, kwargs)
        members = selectors.members_page(room=self.visible_room(kwargs), **page)
        return MembershipSerializer(members, many=True).data, 200

    @declare(arguments=[PK], status=201, pushes=[ROOM_CHANGED, ROOM_DELETED])
    @action()
    async def subscribe_instance(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Pushes of one room's updates and deletion."""
        room = await database_sync_to_async(self.visible_room)(kwargs)
        await self.room_activity.subscribe(room=room.pk, request_id=request_id)
        self.track(INSTANCE, room.pk, request_id)
        return None, 201

    @declare(arguments=[PK], status=204)
    @action()
    async def unsubscribe_instance(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the subscription made with this request_id, and only that one."""
        pk = object_id(kwargs, "pk")
        await self.room_activity.unsubscribe(room=pk, request_id=request_id)
        self.untrack(INSTANCE, pk, request_id)
        return None, 204

    @declare(status=201, pushes=[ROOM_CREATED, ROOM_CHANGED, ROOM_DELETED])
    @action()
    async def subscribe_rooms(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """The lobby: pushes of every room I can see being created, changed or deleted."""
        await self.room_activity.subscribe(lobby=True, request_id=request_id)
        self.lobby_request_ids.add(request_id)
        return None, 201

    @declare(status=204)
    @action()
    async def unsubscribe_rooms(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the lobby subscription made with this request_id."""
        await self.room_activity.unsubscribe(lobby=True, request_id=request_id)
        self.lobby_request_ids.discard(request_id)
        return None, 204

    @model_observer(Room)
    async def room_activity(
        self,
        message: dict,
        observer: Any = None,
        subscribing_request_ids: Any = (),
        action: str = "",
        group: str = "",
        **kwargs: Any,
    ) -> None:
        """A room was created, changed or deleted."""
        audience = Audience.from_event(message["audience"])
        lobby = lobby_of(observer, group)
        if lobby == "public":  # everyone could see the room there
            allowed = True
        elif lobby == "private":  # its members only, also when it just turned public
            allowed = audience.allows_member(self.user.pk)
        else:  # the room's own group
            allowed = audience.allows(self.user.pk)
        if allowed:
            await self.reply_push(
                action=action, data=message["data"], request_ids=subscribing_request_ids
            )
        elif lobby is None:
            await self.lost_sight(INSTANCE, message["room_id"])

    @room_activity.serializer
    def room_activity(self, instance: Room, action: Action, **kwargs: Any) -> dict:  # noqa: F811
        """Serialized once per event in the writing process, with who may receive it."""
        if action == Action.DELETE:
            data: Any = {"pk": instance.pk}
        else:
            data = RoomSerializer(instance).data
        # Members as they are now, for public rooms too: a room leaving the private lobby
        # (turning public) must tell only those who could see it there.
        audience = selectors.room_audience(room=instance, with_members=True)
        return {"data": data, "room_id": instance.pk, "audience": audience.to_event()}

    @room_activity.groups_for_signal
    def room_activity(self, instance: Room, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.lobby(private=instance.is_private)
        yield groups.room(instance.pk)

    @room_activity.groups_for_consumer
    def room_activity(  # noqa: F811
        self, lobby: bool = False, room: int | None = None, **kwargs: Any
    ) -> Any:
        if lobby:
            yield groups.lobby(private=False)
            yield groups.lobby(private=True)
        if room is not None:
            yield groups.room(room)

    async def membership_granted(self, message: dict) -> None:
        """Invited to a private room: it appears in my lobby."""
        if message["private"]:
            await self.reply_push(
                action="create", data=message["room"], request_ids=self.lobby_request_ids
            )

    async def membership_revoked(self, message: dict) -> None:
        """Out of a private room: it vanishes from my lobby and my instance subscriptions."""
        if not message["private"]:
            return
        gone = {"pk": message["room_id"]}
        await self.reply_push(action="delete", data=gone, request_ids=self.lobby_request_ids)
        await super().membership_revoked(message)

    async def end_subscription(
        self, kind: str, room_id: int, request_id: Any, reason: str = LEFT
    ) -> None:
        """A private room I lost is, for me, deleted."""
        await self.room_activity.unsubscribe(room=room_id, request_id=request_id)
        self.untrack(kind, room_id, request_id)
        await self.reply_push(action="delete", data={"pk": room_id}, request_ids=[request_id])


def lobby_of(observer: Any, group: str) -> str | None:
    """"public" or "private" when ``group`` is one of the lobby groups, else None."""
    for kind, private in (("public", False), ("private", True)):
        if group == groups.observed(observer, groups.lobby(private=private)):
            return kind
    return None
