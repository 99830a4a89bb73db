"""One socket, many streams: ``{"stream": ..., "payload": ...}`` in both directions.

One ``SocketConsumer`` per socket hosts its streams (``consumers.routing``): it signs the
socket in, counts it for presence, reads each frame once, hands the payload to its stream's
instance (made on the stream's first frame) and writes every frame the streams send. It is the
socket's one listener of the user's membership changes and sign-outs.

Whatever happens to the socket, its end runs every stream's disconnect and uncounts it: the
end is synchronous bookkeeping in a ``finally``, which neither a bad frame, an abnormal close,
nor a cancelled task can skip.
"""

import asyncio
import logging
import re
import secrets
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from djangochannelsrestframework.observer.model_observer import Action

from consumers import frames, groups, hub
from consumers.auth import SignInEnded, ended_by, session_expiry
from consumers.membership import LEFT, ROOM_DELETED
from consumers.stream import Stream, model_observer
from presence.tracker import PresenceUnavailable, tracker
from project import metrics
from project.memory import trimmer
from project.outage import redis_outage
from project.version import ACCEPT_HEADERS
from rooms.models import Membership, Room
from rooms.serializers import RoomSerializer

logger = logging.getLogger(__name__)

# Accepted, then closed with this code: clients can tell "not signed in" from a network error.
CLOSE_UNAUTHENTICATED = 4401
# The server could not set the socket up (its database or channel layer did not answer).
CLOSE_UNAVAILABLE = 1011
# The client fell more than PARLEY_SEND_BUFFER_BYTES behind: it should reconnect and catch up.
CLOSE_TOO_SLOW = 4408

# A JSON escape of a UTF-16 surrogate: such a frame may hold text that is not Unicode.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

Send = Callable[[dict[str, Any]], Awaitable[None]]


