"""Counters in the cache, for rate limits: one round trip per hit on Redis."""

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def hit(key: str, *, ttl: int, alias: str = "default") -> int:
    """Add one to the counter ``key`` (kept for ``ttl`` seconds from its first hit); its value.

    Django's ``incr`` on Redis is EXISTS then INCR, plus a SET for a new key: two or three
    round trips for every post. On Redis, INCR and EXPIRE NX go in one pipeline instead: INCR
    creates the key and only its first EXPIRE sets the lifetime. Other caches (the local
    memory of one process) use Django's add and incr.
    """
    cache: Any = caches[alias]
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)
    try:
        return int(cache.incr(key))
    except ValueError:  # the first hit: add() only creates, so of two at once one adds
        return 1 if cache.add(key, 1, timeout=ttl) else int(cache.incr(key))
