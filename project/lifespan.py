"""ASGI lifespan: start the background work when a worker starts, stop it when it stops."""

import asyncio
import contextlib
from typing import Any

from calls.clock import run_clock
from presence.tracker import tracker
from project import metrics


class Lifespan:
    """Runs background work for as long as the server process serves."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # The call clock, and the sweeper that tells rooms about users of dead workers.
        tasks: list[asyncio.Task[None]] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                tasks = [asyncio.create_task(job()) for job in (run_clock, tracker.sweep)]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # The sockets are closed by now; let their departure be written.
                await tracker.settle(timeout=5)
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                metrics.worker_stopped()
                await send({"type": "lifespan.shutdown.complete"})
                return
