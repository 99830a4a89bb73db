"""Model observers shared by several streams. Nothing here queries per subscriber."""

from typing import Any

from djangochannelsrestframework.observer.model_observer import Action

from consumers import groups
from consumers.base import ParleyConsumer
from consumers.delivery import model_observer
from rooms.models import Membership, Room
from rooms.serializers import RoomSerializer

LEFT, ROOM_DELETED, NOW_PRIVATE = "left", "room_deleted", "now_private"
REASONS = {
    LEFT: "You are no longer a member of this room.",
    ROOM_DELETED: "The room was deleted.",
    NOW_PRIVATE: "The room is private now and you are not a member.",
}


class MembershipAware(ParleyConsumer):
    """Joins the user's own group, where their membership changes arrive on every socket."""

    async def websocket_connect(self, message: dict) -> None:
        """Listen for this user's membership changes, then accept."""
        await self.membership_activity.subscribe(user_id=self.user.pk)
        await super().websocket_connect(message)

    @model_observer(Membership)
    async def membership_activity(
        self, message: dict, observer: Any = None, action: str = "", **kwargs: Any
    ) -> None:
        """A membership of this user was created or deleted."""
        if action == Action.CREATE.value:
            await self.membership_granted(message)
        elif action == Action.DELETE.value:
            await self.membership_revoked(message)

    @membership_activity.serializer
    def membership_activity(  # noqa: F811
        self, instance: Membership, action: Action, **kwargs: Any
    ) -> dict:
        """What a socket needs to react: the room, and whether it is private."""
        room = instance.room
        room_deleted = isinstance(getattr(instance, "_parley_cascade_origin", None), Room)
        return {
            "room_id": instance.room_id,
            "private": room.is_private,
            "room": RoomSerializer(room).data if action != Action.DELETE else None,
            "reason": ROOM_DELETED if room_deleted else LEFT,
        }

    @membership_activity.groups_for_signal
    def membership_activity(self, instance: Membership, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.user(instance.user_id)

    @membership_activity.groups_for_consumer
    def membership_activity(self, user_id: int, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.user(user_id)

    async def membership_granted(self, message: dict) -> None:
        """The user joined or was invited to a room (on any socket)."""

    async def membership_revoked(self, message: dict) -> None:
        """The user left or was removed: end every subscription tied to that room."""
        room_id = message["room_id"]
        for (kind, subscribed_room), request_ids in list(self.room_subscriptions.items()):
            if subscribed_room == room_id:
                for request_id in list(request_ids):
                    await self.end_subscription(kind, room_id, request_id, message["reason"])

    async def lost_sight(self, kind: str, room_id: int) -> None:
        """A push the user may no longer see: the room turned private under them."""
        for request_id in list(self.room_subscriptions.get((kind, room_id), ())):
            await self.end_subscription(kind, room_id, request_id, NOW_PRIVATE)

    async def end_subscription(
        self, kind: str, room_id: int, request_id: Any, reason: str = LEFT
    ) -> None:
        """Stop one subscription the user may no longer hold, and say why."""
        self.untrack(kind, room_id, request_id)
        await self.reply(
            action="revoked",
            data={"room": room_id, "reason": reason},
            errors=[REASONS[reason]],
            status=403,
            request_id=request_id,
        )
