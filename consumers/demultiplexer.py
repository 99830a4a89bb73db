"""One socket, many streams: ``{"stream": ..., "payload": ...}`` in both directions."""

import asyncio
import json
import logging
from typing import Any

from channelsmultiplexer import AsyncJsonWebsocketDemultiplexer
from django.conf import settings

from consumers import groups
from consumers.auth import signed_in_by
from consumers.calls import CallConsumer, IceConsumer, SdpConsumer
from consumers.messages import MessageConsumer
from consumers.presence import PresenceConsumer
from consumers.rooms import RoomConsumer

logger = logging.getLogger(__name__)

# Accepted, then closed with this code: clients can tell "not signed in" from a network error.
CLOSE_UNAUTHENTICATED = 4401


class Demultiplexer(AsyncJsonWebsocketDemultiplexer):
    """Routes each frame to its stream's consumer; a bad frame gets an error frame, never a close.

    channelsmultiplexer closes the socket on an unknown stream and re-encodes every outgoing
    payload; this subclass answers with error frames and encodes each frame once.
    """

    # A class attribute, not ``as_asgi(**streams)``: channelsmultiplexer writes those kwargs into
    # a dict shared by every instance.
    applications = {
        "rooms": RoomConsumer.as_asgi(),
        "messages": MessageConsumer.as_asgi(),
        "presence": PresenceConsumer.as_asgi(),
        "calls": CallConsumer.as_asgi(),
        "sdp": SdpConsumer.as_asgi(),
        "ice": IceConsumer.as_asgi(),
    }

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Run the socket and its streams until the socket closes and every stream has finished.

        channelsmultiplexer stops at the first stream that finishes and cancels the others, so
        a stream still writing its disconnect (presence) was cut off mid-way and the user stayed
        online. Here the disconnect waits for all streams (``disconnect`` bounds the wait).
        """
        self.application_streams: dict[str, asyncio.Queue] = {}
        self.application_futures: dict[str, asyncio.Task] = {}
        self.applications_accepting_frames: set[str] = set()
        self.closing = False
        self.accepted = False
        self.sockets_group: str | None = None
        self.refused: set[str] = set()
        self.scope = {**scope, "demultiplexer_cls": self.__class__}
        await self._create_upstream_applications()
        socket = asyncio.ensure_future(
            super(AsyncJsonWebsocketDemultiplexer, self).__call__(self.scope, receive, send)
        )
        try:
            # Until the socket closes. A stream that stops on its own is logged and answers
            # 503 from then on; the socket and the other streams go on.
            running: set[asyncio.Future] = {socket, *self.application_futures.values()}
            while socket in running:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for name, future in self.application_futures.items():
                    if future in done and not self.closing and not future.cancelled():
                        logger.error("Stream %s stopped", name, exc_info=future.exception())
                # A stream that died before accepting must not hold the handshake forever.
                await self.accept_when_ready()
        finally:
            for future in [socket, *self.application_futures.values()]:
                future.cancel()
            await asyncio.gather(socket, *self.application_futures.values(), return_exceptions=True)

    async def websocket_connect(self, message: dict) -> None:
        """Let signed-in users in; accept and close everyone else with 4401."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            self.accepted = True
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.sockets_group = groups.user_sockets(user.pk)
        await self.channel_layer.group_add(self.sockets_group, self.channel_name)
        await super().websocket_connect(message)

    async def websocket_disconnect(self, message: dict) -> None:
        if self.sockets_group:
            try:
                await self.channel_layer.group_discard(self.sockets_group, self.channel_name)
            except Exception:
                # The streams must still hear of the disconnect (presence above all).
                logger.warning("Leaving %s failed", self.sockets_group, exc_info=True)
        await super().websocket_disconnect(message)

    async def user_signed_out(self, event: dict) -> None:
        """The user signed out: a socket signed in by what that revoked closes, with 4401."""
        if signed_in_by(self.scope, session_key=event["session_key"]):
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def websocket_accept(self, message: dict, stream_name: str) -> None:
        """Note that a stream is ready; open the socket once every stream is.

        channelsmultiplexer opens the socket at the first stream's accept, so a client could act
        before presence counted the socket or before a stream joined the user's group: a
        second tab then announced its user twice, and a membership change could be missed.
        """
        self.applications_accepting_frames.add(stream_name)
        await self.accept_when_ready()

    async def websocket_close(self, message: dict, stream_name: str) -> None:
        """A stream closed. Before the socket opened, that stream is out and the others decide
        (it must not hold the handshake); after, channelsmultiplexer's rule: the socket closes
        when its last stream does."""
        if not self.accepted:
            self.applications_accepting_frames.discard(stream_name)
            self.refused.add(stream_name)
            await self.accept_when_ready()
            return
        await super().websocket_close(message, stream_name)

    async def accept_when_ready(self) -> None:
        if self.accepted or self.closing:
            return
        settled = self.applications_accepting_frames | self.refused
        if any(
            name not in settled and not future.done()
            for name, future in self.application_futures.items()
        ):
            return  # a stream is still starting
        self.accepted = True
        if self.applications_accepting_frames:
            await self.accept()
        else:  # no stream could start: refuse the handshake rather than leave it hanging
            await self.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Check one frame and pass its payload to its stream."""
        if text_data is None:
            await self.send_error(400, "Binary frames are not supported; send JSON text.")
            return
        if len(text_data) > settings.PARLEY["MAX_FRAME_BYTES"] or (
            len(text_data.encode()) > settings.PARLEY["MAX_FRAME_BYTES"]
        ):
            limit = settings.PARLEY["MAX_FRAME_BYTES"]
            await self.send_error(413, f"Frames are limited to {limit} bytes.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error(400, "The frame is not valid JSON.")
            return
        await self.route(frame)

    async def route(self, frame: Any) -> None:
        """Pass a decoded frame to the consumer of its stream."""
        if not isinstance(frame, dict):
            await self.send_error(400, 'A frame is an object: {"stream": ..., "payload": {...}}.')
            return
        stream, payload = frame.get("stream"), frame.get("payload")
        request_id = payload.get("request_id") if isinstance(payload, dict) else None
        if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
            request_id = None
        if not isinstance(stream, str):
            await self.send_error(400, "Missing stream.", request_id=request_id)
        elif stream not in self.applications:
            await self.send_error(404, f"Unknown stream {stream!r}.", stream, request_id)
        elif not isinstance(payload, dict):
            await self.send_error(400, "The payload must be an object.", stream, request_id)
        elif self.application_futures[stream].done() or stream in self.refused:
            await self.send_error(503, f"Stream {stream!r} is unavailable.", stream, request_id)
        else:
            # Every stream has accepted before the socket opened, but one may have closed since;
            # its queue still answers (and a stopped stream got the 503 above).
            await self.send_upstream({"type": "websocket.receive", "json": payload}, stream)

    async def send_error(
        self, status: int, error: str, stream: str | None = None, request_id: Any = None
    ) -> None:
        """An error frame for a frame no stream could take."""
        payload = {
            "errors": [error],
            "data": None,
            "action": None,
            "response_status": status,
            "request_id": request_id,
        }
        await self.send_json({"stream": stream, "payload": payload})

    async def websocket_send(self, message: dict, stream_name: str) -> None:
        """Wrap a stream's payload in its envelope and send it."""
        await self.send_json({"stream": stream_name, "payload": message["json"]})

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        """Compact JSON: the same frames, fewer bytes per push."""
        return json.dumps(content, separators=(",", ":"), default=str)
