"""A test client for the multiplexed socket: requests by request_id, pushes kept in order."""

import asyncio
import itertools
import json
from collections import deque
from typing import Any

from channels.testing import WebsocketCommunicator

from project.asgi import application

_ids = itertools.count(1)
# Generous: a loaded 2-core CI machine can be slow; a missing frame still fails the test.
TIMEOUT = 10


# The actions of pushes (a reply carries its request's action instead).
PUSH_ACTIONS = frozenset({"create", "update", "delete", "revoked", "figures"})


class Socket:
    """One client socket through the real ASGI application (origin check, auth, socket consumer)."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.communicator = WebsocketCommunicator(application, path, headers=headers or [])
        self.inbox: deque[dict] = deque()

    async def connect(self) -> tuple[bool, Any]:
        return await self.communicator.connect(timeout=TIMEOUT)

    async def close(self) -> None:
        # With channels-redis a consumer holding the shared receive can take its 5 s BZPOPMIN
        # timeout to stop; waiting less would cancel it while it still writes presence.
        await self.communicator.disconnect(timeout=TIMEOUT + 5)

    async def send(self, stream: str, **payload: Any) -> Any:
        """Send a request and return its request_id."""
        payload.setdefault("request_id", f"r{next(_ids)}")
        await self.send_frame({"stream": stream, "payload": payload})
        return payload["request_id"]

    async def send_frame(self, frame: Any) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def request(self, stream: str, action: str, **payload: Any) -> dict:
        """Send ``action`` and return the reply payload (pushes that arrive meanwhile are kept)."""
        request_id = await self.send(stream, action=action, **payload)
        return await self.reply(stream, request_id, action)

    async def reply(self, stream: str, request_id: Any, action: str | None = None) -> dict:
        """The reply to ``request_id``: same id and the request's action (a push has another)."""
        return await self.wait_for(
            lambda f: f["stream"] == stream
            and f["payload"]["request_id"] == request_id
            and (action is None or f["payload"]["action"] == action)
        )

    async def push(self, stream: str, request_id: Any) -> dict:
        """The next push for the subscription made with ``request_id``."""
        return await self.wait_for(
            lambda f: f["stream"] == stream
            and f["payload"]["request_id"] == request_id
            and f["payload"]["action"] in PUSH_ACTIONS
        )

    async def next_frame(self, timeout: float = TIMEOUT) -> dict:
        if self.inbox:
            return self.inbox.popleft()
        return await self.receive(timeout)

    async def receive(self, timeout: float = TIMEOUT) -> dict:
        return json.loads(await self.communicator.receive_from(timeout=timeout))

    async def wait_for(self, matches: Any, timeout: float = TIMEOUT) -> dict:
        """The first frame (kept or new) that ``matches``; others stay in the inbox, in order."""
        for frame in list(self.inbox):
            if matches(frame):
                self.inbox.remove(frame)
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no matching frame; kept: {list(self.inbox)}")
            frame = await self.receive(remaining)
            if matches(frame):
                return frame
            self.inbox.append(frame)

    async def drain(self, quiet: float = 0.3) -> list[dict]:
        """Every frame kept or arriving until none has come for ``quiet`` seconds."""
        frames = list(self.inbox)
        self.inbox.clear()
        while not await self.communicator.receive_nothing(timeout=quiet):
            frames.append(await self.receive())
        return frames

    async def assert_silent(self) -> None:
        """Nothing else arrived: no stray push, no leak."""
        assert not self.inbox, f"unexpected frames: {list(self.inbox)}"
        assert await self.communicator.receive_nothing(timeout=0.3), "unexpected frame arrived"
