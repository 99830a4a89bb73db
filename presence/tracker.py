"""This process's side of presence: which users have sockets open here, kept in the database.

Opening and closing sockets costs no query each: the tracker counts them in memory and writes
only the difference (users who got their first socket here, users who closed their last) in
one transaction per batch. While one batch is written the next gathers, so a reconnect storm
of thousands of sockets costs a handful of transactions, and a quiet server writes each change
at once. A socket opening for a user not yet recorded waits for its batch: once a socket is
open, its user counts as online everywhere.

All database work runs in one thread of its own, in order: batches, the heartbeat and the
dead-worker sweep never queue behind socket actions in the shared database thread, and never
race each other.
"""

import asyncio
import logging
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from presence import selectors, services

logger = logging.getLogger(__name__)

# Users per transaction: bounds lock lists and the SQL parameters of one statement.
BATCH = 500


class PresenceUnavailable(Exception):
    """The database could not record a socket; it cannot count as online."""


class Tracker:
    """The users with sockets open on this process, recorded in batches (one per process)."""

    def __init__(self) -> None:
        self.key = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-presence")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.reset()

    def reset(self) -> None:
        """Forget everything of a previous event loop (tests run one per test)."""
        self.sockets: dict[int, set[Any]] = {}
        self.recorded: set[int] = set()  # users with a committed row on this worker
        self.waiters: dict[int, list[asyncio.Future[None]]] = {}  # sockets opening
        self.leavers: dict[int, list[asyncio.Future[None]]] = {}  # last sockets closing
        self.dirty = False
        self.writer: asyncio.Task[None] | None = None
        self.heart: asyncio.Task[None] | None = None

    def run(self, func: Any, **kwargs: Any) -> Any:
        """Run a database function in the presence thread (closing stale connections)."""
        return database_sync_to_async(func, thread_sensitive=False, executor=self.executor)(
            **kwargs
        )

    def bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop = loop
            self.reset()
        return loop

    async def opened(self, conn: Any, *, user_id: int) -> None:
        """Count a socket of ``user_id``; returns once the user counts as online everywhere.

        Raises ``PresenceUnavailable`` when the database could not record it.
        """
        loop = self.bind()
        self.sockets.setdefault(user_id, set()).add(conn)
        if self.heart is None:
            self.heart = loop.create_task(self.beat())
        if user_id in self.recorded:
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiters.setdefault(user_id, []).append(waiter)
        self.schedule()
        await waiter

    def closed(self, conn: Any, *, user_id: int) -> "asyncio.Future[None] | None":
        """Stop counting a socket. Synchronous, so nothing can skip it; when it was the user's
        last socket here, returns a future done once that is recorded (for a caller that wants
        to know, e.g. a test's socket; nothing depends on waiting for it)."""
        if asyncio.get_running_loop() is not self.loop:
            return None  # counted under a previous loop, forgotten with it
        tabs = self.sockets.get(user_id)
        if tabs is None:
            return None
        tabs.discard(conn)
        if tabs:
            return None
        del self.sockets[user_id]
        if not self.sockets and self.heart is not None:
            self.heart.cancel()
            self.heart = None
        if user_id not in self.recorded:
            return None
        assert self.loop is not None
        leaver: asyncio.Future[None] = self.loop.create_future()
        self.leavers.setdefault(user_id, []).append(leaver)
        self.schedule()
        return leaver

    def online_here(self) -> set[int]:
        """Users with a socket open on this process now."""
        return set(self.sockets)

    def schedule(self) -> None:
        """Write the difference soon: now if no batch is being written, else right after."""
        self.dirty = True
        if self.writer is None or self.writer.done():
            assert self.loop is not None
            self.writer = self.loop.create_task(self.write())

    async def write(self) -> None:
        while self.dirty:
            self.dirty = False
            wanted = set(self.sockets)
            arrived = sorted(wanted - self.recorded)[:BATCH]
            left = sorted(self.recorded - wanted)[:BATCH]
            if len(arrived) == BATCH or len(left) == BATCH:
                self.dirty = True  # more than one batch's worth: the rest next
            if not arrived and not left:
                self.wake(set(self.waiters))
                self.release(set(self.leavers))
                continue
            try:
                await self.run(
                    services.presence_record,
                    worker_key=self.key,
                    arrived=set(arrived),
                    left=set(left),
                )
            except Exception as exc:
                logger.exception("Recording %d sockets' presence failed", len(arrived) + len(left))
                self.fail(set(arrived), exc)
                self.release(set(left))  # the sockets are gone either way; retried below
                self.dirty = True
                await asyncio.sleep(1)
                continue
            self.recorded.update(arrived)
            self.recorded.difference_update(left)
            self.wake(set(arrived))
            self.release(set(left) | (set(self.leavers) & set(self.sockets)))

    async def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until what is counted here is written: a
        server shutting down lets its closed sockets' users go offline at once."""
        if self.writer is not None and not self.writer.done():
            await asyncio.wait([self.writer], timeout=timeout)

    def wake(self, user_ids: set[int]) -> None:
        for user_id in user_ids & self.recorded:
            for waiter in self.waiters.pop(user_id, ()):
                if not waiter.done():
                    waiter.set_result(None)

    def release(self, user_ids: set[int]) -> None:
        for user_id in user_ids:
            for leaver in self.leavers.pop(user_id, ()):
                if not leaver.done():
                    leaver.set_result(None)

    def fail(self, user_ids: set[int], exc: Exception) -> None:
        for user_id in user_ids:
            for waiter in self.waiters.pop(user_id, ()):
                if not waiter.done():
                    waiter.set_exception(PresenceUnavailable(str(exc)))

    async def beat(self) -> None:
        """Keep this worker alive in the database while it holds sockets, and its users counted.

        A worker that was paused (or cut off from the database) past ``WORKER_STALE_SECONDS``
        may have been swept as dead by another: its users are then no longer recorded, and the
        next batch records them again (announcing them online).
        """
        while True:
            await asyncio.sleep(settings.PARLEY["WORKER_HEARTBEAT_SECONDS"])
            try:
                await self.run(services.worker_beat, key=self.key)
                rows = await self.run(selectors.worker_user_ids, worker_key=self.key)
            except Exception:
                logger.exception("Worker heartbeat failed; presence may lapse")
                continue
            if rows != self.recorded:
                missing = len(self.recorded - rows)
                if missing:
                    logger.warning("%d users of this worker went uncounted; counting them", missing)
                self.recorded = rows
                self.schedule()

    async def sweep(self) -> None:
        """Forget the sockets of workers that died with them open, until cancelled.

        ``presence_changed`` tells the rooms and the call rules about their users. Runs in
        every serving process (see project/lifespan.py).
        """
        while True:
            try:
                await self.run(services.workers_sweep_stale, sweeper_key=self.key)
            except Exception:
                logger.exception("Sweeping dead workers failed; their users still look online")
            await asyncio.sleep(settings.PARLEY["WORKER_HEARTBEAT_SECONDS"])


tracker = Tracker()
