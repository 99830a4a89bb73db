"""A stream of the socket: a DCRF consumer class, hosted by the socket instead of run on its own.

Write a stream as any DCRF consumer: ``@action`` methods (sync ones run in the database thread,
as in DCRF), ``@model_observer`` with its ``serializer``, ``groups_for_signal`` and
``groups_for_consumer``, ``permission_classes``, ``reply``. What changes is underneath: the
socket makes a stream's instance on the stream's first frame (a stream a socket never uses
costs nothing), hands it its payloads, and wraps its replies in the stream's envelope; the
process's hub delivers observed events to it without a channel of its own.

To add one: subclass ``Stream``, take ``model_observer`` from this module (DCRF's own would
publish through the channel layer, past the hub), build group names in ``consumers.groups``,
check who may receive each push in its handler, and name the class in
``consumers.routing.ParleySocket.streams``.
"""

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Model
from djangochannelsrestframework.consumers import AsyncAPIConsumer
from djangochannelsrestframework.observer.model_observer import Action, ModelObserver
from rest_framework import serializers

from consumers import frames, hub
from project import metrics
from project.errors import error_reply

if TYPE_CHECKING:
    from consumers.socket import SocketConsumer

logger = logging.getLogger(__name__)
# One line per socket action (at INFO: shown when PARLEY_LOG_FORMAT=json).
actions_log = logging.getLogger("parley.actions")
T = TypeVar("T")

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


class Stream(AsyncAPIConsumer):
    """One stream of one socket; answers every bad request with an error frame."""

    def __init__(self, *, socket: "SocketConsumer", name: str) -> None:
        super().__init__()
        self.socket = socket
        self.stream_name = name
        self.scope = socket.scope
        self.last_status: int | None = None

    @property
    def user(self) -> Any:
        """The signed-in user of this socket."""
        return self.scope["user"]

    # Groups: the hub, not a channel per consumer ----------------------------------------------

    async def add_group(self, name: str) -> None:
        """Follow a group (DCRF's observers call this on subscribe)."""
        if name not in self.groups:
            self.groups.add(name)
            await self.socket.hub.join(name, self)

    async def remove_group(self, name: str) -> None:
        """Stop following a group."""
        if name in self.groups:
            self.groups.discard(name)
            self.socket.hub.leave(name, self)

    def disconnect(self) -> None:
        """The socket closed: stop following everything, cancel detached actions."""
        for name in self.groups:
            self.socket.hub.leave(name, self)
        self.groups.clear()
        for task in self.detached_tasks:
            task.cancel()

    # Frames in and out ------------------------------------------------------------------------

    async def reply(
        self,
        action: str | None,
        data: Any = None,
        errors: list[Any] | None = None,
        status: int = 200,
        request_id: Any = None,
    ) -> None:
        """DCRF's reply, wrapped in this stream's envelope."""
        self.last_status = status
        label = self.action_label(action)
        metrics.child(metrics.FRAMES_OUT, self.stream_name, label, "reply").inc()
        if status >= 400:
            metrics.child(metrics.ERROR_FRAMES, status).inc()
        frame = frames.payload_frame(
            self.stream_name,
            errors=errors or [],
            data=data,
            action=action,
            status=status,
            request_id=request_id,
        )
        await self.socket.send_text(frame)

    async def send_json(self, content: Any, close: bool = False) -> None:
        await self.socket.send_text(frames.encode({"stream": self.stream_name, "payload": content}))
        if close:
            await self.socket.close()

    async def reply_push(self, *, action: str, data: Any, request_ids: Iterable[Any]) -> None:
        """Send one push per subscribing request id, echoing it (``reply``'s frame, 200)."""
        delivered = metrics.child(metrics.PUSHES_DELIVERED, self.stream_name)
        sent = metrics.child(metrics.FRAMES_OUT, self.stream_name, action, "push")
        for request_id in request_ids:
            if not self.socket.closed:  # a closed socket's frames count as dropped
                delivered.inc()
                sent.inc()
            await self.socket.send_text(
                frames.payload_frame(
                    self.stream_name,
                    errors=[],
                    data=data,
                    action=action,
                    status=200,
                    request_id=request_id,
                )
            )

    def action_label(self, action: Any) -> str:
        """The action as a metrics label: one this stream offers, else "other"."""
        return action if isinstance(action, str) and action in self.available_actions else "other"

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Run one request; count it, and log it (action, status, time taken)."""
        started = time.perf_counter()
        action = self.action_label(content.get("action"))
        metrics.child(metrics.FRAMES_IN, self.stream_name, action).inc()
        self.last_status = None
        try:
            await self.run_request(content)
        finally:
            if actions_log.isEnabledFor(logging.INFO):
                ms = round((time.perf_counter() - started) * 1000, 2)
                actions_log.info(
                    "%s %s %s %.2f ms", self.stream_name, action, self.last_status, ms,
                    extra={
                        "socket": self.socket.socket_id, "user": self.user.pk,
                        "stream": self.stream_name, "action": action,
                        "status": self.last_status, "duration_ms": ms,
                    },
                )

    async def run_request(self, content: Any) -> None:
        """Check the request's envelope, then run its action."""
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
        if isinstance(exc, FrameError):
            status, errors = exc.status, [str(exc)]
        else:
            status, errors = error_reply(exc)
        if status == 500:  # a bug; a 503 (an outage) is said once by project.outage
            logger.exception("Action %s failed (request %r)", action, request_id, exc_info=exc)
        await self.reply(action=action, errors=errors, status=status, request_id=request_id)