class SocketConsumer:
    """The consumer of one socket, hosting its streams."""

    streams: dict[str, type[Stream]] = {}

    @classmethod
    def as_asgi(cls) -> Any:
        """The ASGI application: one consumer per socket."""

        async def app(scope: dict, receive: Any, send: Send) -> None:
            await cls(scope, send).run(receive)

        return app

    def __init__(self, scope: dict, send: Send) -> None:
        self.scope = scope
        self.base_send = send
        self.user: Any = scope.get("user")
        # Names this socket in the logs (PARLEY_LOG_FORMAT=json), never a secret.
        self.socket_id = secrets.token_hex(6)
        self.hub = hub.current()
        self.instances: dict[str, Stream] = {}
        self.refused: set[str] = set()
        # What DCRF's observers keep on a consumer (the membership listener is one).
        self.groups: set[str] = set()
        self._observer_group_to_request_id: dict[str, dict[str, set[Any]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self.closed = False
        self.expiry: asyncio.TimerHandle | None = None
        self.backlog: deque[dict[str, Any]] | None = None
        self.backlog_size = 0  # characters of the frames in it

    # Life of the socket -------------------------------------------------------------------

    async def run(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if self.user is None or not self.user.is_authenticated:
            await self.refuse_unauthenticated()
            return
        accepted = False
        close_code = None  # "other" in the metrics when the loop ends without a close
        try:
            try:
                await self.open()
            except SignInEnded:  # its session ended while it was opening
                await self.refuse_unauthenticated()
                return
            except PresenceUnavailable:
                logger.warning("Socket of user %s refused: presence unavailable", self.user.pk)
                await self.base_send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
                return
            except Exception as exc:  # e.g. the channel layer did not answer
                if not redis_outage.noticed(exc):
                    logger.exception("Socket of user %s could not open", self.user.pk)
                await self.base_send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
                return
            await self.base_send({"type": "websocket.accept", "headers": ACCEPT_HEADERS})
            accepted = True
            metrics.SOCKETS_OPENED.inc()
            metrics.SOCKETS_OPEN.inc()
            while True:
                message = await receive()
                if message["type"] == "websocket.receive":
                    await self.receive_frame(message.get("text"), message.get("bytes"))
                elif message["type"] == "websocket.disconnect":
                    close_code = message.get("code")
                    break
        finally:
            if accepted:
                metrics.SOCKETS_OPEN.dec()
                metrics.child(metrics.SOCKETS_CLOSED, metrics.close_code(close_code)).inc()
            recorded = self.end()
        if recorded is not None:
            # Finish when the user's departure is written: whoever waits for this socket's
            # end (a test, a server shutting down) then sees them offline.
            await recorded
        trimmer.socket_ended()

    async def refuse_unauthenticated(self) -> None:
        """Accepted, then closed with 4401: clients tell "not signed in" from a network error."""
        await self.base_send({"type": "websocket.accept", "headers": ACCEPT_HEADERS})
        await self.base_send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})

    async def open(self) -> None:
        """Listen for the user's membership changes and sign-outs, and count the socket.

        All before the socket opens: a client whose socket is open is online, and hears of a
        room it loses. A second tab that opens and then closes the first never takes its user
        offline in between.
        """
        await self.membership_activity.subscribe(user_id=self.user.pk)
        await self.add_group(groups.user_sockets(self.user.pk))
        if not self.scope.get("token_auth"):  # closes with its session, as a page would
            expires = await database_sync_to_async(session_expiry)(self.scope)
            seconds = (expires - timezone.now()).total_seconds()
            self.expiry = asyncio.get_running_loop().call_later(
                max(0.0, seconds), lambda: self.hub.spawn(self.close(code=CLOSE_UNAUTHENTICATED))
            )
        await tracker.opened(self, user_id=self.user.pk)

    def end(self) -> "asyncio.Future[None] | None":
        """The socket is gone: every stream's disconnect, then uncount it. Never waits."""
        self.closed = True
        if self.expiry is not None:
            self.expiry.cancel()
        for name, stream in self.instances.items():
            try:
                stream.disconnect()
            except Exception:
                logger.exception("Stream %s failed to disconnect", name)
        for group in self.groups:
            self.hub.leave(group, self)
        self.groups.clear()
        return tracker.closed(self, user_id=self.user.pk)

    async def close(self, code: int = 1000) -> None:
        """Close the socket with ``code``."""
        if not self.closed:
            await self.write({"type": "websocket.close", "code": code})

    # Frames in ----------------------------------------------------------------------------

    async def receive_frame(self, text: str | None, binary: bytes | None) -> None:
        """Check one frame and pass its payload to its stream; every failure gets an error frame."""
        try:
            frame = self.decode(text)
        except FrameRefused as refused:
            await self.send_error(refused.status, str(refused))
            return
        try:
            await self.route(frame)
        except Exception:
            # A bug, or a frame built to exhaust something (e.g. deep nesting): the socket and
            # its streams go on.
            logger.exception("Frame not handled")
            await self.send_error(500, "Internal error.", counted=True)

    def decode(self, text: str | None) -> Any:
        limit = settings.PARLEY["MAX_FRAME_BYTES"]
        if text is None:
            raise FrameRefused(400, "Binary frames are not supported; send JSON text.")
        if len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit):
            raise FrameRefused(413, f"Frames are limited to {limit} bytes.")
        try:
            frame = frames.json_loads(text)
        except ValueError:
            raise FrameRefused(400, "The frame is not valid JSON.") from None
        except RecursionError:
            raise FrameRefused(400, "The frame is nested too deeply.") from None
        if SURROGATE_ESCAPE.search(text) and not frames.is_unicode(frame):
            raise FrameRefused(400, "The frame holds text that is not valid Unicode.")
        return frame

    async def route(self, frame: Any) -> None:
        """Pass a decoded frame to its stream."""
        if not isinstance(frame, dict):
            await self.send_error(400, 'A frame is an object: {"stream": ..., "payload": {...}}.')
            return
        name, payload = frame.get("stream"), frame.get("payload")
        request_id = payload.get("request_id") if isinstance(payload, dict) else None
        if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
            request_id = None
        if not isinstance(name, str):
            await self.send_error(400, "Missing stream.", request_id=request_id)
        elif name not in self.streams:
            await self.send_error(404, f"Unknown stream {name!r}.", name, request_id)
        elif not isinstance(payload, dict):
            await self.send_error(400, "The payload must be an object.", name, request_id)
        elif (stream := self.stream(name)) is None:
            await self.send_error(503, f"Stream {name!r} is unavailable.", name, request_id)
        else:
            await stream.receive_json(payload)

    def stream(self, name: str) -> Stream | None:
        """The socket's instance of a stream, made on first use (None if it cannot start)."""
        stream = self.instances.get(name)
        if stream is None and name not in self.refused:
            try:
                stream = self.instances[name] = self.streams[name](socket=self, name=name)
            except Exception:
                logger.exception("Stream %s failed to start", name)
                self.refused.add(name)
        return stream

    # Frames out ---------------------------------------------------------------------------

    async def send_error(
        self,
        status: int,
        error: str,
        stream: str | None = None,
        request_id: Any = None,
        counted: bool = False,
    ) -> None:
        """An error frame for a frame no stream could take (``counted``: its stream counted
        it already)."""
        if not counted:
            metrics.child(metrics.FRAMES_IN, "none", "none").inc()
        metrics.child(metrics.ERROR_FRAMES, status).inc()
        await self.send_text(
            frames.payload_frame(
                stream, errors=[error], data=None, action=None, status=status, request_id=request_id
            )
        )

    async def send_text(self, text: str) -> None:
        """Send a frame without waiting for a client that does not read.

        A push goes to many sockets in one pass: one whose client stopped reading (its write
        buffer full) must not hold up the others. Its frames wait here, in order, and go as the
        client reads.
        """
        if self.closed:
            metrics.child(metrics.FRAMES_DROPPED, "closed").inc()
            return
        message = {"type": "websocket.send", "text": text}
        if self.backlog is not None:
            self.backlog.append(message)
            self.backlog_size += len(text)
            if self.backlog_size > settings.PARLEY["SEND_BUFFER_BYTES"]:
                self.too_slow()
            return
        pending = start_eagerly(self.base_send(message))
        if pending is not None:
            self.backlog = deque()
            self.hub.spawn(self.drain(pending))

    async def drain(self, pending: "asyncio.Future[None]") -> None:
        """Send the frames kept while the client did not read, in order."""
        try:
            await pending
            while self.backlog:
                message = self.backlog.popleft()
                self.backlog_size -= len(message.get("text") or "")
                await self.base_send(message)
        except Exception:
            logger.debug("Socket gone while sending", exc_info=True)
            self.closed = True
        finally:
            self.backlog = None
            self.backlog_size = 0

    def too_slow(self) -> None:
        """The client fell a whole send buffer behind: drop what waits for it and close it with
        4408, so it reconnects and catches up instead of holding the server's memory.

        The close frame itself waits until the client reads what its buffers already hold; one
        that reads nothing for ``SLOW_CLIENT_GRACE_SECONDS`` more is cut off.
        """
        assert self.backlog is not None
        metrics.child(metrics.FRAMES_DROPPED, "too_slow").inc(len(self.backlog))
        self.backlog.clear()
        self.backlog_size = 0
        self.closed = True
        logger.warning(
            "Socket of user %s closed with %d: over %d bytes waiting for its client to read",
            self.user.pk, CLOSE_TOO_SLOW, settings.PARLEY["SEND_BUFFER_BYTES"],
        )
        self.hub.spawn(self.close_slow_client())

    async def close_slow_client(self) -> None:
        close = {"type": "websocket.close", "code": CLOSE_TOO_SLOW, "reason": "too slow"}
        try:
            async with asyncio.timeout(settings.PARLEY["SLOW_CLIENT_GRACE_SECONDS"]):
                await self.base_send(close)
        except TimeoutError:
            if abort_connection(self.base_send):
                logger.warning("Socket of user %s cut off: it read nothing more", self.user.pk)
        except Exception:
            logger.debug("Socket gone while closing", exc_info=True)

    async def write(self, message: dict[str, Any]) -> None:
        """Send a message after the frames already waiting."""
        if self.backlog is not None:
            self.backlog.append(message)
            return
        try:
            await self.base_send(message)
        except Exception:
            logger.debug("Socket gone while sending", exc_info=True)
            self.closed = True

    # Groups of the socket itself ----------------------------------------------------------

    async def add_group(self, name: str) -> None:
        """Follow a group as the socket (DCRF's observers call this on subscribe)."""
        if name not in self.groups:
            self.groups.add(name)
            await self.hub.join(name, self)

    async def remove_group(self, name: str) -> None:
        if name in self.groups:
            self.groups.discard(name)
            self.hub.leave(name, self)

    async def user_signed_out(self, event: dict) -> None:
        """A sign-in of the user ended: the socket it signed in closes, with 4401."""
        if ended_by(self.scope, event):
            await self.close(code=CLOSE_UNAUTHENTICATED)

    @model_observer(Membership, static=True)
    async def membership_activity(
        self, message: dict, observer: Any = None, action: str = "", **kwargs: Any
    ) -> None:
        """A membership of this user was created or deleted: tell the streams that care."""
        if action == Action.CREATE.value:
            method = "membership_granted"
        elif action == Action.DELETE.value:
            method = "membership_revoked"
        else:
            return
        for stream in list(self.instances.values()):
            handler = getattr(stream, method, None)
            if handler is not None:
                await handler(message)

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


