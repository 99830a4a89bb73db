"""A push that cannot be delivered is logged at WARNING; the write it follows still succeeds."""

import logging

import pytest

from rooms import services

pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]},
    }
}


def test_push_that_cannot_reach_the_layer_is_logged_and_the_write_stands(alice, settings, caplog):
    room = services.room_create(owner=alice, name="general", title="G")
    settings.CHANNEL_LAYERS = UNREACHABLE_REDIS
    with caplog.at_level(logging.WARNING, logger="parley.delivery"):
        message, created = services.message_create(
            author=alice, room_id=room.pk, body="still saved"
        )
    assert created and message.pk
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("could not be delivered" in r.getMessage() for r in warnings)
