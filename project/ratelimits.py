"""Per-user rate limits, counted in the cache so every worker shares them (Redis past one
process): a burst of ``burst`` actions per window of ``seconds``, then 429 until it ends.

Settings (``PARLEY``): ``<KIND>_BURST`` and ``<KIND>_BURST_SECONDS`` per kind below, from the
environment as ``PARLEY_<KIND>_BURST`` / ``PARLEY_<KIND>_BURST_SECONDS``.
"""

import time

from django.conf import settings

from project import counters, metrics
from project.errors import RateLimited

# What a refused action says, per kind of action.
MESSAGES = {
    "MESSAGE": "You are sending messages too fast.",
    "ROOM": "You are creating rooms too fast.",
    "INVITE": "You are inviting people too fast.",
    "CALL": "You are placing calls too fast.",
    "TYPING": "You are sending typing signals too fast.",
    "QUALITY": "You are sending call quality reports too fast.",
}


def count(kind: str, *, user_id: int) -> None:
    """Count one action of ``kind`` by ``user_id``; ``RateLimited`` if over the burst."""
    burst = settings.PARLEY[f"{kind}_BURST"]
    seconds = max(1, settings.PARLEY[f"{kind}_BURST_SECONDS"])
    now = time.time()
    window = int(now // seconds)
    if counters.hit(f"{kind.lower()}s:{user_id}:{window}", ttl=seconds + 1) > burst:
        metrics.child(metrics.RATE_LIMITED, kind.lower()).inc()
        raise RateLimited(MESSAGES[kind], wait=(window + 1) * seconds - now)