class StreamObserver(ModelObserver):
    """DCRF's model observer, delivering through the hub.

    * Pushes leave after commit without waiting: the writing thread hands them to its event
      loop (DCRF waited for each ``group_send``, a round trip to the loop per group).
    * A subscriber gets the event as published, not a deep copy of its own: events are never
      changed after they are published (DCRF copied each one per subscriber).
    * ``static=True``: the groups of a row never change (they depend on fields never written
      again, e.g. a message's room), so rows loaded from the database need not compute them.
    * ``cascade=False``: rows deleted because their parent was (a room's messages) push
      nothing; the parent's own event stands for them, instead of one push per row.
    """

    def __init__(self, *args: Any, cascade: bool = True, static: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cascade = cascade
        self.static = static

    def post_init_receiver(self, instance: Model, **kwargs: Any) -> None:
        if not self.static:
            super().post_init_receiver(instance, **kwargs)

    def prepare_messages(self, instance: Model, action: Action, **kwargs: Any) -> Any:
        if not self.static:
            return super().prepare_messages(instance, action, **kwargs)
        groups = set(self.group_names_for_signal(instance=instance))
        old = set() if action == Action.CREATE else groups
        new = set() if action == Action.DELETE else groups
        return self.generate_messages(instance, old, new, action, **kwargs)

    def post_delete_receiver(self, instance: Model, **kwargs: Any) -> None:
        origin = kwargs.get("origin")
        cascaded = origin is not None and not isinstance(origin, type(instance))
        if cascaded and not self.cascade:
            return
        # Serializers may say why the row went (e.g. its room was deleted).
        instance._parley_cascade_origin = origin if cascaded else None  # type: ignore[attr-defined]
        super().post_delete_receiver(instance, **kwargs)

    def send_prepared_messages(self, instance: Model) -> None:
        state = self.get_observer_state(instance)
        messages, state.pending_messages = state.pending_messages, []
        committed = time.time()  # the push delay counts from here (metrics)
        for message in messages:
            message["at"] = committed
            hub.publish(message["group"], message)

    async def __call__(self, message: dict, consumer: Any = None, **kwargs: Any) -> Any:
        """Run the handler for one subscriber, with the request ids it subscribed with."""
        return await self.handler_for(message, **kwargs)(consumer)

    def handler_for(self, message: dict, **kwargs: Any) -> Callable[[Any], Awaitable[Any]]:
        """The handler of ``message`` for any subscriber: what is the same for all of them is
        worked out once per event, not once per subscriber (the hub delivers to many)."""
        body = message.get("body", {})
        group = message.get("group")
        arguments = {k: v for k, v in message.items() if k not in {"body", "type"}}
        arguments.update(kwargs, observer=self, message_type=message["type"])
        observer_id, func = self._stable_observer_id, self.func

        def handle(consumer: Any) -> Awaitable[Any]:
            subscribed = consumer._observer_group_to_request_id.get(observer_id)
            request_ids = list(subscribed.get(group, ())) if subscribed else []
            return func(consumer, body, subscribing_request_ids=request_ids, **arguments)

        return handle

    @functools.lru_cache(maxsize=65536)  # noqa: B019 (observers live as long as the process)
    def clean_group_name(self, name: str) -> str:
        """DCRF's hashed name, computed once per name."""
        return str(super().clean_group_name(name))


def model_observer(model: type[Model], **kwargs: Any) -> Any:
    """``@model_observer(Model)`` as in DCRF, delivering through the hub (``StreamObserver``)."""
    return partial(StreamObserver, model_cls=model, **kwargs)


class SharedTrips:
    """Runs the database work of actions arriving together in one trip to the database thread.

    A trip costs about as much CPU as a signaling write itself here (a thread hop, futures,
    closing stale connections): when a hundred calls are being set up at once, each SDP and
    candidate would pay it. The work of every action that arrives while a trip is under way
    goes on the next one; alone, an action's trip leaves at once. A trip's works share one
    transaction, so one commit: on PostgreSQL each commit waits for its WAL flush, which was
    most of a signaling write's time under load (see bench/README.md). Their pushes leave
    after that commit, as any push does.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self.task: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in the database thread; its result or its exception. It shares a
        transaction with the works that travel with it, so it opens none of its own."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # tests run one event loop per test
            self.loop, self.waiting, self.task = loop, [], None
        future: asyncio.Future[T] = loop.create_future()
        self.waiting.append((work, future))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self.trips())
        return await future

    async def trips(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                outcomes = await database_sync_to_async(run_together)([work for work, _ in batch])
            except BaseException as exc:  # noqa: B036 (the trip itself failed: tell everyone)
                outcomes = [(False, exc)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


def run_together(works: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    """Each work's result or exception, all in one transaction.

    A work refused by a rule (a validation error, a call that has ended) leaves the transaction
    usable, and the others go on. A database error may leave it unusable (PostgreSQL aborts it):
    then nothing of the batch is kept, and each work runs again alone, as it would have without
    company, so only the failing one fails.
    """
    if len(works) == 1:
        return run_each(works, stop_on_database_error=False)
    try:
        with transaction.atomic():
            return run_each(works, stop_on_database_error=True)
    except DatabaseError:
        return run_each(works, stop_on_database_error=False)


def run_each(
    works: list[Callable[[], Any]], *, stop_on_database_error: bool
) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    for work in works:
        try:
            outcomes.append((True, work()))
        except Exception as exc:
            if stop_on_database_error and isinstance(exc, DatabaseError):
                raise
            outcomes.append((False, exc))
    return outcomes


shared_trips = SharedTrips()


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
