"""The server's call clock: rings out, notices absent parties and ends abandoned calls.

Every worker runs one; the services lock each call they change, so two clocks never act twice.
It runs at startup too, so after a restart no call is left ringing past its lifetime.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from calls import services

logger = logging.getLogger(__name__)


def tick() -> None:
    """One beat, with the connection hygiene a long-lived thread needs."""
    close_old_connections()
    try:
        services.calls_tick()
    finally:
        close_old_connections()


async def run_clock() -> None:
    """Beat until cancelled; a failing beat is logged and the clock goes on."""
    while True:
        try:
            await sync_to_async(tick, thread_sensitive=False)()
        except Exception:
            logger.exception("Call clock beat failed")
        await asyncio.sleep(settings.PARLEY["CALL_CLOCK_SECONDS"])
