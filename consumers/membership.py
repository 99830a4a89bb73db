"""Streams whose subscriptions hang on a room the user may lose (leaving it, being removed,
the room deleted or turned private under them): such a subscription ends with a ``revoked``
frame saying why, and no push of the room reaches the socket after it."""

from collections import defaultdict
from typing import Any

from consumers.contract import Push, Shape
from consumers.stream import Stream

LEFT, ROOM_DELETED, NOW_PRIVATE = "left", "room_deleted", "now_private"
REASONS = {
    LEFT: "You are no longer a member of this room.",
    ROOM_DELETED: "The room was deleted.",
    NOW_PRIVATE: "The room is private now and you are not a member.",
}
# The last frame of a subscription the user may no longer hold (``errors``: the reason in words).
REVOKED = Push(
    ("revoked",),
    Shape(
        "Revoked",
        {
            "type": "object",
            "description": "The room whose subscription ended, and why.",
            "properties": {"room": {"type": "integer"}, "reason": {"enum": list(REASONS)}},
            "required": ["room", "reason"],
        },
    ),
    "The subscription ended: I left the room, it was deleted, or it turned private.",
    status=403,
)


class RoomScoped(Stream):
    """Keeps, per room, the request ids of this stream's subscriptions tied to it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (kind, room id) -> request ids of this socket's subscriptions tied to that room.
        self.room_subscriptions: dict[tuple[str, int], set[Any]] = defaultdict(set)

    def track(self, kind: str, room_id: int, request_id: Any) -> None:
        """Remember a subscription tied to a room, so losing the room can end it."""
        self.room_subscriptions[(kind, room_id)].add(request_id)

    def untrack(self, kind: str, room_id: int, request_id: Any) -> None:
        """Forget one subscription tied to a room."""
        ids = self.room_subscriptions.get((kind, room_id))
        if ids is not None:
            ids.discard(request_id)
            if not ids:
                del self.room_subscriptions[(kind, room_id)]

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
