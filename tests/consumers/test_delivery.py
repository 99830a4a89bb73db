"""A push that cannot be delivered is logged; the write it follows still succeeds."""

import logging
from collections.abc import Iterator

import pytest

from project.outage import redis_outage
from rooms import services

pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]},
    }
}


@pytest.fixture
def outage_forgotten() -> Iterator[None]:
    """The process's record of a Redis outage (and its probe) ends with the test."""
    yield
    redis_outage.since = None


def test_push_that_cannot_reach_the_layer_is_logged_and_the_write_stands(
    alice, settings, caplog, outage_forgotten
):
    room = services.room_create(owner=alice, name="general", title="G")
    settings.CHANNEL_LAYERS = UNREACHABLE_REDIS
    with caplog.at_level(logging.WARNING):
        message, created = services.message_create(
            author=alice, room_id=room.pk, body="still saved"
        )
    assert created and message.pk
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [text for text in said if "Redis is unreachable" in text] != []
