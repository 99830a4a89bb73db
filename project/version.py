"""The version of Parley's socket protocol (docs/protocol.md, "Versions"), stated by
``/readyz``, ``/healthz``, the ``Parley-Protocol`` header of every HTTP response and of the
socket's handshake, and the AsyncAPI document.

MAJOR changes only when a change would break a client written for the previous version (a
frame, field or action removed or changing meaning); MINOR for additions (a new stream, action,
field or push), which clients must ignore when they do not know them.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

PROTOCOL_VERSION = "1.0"
HEADER = "Parley-Protocol"
# The socket's handshake response carries it too (ASGI headers: lower-case bytes).
ACCEPT_HEADERS = [(HEADER.lower().encode(), PROTOCOL_VERSION.encode())]


def protocol_header(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Middleware: every HTTP response says which protocol version this server speaks."""
    if iscoroutinefunction(get_response):

        async def middleware(request: Any) -> Any:
            response = await get_response(request)
            response[HEADER] = PROTOCOL_VERSION
            return response

        markcoroutinefunction(middleware)
    else:

        def middleware(request: Any) -> Any:  # type: ignore[misc]
            response = get_response(request)
            response[HEADER] = PROTOCOL_VERSION
            return response

    return middleware


protocol_header.sync_capable = True  # type: ignore[attr-defined]
protocol_header.async_capable = True  # type: ignore[attr-defined]
