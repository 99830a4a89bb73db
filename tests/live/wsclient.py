"""A real WebSocket client (the ``websockets`` library) speaking Parley's multiplexed frames."""

import asyncio
import itertools
import json
from collections import deque
from typing import Any

import websockets

_ids = itertools.count(1)
TIMEOUT = 10


class LiveSocket:
    """One client socket to a live server; replies found by request_id, pushes kept in order."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.inbox: deque[dict] = deque()

    @classmethod
    async def open(cls, ws_url: str, token: str) -> "LiveSocket":
        return cls(await websockets.connect(f"{ws_url}?token={token}", max_size=2**22))

    async def close(self) -> None:
        await self.connection.close()

    async def request(
        self, stream: str, action: str, timeout: float = TIMEOUT, **payload: Any
    ) -> dict:
        payload.setdefault("request_id", f"live{next(_ids)}")
        payload["action"] = action
        await self.connection.send(json.dumps({"stream": stream, "payload": payload}))
        rid = payload["request_id"]
        return await self.wait_for(
            lambda f: f["stream"] == stream
            and f["payload"]["request_id"] == rid
            and f["payload"]["action"] == action,
            timeout,
        )

    async def push(self, stream: str, request_id: Any, timeout: float = TIMEOUT) -> dict:
        return await self.wait_for(
            lambda f: f["stream"] == stream
            and f["payload"]["request_id"] == request_id
            and f["payload"]["action"] in {"create", "update", "delete"},
            timeout,
        )

    async def wait_for(self, matches: Any, timeout: float = TIMEOUT) -> dict:
        for frame in list(self.inbox):
            if matches(frame):
                self.inbox.remove(frame)
                return frame
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.connection.recv())
                if matches(frame):
                    return frame
                self.inbox.append(frame)
