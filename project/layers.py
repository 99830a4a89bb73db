"""The in-memory channel layer (embedded default), with its dropped messages made visible."""

import asyncio
import logging
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

logger = logging.getLogger("parley.delivery")

# Channels sweeps every channel and group membership of the process for expired entries on each
# receive and group send, so one broadcast to N sockets cost N full sweeps (bench/README.md).
# Messages expire after a minute and group memberships after a day: a sweep a second loses
# nothing anyone could notice.
SWEEP_INTERVAL_SECONDS = 1.0


class LoggingInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer; a group send to a full channel is logged at WARNING.

    The stock layer drops it without a word, and a dropped push may be a call that never rings.
    Expired entries are swept at most once a second instead of on every receive.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.swept_at = -SWEEP_INTERVAL_SECONDS

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self.swept_at >= SWEEP_INTERVAL_SECONDS:
            self.swept_at = now
            super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        channels = list(self.groups.get(group, {}))
        results = await asyncio.gather(
            *(self.send(channel, message) for channel in channels), return_exceptions=True
        )
        for channel, result in zip(channels, results, strict=True):
            if isinstance(result, ChannelFull):
                logger.warning(
                    "Channel %s is full: %s to %s dropped", channel, message.get("type"), group
                )
            elif isinstance(result, BaseException):
                raise result
