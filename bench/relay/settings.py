"""The seed's signaling relay: Django + channels, no database (the Django Girls workshop)."""

import os

SECRET_KEY = "bench-relay-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["channels"]
ROOT_URLCONF = "bench.naive.urls"
ASGI_APPLICATION = "bench.relay.asgi.application"
DATABASES: dict = {}
USE_TZ = True
if os.environ.get("REDIS_URL"):
    # As Parley's: the pub/sub layer, its pool sized for bursts (BASELINE.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": os.environ["REDIS_URL"], "max_connections": 1000}],
                "prefix": os.environ.get("CHANNEL_PREFIX", "relay"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
