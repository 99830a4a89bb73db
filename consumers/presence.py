"""The ``presence`` stream: who is online in a room (across all their tabs), and who is typing."""

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections
from djangochannelsrestframework.decorators import action
from djangochannelsrestframework.observer.model_observer import Action
from rest_framework.exceptions import Throttled

from calls import services as call_services
from consumers import groups
from consumers.base import object_id
from consumers.delivery import group_send, model_observer
from consumers.observers import LEFT, MembershipAware
from consumers.permissions import CanSeeRoom
from rooms import selectors, services
from rooms.models import Membership, Room
from rooms.serializers import UserSerializer

logger = logging.getLogger(__name__)

KIND = "presence"
ONLINE, OFFLINE, TYPING = "create", "delete", "update"
# A socket may say "typing" once a second; more is noise to every member (429).
TYPING_MIN_INTERVAL = 1.0


async def announce(*, user: Any, change: str) -> None:
    """Tell the presence subscribers of each of the user's rooms that they came or went."""
    data = UserSerializer(user).data
    for room_id, audience in await database_sync_to_async(selectors.rooms_with_audience)(
        user_id=user.pk
    ):
        await group_send(
            groups.room_presence(room_id),
            {
                "type": "presence.event",
                "action": change,
                "data": {"room": room_id, "user": data},
                "audience": audience,
                "sender": None,
            },
        )


async def came_online(*, user: Any) -> None:
    await database_sync_to_async(call_services.call_party_returned)(user_id=user.pk)
    await announce(user=user, change=ONLINE)


async def went_offline(*, user: Any) -> None:
    await database_sync_to_async(call_services.call_party_left)(user_id=user.pk)
    await announce(user=user, change=OFFLINE)


class WorkerHeartbeat:
    """Keeps this process's Worker row fresh while it holds sockets, and its sockets counted.

    Sockets of a process that died without closing them stop counting as online once its
    heartbeat is older than ``WORKER_STALE_SECONDS``; the sweeper of a live process then tells
    the rooms. A process that was only paused (or cut off from the database) finds at its next
    beats that its sockets are no longer recorded, and counts them again.
    """

    def __init__(self) -> None:
        self.key = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.consumers: set["PresenceConsumer"] = set()
        self.task: asyncio.Task[None] | None = None

    def opened(self, consumer: "PresenceConsumer") -> None:
        """A socket is opening: beat while any is open."""
        self.consumers.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.beat())

    def closed(self, consumer: "PresenceConsumer") -> None:
        """A socket closed: stop beating once none is left."""
        self.consumers.discard(consumer)
        if not self.consumers and self.task is not None:
            self.task.cancel()
            self.task = None

    async def beat(self) -> None:
        while True:
            try:
                # In a thread of its own: a beat queued behind busy sockets' queries in the
                # shared database thread could come late enough for the worker to be swept.
                await sync_to_async(beat_once, thread_sensitive=False)(key=self.key)
                await self.recount()
            except Exception:
                logger.exception("Worker heartbeat failed; presence may lapse")
            await asyncio.sleep(settings.PARLEY["WORKER_HEARTBEAT_SECONDS"])

    async def recount(self) -> None:
        """Record again the open sockets this worker's rows lack (it was declared dead)."""
        recorded = await database_sync_to_async(services.worker_connection_keys)(
            worker_key=self.key
        )
        missing = [c for c in self.consumers if c.registered and c.channel_name not in recorded]
        if missing:
            logger.warning("%d sockets of this worker went uncounted; counting them", len(missing))
        for consumer in missing:
            if consumer not in self.consumers:
                continue  # closed meanwhile
            try:
                await consumer.register()
                if consumer not in self.consumers:  # closed while being counted: uncount it
                    await consumer.unregister()
            except Exception:
                logger.exception("Counting socket %s again failed", consumer.channel_name)


def beat_once(*, key: str) -> None:
    close_old_connections()
    try:
        services.worker_beat(key=key)
    finally:
        close_old_connections()


heartbeat = WorkerHeartbeat()


async def sweep_dead_workers() -> None:
    """Tell the rooms about the users of workers that died with their sockets open.

    Runs in every serving process (see project/lifespan.py) until cancelled.
    """
    while True:
        try:
            gone = await database_sync_to_async(services.workers_sweep_stale)(
                sweeper_key=heartbeat.key
            )
            for user in await database_sync_to_async(selectors.users_by_id)(ids=gone):
                try:
                    await went_offline(user=user)
                except Exception:
                    logger.exception("Telling the rooms that user %s left failed", user.pk)
        except Exception:
            logger.exception("Sweeping dead workers failed; their users still look online")
        await asyncio.sleep(settings.PARLEY["WORKER_HEARTBEAT_SECONDS"])


