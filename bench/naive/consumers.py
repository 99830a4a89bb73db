"""The DCRF README pattern: Create/List mixins, a model_observer grouped by room, subscribe_room.

Behind ``channelsmultiplexer``'s stock ``AsyncJsonWebsocketDemultiplexer`` (streams ``rooms`` and
``messages``), so the frames are ``{"stream": ..., "payload": ...}`` exactly as Parley's.
"""

from typing import Any

from channelsmultiplexer import AsyncJsonWebsocketDemultiplexer
from djangochannelsrestframework.decorators import action
from djangochannelsrestframework.generics import GenericAsyncAPIConsumer
from djangochannelsrestframework.mixins import CreateModelMixin, ListModelMixin
from djangochannelsrestframework.observer import model_observer
from rest_framework import serializers

from bench.naive.models import Message, Room


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "title"]


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "room", "body", "created_at"]


class RoomConsumer(CreateModelMixin, ListModelMixin, GenericAsyncAPIConsumer):
    queryset = Room.objects.all()  # type: ignore[attr-defined]  # (not in project.settings)
    serializer_class = RoomSerializer


class MessageConsumer(CreateModelMixin, ListModelMixin, GenericAsyncAPIConsumer):
    queryset = Message.objects.all()  # type: ignore[attr-defined]
    serializer_class = MessageSerializer

    @model_observer(Message)
    async def message_activity(
        self, message: Any, observer: Any = None, subscribing_request_ids: Any = (),
        action: str = "", **kwargs: Any,
    ) -> None:
        for request_id in subscribing_request_ids:
            await self.reply(action=action, data=message, request_id=request_id)

    @message_activity.groups_for_signal  # type: ignore[no-redef]
    def message_activity(self, instance: Message, **kwargs: Any) -> Any:  # noqa: F811
        yield f"room__{instance.room_id}"

    @message_activity.groups_for_consumer  # type: ignore[no-redef]
    def message_activity(self, room: int, **kwargs: Any) -> Any:  # noqa: F811
        yield f"room__{room}"

    @message_activity.serializer  # type: ignore[no-redef]
    def message_activity(self, instance: Message, action: Any, **kwargs: Any) -> Any:  # noqa: F811
        return MessageSerializer(instance).data

    @action()
    async def subscribe_room(self, room: int, request_id: Any, **kwargs: Any) -> Any:
        await self.message_activity.subscribe(room=room, request_id=request_id)
        return None, 201


class Demultiplexer(AsyncJsonWebsocketDemultiplexer):
    # A class attribute rather than as_asgi(**streams) (which writes into a shared class dict).
    applications = {
        "rooms": RoomConsumer.as_asgi(),
        "messages": MessageConsumer.as_asgi(),
    }
