"""The ``presence`` stream: who is online in a room (across all their tabs), and who is typing.

Who is online is the presence app's business (presence/tracker.py counts this process's
sockets); this stream reads it, and pushes its changes to the rooms of the users concerned.
"""

import time
from typing import Any

from channels.db import database_sync_to_async
from djangochannelsrestframework.decorators import action
from djangochannelsrestframework.observer.model_observer import Action
from rest_framework.exceptions import Throttled

from consumers import groups, hub
from consumers.contract import Argument, Push, Shape, declare
from consumers.membership import LEFT, REVOKED, RoomScoped
from consumers.stream import model_observer, object_id
from presence import selectors as presence_selectors
from rooms import selectors, services
from rooms.audience import Audience
from rooms.models import Membership, Room
from rooms.serializers import UserSerializer

KIND = "presence"
ONLINE, OFFLINE, TYPING = "create", "delete", "update"
# A socket may say "typing" once a second; more is noise to every member (429).
TYPING_MIN_INTERVAL = 1.0

ROOM = Argument("room", "The room's id.")
PRESENCE_CHANGE = Shape(
    "PresenceChange",
    {
        "type": "object",
        "description": "A member of the room, and whether they are typing.",
        "properties": {
            "room": {"type": "integer"},
            "user": {"$ref": UserSerializer},
            "typing": {"const": True, "description": "Only when the user is typing."},
        },
        "required": ["room", "user"],
    },
)
PUSHES = [
    Push((ONLINE,), PRESENCE_CHANGE, "A member came online, or joined the room while online."),
    Push((OFFLINE,), PRESENCE_CHANGE, "A member went offline, or left the room while online."),
    Push((TYPING,), PRESENCE_CHANGE, "A member is typing (not sent back to them)."),
    REVOKED,
]


def announce(*, online: list[int], offline: list[int], **kwargs: Any) -> None:
    """Tell the presence followers of each user's rooms that they came or went.

    Receives ``presence.signals.presence_changed`` (in the thread that recorded the change):
    two queries for the rooms and one for the users, whatever their number.
    """
    changes = [(user_id, ONLINE) for user_id in online]
    changes += [(user_id, OFFLINE) for user_id in offline]
    if not changes:
        return
    user_ids = [user_id for user_id, _ in changes]
    rooms = selectors.rooms_with_audience(user_ids=user_ids)
    users = {user.pk: UserSerializer(user).data for user in selectors.users_by_id(ids=user_ids)}
    for user_id, change in changes:
        for room_id, audience in rooms.get(user_id, ()):
            hub.publish(
                groups.room_presence(room_id),
                {
                    "type": "presence.event",
                    "action": change,
                    "data": {"room": room_id, "user": users.get(user_id)},
                    "audience": audience.to_event(),
                    "sender": None,
                },
            )


class PresenceStream(RoomScoped):
    """Presence: list, subscribe_room, unsubscribe_room, typing."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_typing = -TYPING_MIN_INTERVAL

    def visible_room(self, args: dict[str, Any]) -> Room:
        """The room named ``room`` in ``args``, or 404 if the user may not see it."""
        return selectors.room_get_visible(user=self.user, pk=object_id(args, "room"))

    @declare(arguments=[ROOM], reply=UserSerializer(many=True))
    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """Members of the room online now."""
        members = selectors.room_members(room=self.visible_room(kwargs))
        online = presence_selectors.online_only(members)
        return [UserSerializer(membership.user).data for membership in online], 200

    @declare(arguments=[ROOM], status=201, pushes=PUSHES)
    @action()
    async def subscribe_room(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Pushes of members coming online (create), going offline (delete) and typing (update)."""
        room = await database_sync_to_async(self.visible_room)(kwargs)
        await self.add_group(groups.room_presence(room.pk))
        await self.membership_presence.subscribe(room=room.pk, request_id=request_id)
        self.track(KIND, room.pk, request_id)
        return None, 201

    @declare(arguments=[ROOM], status=204)
    @action()
    async def unsubscribe_room(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the subscription made with this request_id, and only that one."""
        room_id = object_id(kwargs, "room")
        self.untrack(KIND, room_id, request_id)
        await self.membership_presence.unsubscribe(room=room_id, request_id=request_id)
        await self.leave_group_if_unused(room_id)
        return None, 204

    @declare(arguments=[ROOM], status=202)
    @action()
    async def typing(self, **kwargs: Any) -> tuple[Any, int]:
        """Tell the room's other members I am typing (not stored)."""
        room, audience = await database_sync_to_async(self.typing_room)(kwargs)
        now = time.monotonic()
        if now - self.last_typing < TYPING_MIN_INTERVAL:
            raise Throttled(wait=TYPING_MIN_INTERVAL - (now - self.last_typing))
        self.last_typing = now
        hub.publish(
            groups.room_presence(room.pk),
            {
                "type": "presence.event",
                "action": TYPING,
                "data": {"room": room.pk, "user": UserSerializer(self.user).data, "typing": True},
                "audience": audience.to_event(),
                "sender": self.user.pk,
            },
        )
        return None, 202

    def typing_room(self, args: dict[str, Any]) -> tuple[Room, Audience]:
        """The room a member types in, and who may hear of it (403 for non-members)."""
        room = self.visible_room(args)
        services.room_typing(room=room, user=self.user)
        return room, selectors.room_audience(room=room)

    async def presence_event(self, event: dict) -> None:
        """A member of a followed room came online, went offline or is typing."""
        if event["sender"] == self.user.pk:
            return
        if not Audience.from_event(event["audience"]).allows(self.user.pk):
            await self.lost_sight(KIND, event["data"]["room"])
            return
        request_ids = self.room_subscriptions.get((KIND, event["data"]["room"]), ())
        await self.reply_push(action=event["action"], data=event["data"], request_ids=request_ids)

    async def leave_group_if_unused(self, room_id: int) -> None:
        if (KIND, room_id) not in self.room_subscriptions:
            await self.remove_group(groups.room_presence(room_id))

    async def end_subscription(
        self, kind: str, room_id: int, request_id: Any, reason: str = LEFT
    ) -> None:
        """Stop following a room's presence once the user left it."""
        await super().end_subscription(kind, room_id, request_id, reason)
        await self.membership_presence.unsubscribe(room=room_id, request_id=request_id)
        await self.leave_group_if_unused(room_id)

    @model_observer(Membership, static=True)
    async def membership_presence(
        self,
        message: dict,
        observer: Any = None,
        subscribing_request_ids: Any = (),
        action: str = "",
        **kwargs: Any,
    ) -> None:
        """Someone online joined (create) or left (delete) a followed room."""
        if message["online"] and Audience.from_event(message["audience"]).allows(self.user.pk):
            await self.reply_push(
                action=action, data=message["data"], request_ids=subscribing_request_ids
            )

    @membership_presence.serializer
    def membership_presence(  # noqa: F811
        self, instance: Membership, action: Action, **kwargs: Any
    ) -> dict:
        """Whether the member is online now decides if the room hears of it at all."""
        return {
            "data": {"room": instance.room_id, "user": UserSerializer(instance.user).data},
            "online": presence_selectors.is_online(user_id=instance.user_id),
            "audience": selectors.room_audience(room=instance.room).to_event(),
        }

    @membership_presence.groups_for_signal
    def membership_presence(self, instance: Membership, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.room_presence(instance.room_id)

    @membership_presence.groups_for_consumer
    def membership_presence(self, room: int, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.room_presence(room)
