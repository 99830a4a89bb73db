"""Outages of Redis (the channel layer and the rate-limit counters past one process).

While Redis is down, what needs it answers 503 "try again" (``project.errors``), pushes that
cannot go out are counted, and the log says so twice: once when the outage is noticed, once
when Redis answers again, with how long it lasted and what failed meanwhile. Not a traceback
per request: the first run of a Redis outage measured 106 traceback lines for 47 posts in 5 s.
"""

import logging
import threading
import time
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from project import metrics

logger = logging.getLogger("parley.outage")

# What redis-py raises (sync and asyncio alike) when Redis cannot be reached or does not answer.
REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
PROBE_SECONDS = 1.0


class Outage:
    """One outage of Redis at a time: when it began, and how many operations it failed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def noticed(self, exc: BaseException | None) -> bool:
        """Whether ``exc`` says Redis could not be reached (not a bug, not a bad command); if
        so it counts towards the outage, and the caller says nothing more."""
        if not isinstance(exc, REDIS_DOWN):
            return False
        metrics.CHANNEL_LAYER_ERRORS.inc()
        self.failed(exc)
        return True

    def failed(self, exc: BaseException) -> None:
        """An operation failed because Redis is unreachable: said once per outage."""
        with self.lock:
            self.failures += 1
            if self.since is not None:
                return
            self.since = time.monotonic()
        logger.error(
            "Redis is unreachable (%s): requests that need it answer 503 until it is back",
            exc,
        )
        threading.Thread(target=self.probe, name="redis-outage-probe", daemon=True).start()

    def probe(self) -> None:
        """Ask Redis every second until it answers, then say how long it was away."""
        from redis import Redis

        urls = redis_urls()
        while self.down and urls:
            time.sleep(PROBE_SECONDS)
            try:
                for url in urls:
                    Redis.from_url(url, socket_timeout=PROBE_SECONDS).ping()
            except REDIS_DOWN:
                continue
            self.recovered()

    def recovered(self) -> None:
        with self.lock:
            if self.since is None:
                return
            lasted, failures = time.monotonic() - self.since, self.failures
            self.since, self.failures = None, 0
        logger.warning(
            "Redis is reachable again after %.1f s; %d operations failed meanwhile",
            lasted,
            failures,
        )


redis_outage = Outage()


def redis_urls() -> list[str]:
    """Every Redis Parley is configured with: the channel layer's and the cache's."""
    from django.conf import settings

    layers: Any = settings.CHANNEL_LAYERS
    caches: Any = settings.CACHES
    config = layers.get("default", {}).get("CONFIG", {})
    urls = [
        host if isinstance(host, str) else host["address"]
        for host in config.get("hosts", [])
        if isinstance(host, str) or "address" in host
    ]
    cache = caches.get("default", {})
    if "redis" in cache.get("BACKEND", "").lower():
        urls.append(cache["LOCATION"])
    return list(dict.fromkeys(urls))


class RedisOutageFilter(logging.Filter):
    """For libraries that log every failed Redis call with a traceback (channels_redis's
    receive loop does, each second): count it towards the outage instead of printing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if redis_outage.noticed(record.exc_info[1] if record.exc_info else None):
            return False
        # Django logs every 5xx response; the outage's 503s are said once, as above.
        return not (getattr(record, "status_code", None) == 503 and redis_outage.down)
