"""Giving memory back to the system after a crowd of sockets has gone.

glibc's malloc keeps what Python frees in its heaps for reuse: a process that held 5,000
sockets still held most of their memory after they closed (425 MiB, against 198 MiB once
trimmed; bench/README.md), and the figure crept up with each crowd. ``malloc_trim`` returns
the free pages, once the collector has freed the cycles closed sockets leave; the trim runs in a
thread (it walks the heap) ``TRIM_SECONDS`` after the last of a burst of at least
``TRIM_AFTER`` sockets ended. Elsewhere than glibc it does nothing.
"""

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from typing import Any

logger = logging.getLogger(__name__)

TRIM_AFTER = 1000  # sockets ended since the last trim
TRIM_SECONDS = 1.0  # after the last of them: the storm of closes is over

_libc: Any = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _libc.malloc_trim.argtypes = [ctypes.c_size_t]
except (OSError, AttributeError):  # not glibc
    _libc = None


class Trimmer:
    """Counts sockets that ended; trims once a burst of them is over."""

    def __init__(self) -> None:
        self.ended = 0
        self.timer: asyncio.TimerHandle | None = None

    def socket_ended(self) -> None:
        """A socket's task is finishing (all it held is about to be freed)."""
        if _libc is None:
            return
        self.ended += 1
        if self.ended >= TRIM_AFTER:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = asyncio.get_running_loop().call_later(TRIM_SECONDS, self.trim)

    def trim(self) -> None:
        logger.debug("Returning freed memory to the system after %d sockets ended", self.ended)
        self.ended, self.timer = 0, None
        # Closed sockets leave reference cycles (protocols, transports, frames) that only the
        # collector frees; trimming before it has run would return nothing.
        gc.collect()
        asyncio.get_running_loop().run_in_executor(None, _libc.malloc_trim, 0)


trimmer = Trimmer()