class FrameRefused(Exception):
    """A frame that is not read at all; ``status`` is that of its error frame."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


def abort_connection(send: Send) -> bool:
    """Drop the connection under ``send`` at once, unsent data and all (False if unknown).

    ASGI can only close a socket politely, and uvicorn's close waits until the client takes
    what is buffered for it: never, for a client that reads nothing. uvicorn's ``send`` is a
    method of its protocol, which holds the connection's transport.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    return True


def start_eagerly(coroutine: Awaitable[None]) -> "asyncio.Future[None] | None":
    """Run ``coroutine`` until it first has to wait; only then finish it in a task.

    Sending a frame completes at once unless the socket's write buffer is full, so a pass over
    many sockets costs no task per socket. (Python 3.12's eager tasks do the same.)
    """
    if type(coroutine) is not CoroutineType:
        return asyncio.ensure_future(coroutine)
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    except BaseException as exc:  # noqa: B036 (raised where the send is awaited)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(exc)
        return future
    return asyncio.ensure_future(_finish(coroutine, waiting_on))


async def _finish(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    """Go on running a coroutine that ``start_eagerly`` began, as a task would."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                # What a task does with a future its coroutine yields: the future is marked as
                # awaited (by the coroutine), and awaiting it again must clear that mark first.
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except BaseException as exc:  # noqa: B036 (cancellation too: into the coroutine)
            try:
                waiting_on = coroutine.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return
