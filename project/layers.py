"""The in-memory channel layer (embedded default), with its dropped messages made visible."""

import asyncio
import logging
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

logger = logging.getLogger("parley.delivery")


class LoggingInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer; a group send to a full channel is logged at WARNING.

    The stock layer drops it without a word, and a dropped push may be a call that never rings.
    """

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
