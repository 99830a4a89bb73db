"""Frames on the wire: each encoded once, pushes encoded once per process, not per subscriber.

A push to N sockets of a process differs between them only by the subscription's
``request_id``, the payload's last key. While the hub delivers one event, the encoded frame up
to that key is kept (``delivering``), and each subscriber's frame is that prefix, its
``request_id`` and the closing braces: the same bytes as encoding the whole frame, without
encoding the data again.
"""

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_encoder = json.JSONEncoder(separators=(",", ":"), default=str)
encode = _encoder.encode
"""Compact JSON: the same frames, fewer bytes per push."""
json_loads = json.loads


def is_unicode(value: Any) -> bool:
    """Whether every string in a decoded frame is text (no unpaired surrogate, which no
    database or client could take)."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


# Frame prefixes of the event being delivered, by the identity of its data (the data object is
# kept with its prefix, so the identity cannot be reused meanwhile).
_prefixes: ContextVar[dict[tuple[Any, ...], tuple[Any, str]] | None] = ContextVar(
    "parley_frame_prefixes", default=None
)


@contextlib.contextmanager
def delivering() -> Iterator[None]:
    """While one event goes to every local subscriber: reuse the encoding of its data."""
    token = _prefixes.set({})
    try:
        yield
    finally:
        _prefixes.reset(token)


def payload_frame(
    stream: str | None,
    *,
    errors: list[Any],
    data: Any,
    action: str | None,
    status: int,
    request_id: Any,
) -> str:
    """``{"stream": ..., "payload": DCRF's reply}``, compact, keys in DCRF's order."""
    prefixes = _prefixes.get()
    if prefixes is None or errors:
        return _prefix(stream, errors, data, action, status) + encode(request_id) + "}}"
    key = (id(data), stream, action, status)
    cached = prefixes.get(key)
    if cached is None or cached[0] is not data:
        cached = prefixes[key] = (data, _prefix(stream, errors, data, action, status))
    return cached[1] + encode(request_id) + "}}"


def _prefix(stream: str | None, errors: list[Any], data: Any, action: Any, status: int) -> str:
    return (
        '{"stream":' + encode(stream)
        + ',"payload":{"errors":' + encode(errors)
        + ',"data":' + encode(data)
        + ',"action":' + encode(action)
        + ',"response_status":' + encode(status)
        + ',"request_id":'
    )
