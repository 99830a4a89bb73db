"""Settings of the naive baseline app (``DJANGO_SETTINGS_MODULE=bench.naive.settings``).

Environment: NAIVE_DB (SQLite file, required), REDIS_URL (optional: channels-redis's default
list-based ``RedisChannelLayer``; else channels' ``InMemoryChannelLayer``), CHANNEL_PREFIX.

Deliberately the documented defaults, plus only what BASELINE.md found it needs to run at all
or at its best: WAL + persistent DB connections, and (Redis) a pool above redis-py 8's 100, a
socket timeout above the 5 s BZPOPMIN, and a per-process capacity above 100 queued messages.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "naive-bench-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "channels",
    "rest_framework",
    "bench.naive",
]
MIDDLEWARE: list = []
ROOT_URLCONF = "bench.naive.urls"
ASGI_APPLICATION = "bench.naive.asgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["NAIVE_DB"],
        "CONN_MAX_AGE": 600,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}

if os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": os.environ["REDIS_URL"],
                        "max_connections": 1000,
                        "socket_timeout": 30,
                    }
                ],
                "prefix": os.environ.get("CHANNEL_PREFIX", "naive"),
                "capacity": 10000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
