"""A running call clock for the call tests."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from calls.clock import run_clock


@pytest.fixture
async def call_clock(settings) -> AsyncIterator[None]:
    """The server's call clock, beating fast, with a short ring and grace for the test."""
    settings.PARLEY = {
        **settings.PARLEY,
        "CALL_RING_SECONDS": 1,
        "CALL_GRACE_SECONDS": 1,
        "CALL_CLOCK_SECONDS": 0.1,
    }
    task = asyncio.create_task(run_clock())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
