"""The Django Girls workshop's call consumer: a group per user name, offers relayed by group.

``login`` joins the user's group; ``call`` (an offer), ``answer_call`` and ``ICEcandidate``
are sent to the other user's group and forwarded as ``call_received``, ``call_answered`` and
``ICEcandidate``. No database, no authentication: the relay Parley's signaling replaces.
"""

import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


class CallConsumer(AsyncWebsocketConsumer):
    my_name: str | None = None

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=json.dumps({"type": "connection",
                                              "data": {"message": "Connected"}}))

    async def disconnect(self, close_code: int) -> None:
        if self.my_name:
            await self.channel_layer.group_discard(self.my_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
        message = json.loads(text_data or "{}")
        kind, data = message.get("type"), message.get("data", {})
        if kind == "login":
            self.my_name = data["name"]
            await self.channel_layer.group_add(self.my_name, self.channel_name)
        elif kind == "call":
            await self.channel_layer.group_send(data["name"], {
                "type": "call_received",
                "data": {"caller": self.my_name, "rtcMessage": data["rtcMessage"]}})
        elif kind == "answer_call":
            await self.channel_layer.group_send(data["caller"], {
                "type": "call_answered", "data": {"rtcMessage": data["rtcMessage"]}})
        elif kind == "ICEcandidate":
            await self.channel_layer.group_send(data["user"], {
                "type": "ICEcandidate", "data": {"rtcMessage": data["rtcMessage"]}})

    async def call_received(self, event: dict) -> None:
        await self.send(text_data=json.dumps({"type": "call_received", "data": event["data"]}))

    async def call_answered(self, event: dict) -> None:
        await self.send(text_data=json.dumps({"type": "call_answered", "data": event["data"]}))

    async def ICEcandidate(self, event: dict) -> None:  # noqa: N802 (the seed's name)
        await self.send(text_data=json.dumps({"type": "ICEcandidate", "data": event["data"]}))