class PresenceConsumer(MembershipAware):
    """Presence: list, subscribe_room, unsubscribe_room, typing."""

    queryset = Room.objects.none()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registered = False
        self.last_typing = -TYPING_MIN_INTERVAL

    async def connect(self) -> None:
        """Count this socket towards the user's presence, then accept.

        In this order, a client whose socket is open is online: a second tab that opens and
        then closes the first never takes its user offline in between.
        """
        heartbeat.opened(self)
        await self.register()
        await self.accept()

    async def register(self) -> None:
        """Count this socket; the first one of the user announces them online."""
        first = await database_sync_to_async(services.connection_open)(
            key=self.channel_name, user=self.user, worker_key=heartbeat.key
        )
        self.registered = True
        if first:
            await came_online(user=self.user)

    async def unregister(self) -> None:
        """Stop counting this socket; the user's last one announces them offline."""
        last = await database_sync_to_async(services.connection_close)(key=self.channel_name)
        if last:
            await went_offline(user=self.user)

    async def disconnect(self, code: int) -> None:
        """Stop counting this socket; the last one to close takes the user offline."""
        heartbeat.closed(self)
        if not self.registered:
            return
        self.registered = False
        await self.unregister()

    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """Members of the room online now."""
        online = selectors.online_members(room=self.visible_room(kwargs))
        return [UserSerializer(membership.user).data for membership in online], 200

    @action()
    async def subscribe_room(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Pushes of members coming online (create), going offline (delete) and typing (update)."""
        room = await database_sync_to_async(self.visible_room)(kwargs)
        await self.add_group(groups.room_presence(room.pk))
        await self.membership_presence.subscribe(room=room.pk, request_id=request_id)
        self.track(KIND, room.pk, request_id)
        return None, 201

    @action()
    async def unsubscribe_room(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the subscription made with this request_id, and only that one."""
        room_id = object_id(kwargs, "room")
        self.untrack(KIND, room_id, request_id)
        await self.membership_presence.unsubscribe(room=room_id, request_id=request_id)
        await self.leave_group_if_unused(room_id)
        return None, 204

    @action()
    async def typing(self, **kwargs: Any) -> tuple[Any, int]:
        """Tell the room's other members I am typing (not stored)."""
        room = await database_sync_to_async(self.visible_room)(kwargs)
        await database_sync_to_async(services.room_check_member)(room=room, user=self.user)
        now = time.monotonic()
        if now - self.last_typing < TYPING_MIN_INTERVAL:
            raise Throttled(wait=TYPING_MIN_INTERVAL - (now - self.last_typing))
        self.last_typing = now
        audience = await database_sync_to_async(selectors.room_audience)(room=room)
        await group_send(
            groups.room_presence(room.pk),
            {
                "type": "presence.event",
                "action": TYPING,
                "data": {"room": room.pk, "user": UserSerializer(self.user).data, "typing": True},
                "audience": audience,
                "sender": self.user.pk,
            },
        )
        return None, 202

    async def presence_event(self, event: dict) -> None:
        """A member of a followed room came online, went offline or is typing."""
        if event["sender"] == self.user.pk:
            return
        if not CanSeeRoom.allows(user_id=self.user.pk, audience=event["audience"]):
            await self.lost_sight(KIND, event["data"]["room"])
            return
        request_ids = self.room_subscriptions.get((KIND, event["data"]["room"]), ())
        await self.reply_push(action=event["action"], data=event["data"], request_ids=request_ids)

    async def leave_group_if_unused(self, room_id: int) -> None:
        if (KIND, room_id) not in self.room_subscriptions:
            await self.remove_group(groups.room_presence(room_id))

    async def end_subscription(
        self, kind: str, room_id: int, request_id: Any, reason: str = LEFT
    ) -> None:
        """Stop following a room's presence once the user left it."""
        await super().end_subscription(kind, room_id, request_id, reason)
        await self.membership_presence.unsubscribe(room=room_id, request_id=request_id)
        await self.leave_group_if_unused(room_id)

    @model_observer(Membership)
    async def membership_presence(
        self,
        message: dict,
        observer: Any = None,
        subscribing_request_ids: Any = (),
        action: str = "",
        **kwargs: Any,
    ) -> None:
        """Someone online joined (create) or left (delete) a followed room."""
        if message["online"] and CanSeeRoom.allows(
            user_id=self.user.pk, audience=message["audience"]
        ):
            data = {"room": message["room"], "user": message["user"]}
            await self.reply_push(action=action, data=data, request_ids=subscribing_request_ids)

    @membership_presence.serializer
    def membership_presence(  # noqa: F811
        self, instance: Membership, action: Action, **kwargs: Any
    ) -> dict:
        """Whether the member is online now decides if the room hears of it at all."""
        return {
            "room": instance.room_id,
            "user": UserSerializer(instance.user).data,
            "online": selectors.is_online(user_id=instance.user_id),
            "audience": selectors.room_audience(room=instance.room),
        }

    @membership_presence.groups_for_signal
    def membership_presence(self, instance: Membership, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.room_presence(instance.room_id)

    @membership_presence.groups_for_consumer
    def membership_presence(self, room: int, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.room_presence(room)
