"""The ``messages`` stream: history, posting, editing and live pushes of a room's messages."""

from typing import Any

from channels.db import database_sync_to_async
from djangochannelsrestframework.decorators import action
from djangochannelsrestframework.observer.model_observer import Action

from consumers import groups
from consumers.contract import Argument, Push, Shape, declare
from consumers.membership import LEFT, REVOKED, RoomScoped
from consumers.stream import data_arg, model_observer, object_id, parse
from rooms import selectors, services
from rooms.audience import Audience
from rooms.models import Message
from rooms.serializers import (
    MessageCreateSerializer,
    MessageEditSerializer,
    MessagePageSerializer,
    MessageSerializer,
)

KIND = "messages"

PK = Argument("pk", "The message's id.")
ROOM = Argument("room", "The room's id.")
MESSAGE_GONE = Shape(
    "MessageGone",
    {
        "type": "object",
        "description": "A deleted message: its id and its room's.",
        "properties": {"pk": {"type": "integer"}, "room": {"type": "integer"}},
        "required": ["pk", "room"],
    },
)
MESSAGE_CHANGED = Push(("create", "update"), MessageSerializer, "A message was posted or edited.")
MESSAGE_DELETED = Push(("delete",), MESSAGE_GONE, "A message was deleted.")


class MessageStream(RoomScoped):
    """Messages: list, retrieve, create, patch, delete, subscribe_room, unsubscribe_room."""

    def visible_message(self, args: dict[str, Any]) -> Message:
        """The message named by ``args["pk"]``, or 404 if its room is hidden from the user."""
        return selectors.message_get_visible(user=self.user, pk=object_id(args, "pk"))

    @declare(arguments=[MessagePageSerializer], reply=MessageSerializer(many=True))
    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """A page of a room's history, oldest first (cursor: ``before`` or ``after`` an id)."""
        page = parse(MessagePageSerializer, kwargs)
        room = selectors.room_get_visible(user=self.user, pk=page.pop("room"))
        messages = selectors.messages_page(room=room, **page)
        return MessageSerializer(messages, many=True).data, 200

    @declare(arguments=[PK], reply=MessageSerializer)
    @action()
    def retrieve(self, **kwargs: Any) -> tuple[Any, int]:
        """One message."""
        return MessageSerializer(self.visible_message(kwargs)).data, 200

    @declare(data=[MessageCreateSerializer], reply=MessageSerializer, status=(201, 200))
    @action()
    def create(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Post a message; a retry with the same client_id returns the first one (200)."""
        args = parse(MessageCreateSerializer, data_arg(data))
        message, created = services.message_create(
            author=self.user,
            room_id=args["room"],
            body=args["body"],
            client_id=args.get("client_id"),
        )
        return MessageSerializer(message).data, 201 if created else 200

    @declare(arguments=[PK], data=[MessageEditSerializer], reply=MessageSerializer)
    @action()
    def patch(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Edit my message's body."""
        message = self.visible_message(kwargs)
        body = parse(MessageEditSerializer, data_arg(data))["body"]
        message = services.message_edit(message=message, user=self.user, body=body)
        return MessageSerializer(message).data, 200

    @declare(arguments=[PK], status=204)
    @action()
    def delete(self, **kwargs: Any) -> tuple[Any, int]:
        """Delete my message."""
        services.message_delete(message=self.visible_message(kwargs), user=self.user)
        return None, 204

    @declare(
        arguments=[ROOM], status=201, pushes=[MESSAGE_CHANGED, MESSAGE_DELETED, REVOKED]
    )
    @action()
    async def subscribe_room(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Pushes of a room's messages being created, edited and deleted."""
        room = await database_sync_to_async(selectors.room_get_visible)(
            user=self.user, pk=object_id(kwargs, "room")
        )
        await self.message_activity.subscribe(room=room.pk, request_id=request_id)
        self.track(KIND, room.pk, request_id)
        return None, 201

    @declare(arguments=[ROOM], status=204)
    @action()
    async def unsubscribe_room(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the subscription made with this request_id, and only that one."""
        room_id = object_id(kwargs, "room")
        await self.message_activity.unsubscribe(room=room_id, request_id=request_id)
        self.untrack(KIND, room_id, request_id)
        return None, 204

    @model_observer(Message, cascade=False, static=True)
    async def message_activity(
        self,
        message: dict,
        observer: Any = None,
        subscribing_request_ids: Any = (),
        action: str = "",
        **kwargs: Any,
    ) -> None:
        """A message was created, edited or deleted in a room this socket follows."""
        if Audience.from_event(message["audience"]).allows(self.user.pk):
            await self.reply_push(
                action=action, data=message["data"], request_ids=subscribing_request_ids
            )
        else:
            await self.lost_sight(KIND, message["data"]["room"])

    @message_activity.serializer
    def message_activity(  # noqa: F811
        self, instance: Message, action: Action, **kwargs: Any
    ) -> dict:
        """Serialized once per event in the writing process, with who may receive it."""
        if action == Action.DELETE:
            data: Any = {"pk": instance.pk, "room": instance.room_id}
        else:
            data = MessageSerializer(instance).data
        audience = selectors.room_audience(room=instance.room)
        return {"data": data, "audience": audience.to_event()}

    @message_activity.groups_for_signal
    def message_activity(self, instance: Message, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.room_messages(instance.room_id)

    @message_activity.groups_for_consumer
    def message_activity(self, room: int, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.room_messages(room)

    async def end_subscription(
        self, kind: str, room_id: int, request_id: Any, reason: str = LEFT
    ) -> None:
        """Stop following a room's messages once the user left it."""
        await self.message_activity.unsubscribe(room=room_id, request_id=request_id)
        await super().end_subscription(kind, room_id, request_id, reason)
