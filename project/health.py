"""``/healthz`` (the process answers) and ``/readyz`` (what it needs answers too), for load
balancers, orchestrators and people: JSON, no sign-in, no throttle, cheap.

Readiness makes one round trip to each service a request may need — the database (``SELECT 1``)
and the channel layer (a message sent to a fresh channel and received back, through Redis past
one process) — each within ``PARLEY_READY_TIMEOUT_SECONDS``. A service that fails or is slow
is named in a 503, so a balancer stops sending sockets to this worker until it answers again.
"""

import asyncio
import itertools
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from project.metrics import allowed
from project.version import PROTOCOL_VERSION


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and its event loop answers."""
    return JsonResponse({"status": "ok", "protocol_version": PROTOCOL_VERSION})


@never_cache
async def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the channel layer each answer a round trip in time; else
    503 naming the one that did not (and why)."""
    bound = settings.PARLEY["READY_TIMEOUT_SECONDS"]
    names = ("database", "channel_layer")
    results = await asyncio.gather(
        *(timed(check, bound) for check in (database_round_trip, channel_layer_round_trip))
    )
    checks = dict(zip(names, results, strict=True))
    ready = all(check["ok"] for check in checks.values())
    if not allowed(request):
        # What failed is said to everyone; why (host names, users) only to the operators'
        # addresses or token (PARLEY_METRICS_ALLOW / PARLEY_METRICS_TOKEN).
        for check in checks.values():
            check.pop("error", None)
    body = {
        "status": "ready" if ready else "unavailable",
        "protocol_version": PROTOCOL_VERSION,
        "checks": checks,
    }
    return JsonResponse(body, status=200 if ready else 503)


async def timed(check: Callable[[], Awaitable[None]], bound: float) -> dict[str, Any]:
    """``{"ok", "ms"}``, and ``"error"`` when the check failed or took longer than ``bound``."""
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), bound)
    except TimeoutError:
        return {"ok": False, "ms": round(bound * 1000), "error": f"no answer within {bound} s"}
    except Exception as exc:  # what the client library said, without a traceback
        return {"ok": False, "ms": elapsed(started), "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "ms": elapsed(started)}


def elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@database_sync_to_async
def database_round_trip() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


class Probe:
    """One channel per event loop for every readiness check: a new channel per check would
    leave a subscription behind in Redis each time (channels-redis drops it only when a
    receive is cancelled). Checks take turns; each ping carries a number, so a late answer to
    an earlier check is skipped."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.channel: str | None = None
        self.numbers = itertools.count()

    async def round_trip(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("no channel layer is configured")
        async with self.lock:
            try:
                if self.channel is None:
                    self.channel = await layer.new_channel("readyz.")
                number = next(self.numbers)
                await layer.send(self.channel, {"type": "readyz.ping", "number": number})
                while (await layer.receive(self.channel)).get("number") != number:
                    pass
            except BaseException:
                self.channel = None  # a cancelled receive ends the channel's subscription
                raise


_probes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Probe]" = (
    weakref.WeakKeyDictionary()
)


async def channel_layer_round_trip() -> None:
    loop = asyncio.get_running_loop()
    probe = _probes.get(loop)
    if probe is None:
        probe = _probes[loop] = Probe()
    await probe.round_trip()
