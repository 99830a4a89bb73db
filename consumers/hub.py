"""The hub: where pushes meet this process's sockets, one per process (and event loop).

Channels gives every consumer its own layer channel and group memberships, so a push to N
sockets of a process crossed the layer N times (copied, queued and woken per socket). Here the
process has one layer channel, joins each group once however many of its sockets follow it,
and delivers each event to every local follower in one pass, encoding its data once
(``frames.delivering``).

With the in-memory layer there is only ever one process, so the hub delivers locally and the
layer is not used at all. With Redis, each event crosses Redis once per process that follows
its group.
"""

import asyncio
import functools
import logging
import os
import sys
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from djangochannelsrestframework.observer.base_observer import BaseObserver

from consumers import frames
from project import metrics
from project.outage import redis_outage

logger = logging.getLogger("parley.delivery")


class Hub:
    """This event loop's followers of each group, and its one channel on the layer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self.local = self.layer is None or isinstance(self.layer, InMemoryChannelLayer)
        self.followers: dict[str, dict[Any, None]] = {}
        self.joined: set[str] = set()  # groups this process follows on the layer
        self.locks: dict[str, list[Any]] = {}  # group -> [lock, users]: one layer change at a time
        self.channel: str | None = None
        self.channel_lock = asyncio.Lock()
        self.outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.tasks = {loop.create_task(self.send_all())}

    # Following groups -----------------------------------------------------------------------

    async def join(self, group: str, follower: Any) -> None:
        """Deliver the group's events to ``follower`` (its handler methods, as in channels)."""
        followers = self.followers.get(group)
        if followers is None:
            followers = self.followers[group] = {}
        followers[follower] = None
        if not self.local and (group not in self.joined or group in self.locks):
            await self.follow_on_layer(group)

    def leave(self, group: str, follower: Any) -> None:
        """Stop delivering the group's events to ``follower`` (at once; the layer follows)."""
        followers = self.followers.get(group)
        if followers is None:
            return
        followers.pop(follower, None)
        if not followers:
            del self.followers[group]
            if not self.local:
                self.spawn(self.follow_on_layer(group))

    async def follow_on_layer(self, group: str) -> None:
        """Make the process's layer membership of ``group`` match whether anyone here follows
        it; changes of one group are serialized, so a leave and a join cannot cross."""
        entry = self.locks.get(group)
        if entry is None:
            entry = self.locks[group] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                wanted = group in self.followers
                if wanted and group not in self.joined:
                    await self.layer.group_add(group, await self.channel_name())
                    self.joined.add(group)
                elif not wanted and group in self.joined:
                    self.joined.discard(group)
                    await self.layer.group_discard(group, await self.channel_name())
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self.locks[group]

    async def channel_name(self) -> str:
        """The process's one layer channel, and the task reading it."""
        async with self.channel_lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.spawn(self.receive_all())
        return self.channel

    # Publishing and delivering ----------------------------------------------------------------

    def publish(self, group: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every follower of ``group``, in any process, soon and in order.

        Events are never changed once published: every follower of the process gets the
        same object.
        """
        event["group"] = group
        self.outbox.put_nowait((group, event))

    async def send_all(self) -> None:
        while True:
            stop_if_cancelled()
            group, event = await self.outbox.get()
            try:
                if self.local:
                    await self.deliver(event)
                else:
                    await self.layer.group_send(group, event)
            except Exception:
                undelivered(group, event)

    async def receive_all(self) -> None:
        assert self.channel is not None
        while True:
            stop_if_cancelled()
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Receiving pushes from the channel layer failed; retrying")
                await asyncio.sleep(1)
                continue
            await self.deliver(event)

    async def deliver(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to each follower of its group in this process, in one pass."""
        followers = self.followers.get(event["group"])
        if not followers:
            return
        handlers: dict[type, Any] = {}
        with frames.delivering():
            for follower in list(followers):
                kind = type(follower)
                handler = handlers.get(kind)
                if handler is None:
                    handler = handlers[kind] = handler_for(kind, event)
                try:
                    await handler(follower)
                except Exception:
                    logger.exception("Delivering %s to a socket failed", event["type"])
        if "at" in event:
            metrics.PUSH_DELAY.observe(max(0.0, time.time() - event["at"]))

    def spawn(self, coroutine: Any) -> None:
        task = self.loop.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def handler_for(kind: type, event: dict[str, Any]) -> Callable[[Any], Awaitable[Any]]:
    """How followers of class ``kind`` take ``event``: the method named after its type, as in
    channels (``message.activity`` -> ``message_activity``); for a model observer, its handler
    with what is common to every follower worked out once."""
    attribute = getattr(kind, event["type"].replace(".", "_"))
    if hasattr(attribute, "handler_for"):  # consumers.stream.StreamObserver
        return cast(Callable[[Any], Awaitable[Any]], attribute.handler_for(event))
    if isinstance(attribute, BaseObserver):  # DCRF's own, as DCRF calls it
        return functools.partial(_call_observer, attribute, event)
    return functools.partial(_call_method, attribute, event)


def _call_observer(observer: Any, event: dict[str, Any], follower: Any) -> Awaitable[Any]:
    return cast(Awaitable[Any], observer(event, consumer=follower))


def _call_method(method: Any, event: dict[str, Any], follower: Any) -> Awaitable[Any]:
    return cast(Awaitable[Any], method(follower, event))


def stop_if_cancelled() -> None:
    """End a loop that was cancelled even if a library swallowed the cancellation (redis-py
    can, on a cancel that races its socket timeout): otherwise it would wait again, forever,
    and hold up the event loop's shutdown."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def current() -> Hub:
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub


def publish(group: str, event: dict[str, Any]) -> None:
    """Publish ``event`` to ``group`` from any thread (e.g. a write's on-commit hook).

    From a thread serving an event loop's sync work (asgiref's ``sync_to_async``), the event is
    handed to that loop's hub without waiting. Elsewhere (a management command, a sync test)
    it is sent straight to the layer, which then reaches other processes only.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        current().publish(group, event)
        return
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    if loop is not None and pid == os.getpid() and not loop.is_closed():
        loop.call_soon_threadsafe(_publish_in_loop, group, event)
        return
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return  # nobody could be listening: the in-memory layer has no other process
    try:
        async_to_sync(layer.group_send)(group, {**event, "group": group})
    except Exception:
        undelivered(group, event)


def undelivered(group: str, event: dict[str, Any]) -> None:
    """A push the layer refused: said at WARNING, never silent (the write it follows stands);
    during a Redis outage, counted towards it (``project.outage`` says it once)."""
    if redis_outage.noticed(sys.exc_info()[1]):
        return
    logger.warning(
        "Push %s (%s) to group %s could not be delivered",
        event.get("type"),
        event.get("action"),
        group,
        exc_info=True,
    )


def _publish_in_loop(group: str, event: dict[str, Any]) -> None:
    current().publish(group, event)
