"""ASGI lifespan: start the call clock when a worker starts, stop it when it stops."""

import asyncio
import contextlib
from typing import Any

from calls.clock import run_clock


class Lifespan:
    """Runs background work for as long as the server process serves."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        clock: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                clock = asyncio.create_task(run_clock())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if clock is not None:
                    clock.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await clock
                await send({"type": "lifespan.shutdown.complete"})
                return
