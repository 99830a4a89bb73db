"""The base of every stream consumer: argument parsing, error frames, push bookkeeping."""

import logging
import math
from collections import defaultdict
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from djangochannelsrestframework.generics import GenericAsyncAPIConsumer
from rest_framework import serializers
from rest_framework.exceptions import APIException

from calls.services import CallConflict
from rooms import selectors
from rooms.models import Room
from rooms.services import PostingTooFast

logger = logging.getLogger(__name__)

# Actions whose ``data`` is the object being written. For every other action, dcrf-client nests
# its arguments under ``data`` ({"action": "list", "data": {"room": 5}}) while DCRF reads them at
# the top level: both are accepted.
WRITE_ACTIONS = frozenset({"create", "update", "patch"})
# Names the action machinery passes itself; as arguments (e.g. nested under data) they collide.
RESERVED_ARGUMENTS = frozenset({"self", "action", "request_id"})


class FrameError(Exception):
    """A request the server cannot act on; becomes an error frame with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, status)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class ParleyConsumer(GenericAsyncAPIConsumer):
    """A DCRF consumer that answers every bad request with an error frame and stays open."""

    @property
    def user(self) -> Any:
        """The signed-in user of this socket."""
        return self.scope["user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (kind, room id) -> request ids of this socket's subscriptions tied to that room.
        self.room_subscriptions: dict[tuple[str, int], set[Any]] = defaultdict(set)

    async def websocket_receive(self, message: dict) -> None:
        """Take a payload the demultiplexer already decoded."""
        await self.receive_json(message["json"])

    async def send_json(self, content: Any, close: bool = False) -> None:
        """Hand the payload to the demultiplexer, which encodes the frame once."""
        await self.base_send({"type": "websocket.send", "json": content})
        if close:
            await self.close()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Check the request's envelope, then run its action."""
        if not isinstance(content, dict):
            await self.reply(action=None, errors=["The payload must be an object."], status=400)
            return
        request_id = content.pop("request_id", None)
        action = content.pop("action", None)
        problem = envelope_problem(action=action, request_id=request_id)
        if problem:
            action_name = action if isinstance(action, str) else None
            rid = request_id if isinstance(request_id, (str, int)) else None
            await self.reply(action=action_name, errors=[problem], status=400, request_id=rid)
            return
        data = content.get("data")
        if action not in WRITE_ACTIONS and isinstance(data, dict):
            content = {**data, **{k: v for k, v in content.items() if k != "data"}}
        if clash := sorted(RESERVED_ARGUMENTS & content.keys()):
            # Would collide with the handler's own parameters: refuse rather than crash.
            await self.reply(
                action=action,
                errors=[f"Reserved argument name: {', '.join(clash)}."],
                status=400,
                request_id=request_id,
            )
            return
        try:
            await self.handle_action(action, request_id=request_id, **content)
        except Exception as exc:  # e.g. an argument named like a parameter of handle_action
            await self.handle_exception(exc, action=action, request_id=request_id)

    async def handle_exception(self, exc: Exception, action: str | None, request_id: Any) -> None:
        """Turn any failure into an error frame; the socket stays open."""
        status, errors = error_reply(exc)
        if status >= 500:
            logger.exception("Action %s failed (request %r)", action, request_id, exc_info=exc)
        await self.reply(action=action, errors=errors, status=status, request_id=request_id)

    async def reply_push(self, *, action: str, data: Any, request_ids: Any) -> None:
        """Send one push per subscribing request id, echoing it."""
        for request_id in request_ids:
            await self.reply(action=action, data=data, status=200, request_id=request_id)

    def visible_room(self, args: dict[str, Any], key: str = "room") -> Room:
        """The room whose id is ``args[key]``, or 404 if the user may not see it."""
        return selectors.room_get_visible(user=self.user, pk=object_id(args, key))

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


def envelope_problem(*, action: Any, request_id: Any) -> str | None:
    """What is wrong with a request's action and request_id, if anything."""
    if action is None:
        return "Missing action."
    if not isinstance(action, str):
        return "action must be a string."
    if request_id is None:
        return "Missing request_id."
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return "request_id must be a string or an integer."
    return None


def error_reply(exc: Exception) -> tuple[int, list[Any]]:
    """The status and ``errors`` list for an exception raised by an action."""
    if isinstance(exc, FrameError):
        return exc.status, [str(exc)]
    if isinstance(exc, (ObjectDoesNotExist, Http404)):
        return 404, ["Not found."]
    if isinstance(exc, CallConflict):
        return 409, [str(exc)]
    if isinstance(exc, PostingTooFast):
        return 429, [f"{exc} Wait {math.ceil(exc.wait)} s."]
    if isinstance(exc, PermissionDenied):
        return 403, [str(exc) or "You do not have permission to perform this action."]
    if isinstance(exc, ValidationError):
        return 400, [exc.message_dict] if hasattr(exc, "error_dict") else exc.messages
    if isinstance(exc, APIException):
        detail = exc.detail
        return exc.status_code, detail if isinstance(detail, list) else [detail]
    return 500, ["Internal error."]


def parse(serializer_class: type[serializers.Serializer], args: dict[str, Any]) -> dict[str, Any]:
    """Validate action arguments with a serializer; bad ones raise a 400 error frame."""
    serializer = serializer_class(data=args)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def object_id(args: dict[str, Any], key: str) -> int:
    """The positive integer id ``args[key]``; anything else is a 400 naming the argument."""
    value = args.get(key)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError({key: ["A positive integer id is required."]})
    return value


def data_arg(data: Any) -> dict[str, Any]:
    """The ``data`` object of a write action; anything else is a 400."""
    if not isinstance(data, dict):
        raise FrameError("Missing data: send the object's fields under data.")
    return data
