"""Parley settings, read from the environment (12-factor).

Embedded default: SQLite in WAL mode and the in-memory channel layer in one process.
Past one machine: DATABASE_URL=postgres://... and REDIS_URL=redis://... on every worker.
"""

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean from the environment ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated list from the environment."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """Read an integer from the environment."""
    return int(os.environ.get(name, default))


def env_networks(name: str, default: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Read comma-separated addresses or networks (``10.0.0.0/8``); a bad one stops the start."""
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name, default)]
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated addresses or networks like 10.0.0.0/8; {error}."
        ) from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Read one of ``choices`` from the environment; anything else stops the start, named."""
    value = os.environ.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


# Off unless asked for: an unset environment must never serve debug pages (`make run`, the
# development server, asks for it).
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development a generated key kept in .secret_key."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (it is off unless DEBUG=true; `make run` "
            "sets DEBUG=true for development)."
        )
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        # Exclusive create: two processes starting at once must not overwrite each other's key.
        try:
            with open(path, "x") as handle:
                handle.write(secrets.token_urlsafe(50))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rooms",
    "presence",
    "calls",
    "consumers",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "project.version.protocol_header",
]

# Every response says where its page may load anything from: Parley itself, nothing inline
# (the browser app and the API docs load their scripts and styles as files). SecurityMiddleware
# adds X-Content-Type-Options: nosniff and Referrer-Policy: same-origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],  # the socket: 'self' covers ws:// and wss:// of this host
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Persistent connections: without them every socket action opens a new connection
# (create p50 ~5 ms instead of ~2 ms, see BASELINE.md).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at
        # BEGIN so concurrent writers wait for it instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Live tests run uvicorn in another process: the test database must be a file it can open.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("PARLEY_TEST_DB", str(BASE_DIR / "test-db.sqlite3"))
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# A pooled Redis connection from before a Redis restart fails on its next use; one retry, at
# once, on a fresh connection saves that command (redis-py retries nothing by default).
REDIS_RETRY_ON_ERROR = [RedisConnectionError]
if REDIS_URL:
    # The pub/sub layer: one PUBLISH per group send, fanned out inside each process, and a
    # receive that is a plain queue read. The list-based RedisChannelLayer was tried first: its
    # shared BZPOPMIN receive swallowed cancellations (a closing socket's consumer hung until
    # the next message reached the process) and it drops group sends over ``capacity``.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py 8 caps its asyncio pool at 100 and fails the 101st
                        # concurrent command at once (BASELINE.md): size it for bursts.
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 1000),
                        "socket_connect_timeout": 5,
                        "health_check_interval": 30,
                        "retry_on_error": REDIS_RETRY_ON_ERROR,
                    }
                ],
                "prefix": os.environ.get("CHANNEL_PREFIX", "parley"),
            },
        }
    }
else:
    # One process only (development, tests): consumers/hub.py then delivers pushes to this
    # process's sockets itself, and the layer is never used.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache: the counters of the rate limits -----------------------------------------------------
# With several workers the counters must be shared, or each worker would grant the whole rate.
# The key prefix keeps apart deployments (and test runs) that share one Redis.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CHANNEL_PREFIX", "parley"),
            "OPTIONS": {"retry_on_error": REDIS_RETRY_ON_ERROR, "socket_connect_timeout": 5},
        }
    }

# --- Auth, REST ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "project.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "project.rest.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("PARLEY_AUTH_RATE", "60/minute")},
    # Throttles count per client address. DRF's default (None) takes X-Forwarded-For as sent,
    # so any client could name a new address per request. 0: the connection's address, which
    # uvicorn already rewrites from the headers of a trusted proxy (--forwarded-allow-ips);
    # N: the address N hops back in X-Forwarded-For, behind exactly N proxies that append it.
    "NUM_PROXIES": env_int("PARLEY_NUM_PROXIES", 0),
    # DRF's test client posts JSON, as Parley's clients do (sign-in takes nothing else).
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "REST twin of Parley's WebSocket API: rooms, memberships, messages, calls. "
    "The socket itself (/ws/: its streams, actions, pushes, errors and close codes) is described "
    "by an AsyncAPI 3.0 document: [/api/asyncapi.json](/api/asyncapi.json).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Serve Swagger UI from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
DJANGO_CHANNELS_REST_API = {
    "DEFAULT_PERMISSION_CLASSES": ("djangochannelsrestframework.permissions.IsAuthenticated",),
}

# --- Parley -----------------------------------------------------------------------------------
PARLEY: dict[str, Any] = {
    # Frames larger than this get a 413 error frame; the socket stays open.
    "MAX_FRAME_BYTES": env_int("PARLEY_MAX_FRAME_BYTES", 64 * 1024),
    # Frames waiting for a client that does not read (beyond what the kernel and uvicorn
    # buffer): past this the socket is closed with 4408 and what waited is dropped; a client
    # that then reads nothing for the grace is cut off.
    "SEND_BUFFER_BYTES": env_int("PARLEY_SEND_BUFFER_BYTES", 1024 * 1024),
    "SLOW_CLIENT_GRACE_SECONDS": env_int("PARLEY_SLOW_CLIENT_GRACE_SECONDS", 10),
    "MESSAGE_MAX_LENGTH": 4000,
    # A user may post this many messages per window (socket and REST together); more is 429.
    "MESSAGE_BURST": env_int("PARLEY_MESSAGE_BURST", 20),
    "MESSAGE_BURST_SECONDS": env_int("PARLEY_MESSAGE_BURST_SECONDS", 10),
    # The same kind of limit for other actions (project/ratelimits.py): more than a person
    # does, far less than a script would.
    "ROOM_BURST": env_int("PARLEY_ROOM_BURST", 10),
    "ROOM_BURST_SECONDS": env_int("PARLEY_ROOM_BURST_SECONDS", 60),
    "INVITE_BURST": env_int("PARLEY_INVITE_BURST", 30),
    "INVITE_BURST_SECONDS": env_int("PARLEY_INVITE_BURST_SECONDS", 60),
    "CALL_BURST": env_int("PARLEY_CALL_BURST", 10),
    "CALL_BURST_SECONDS": env_int("PARLEY_CALL_BURST_SECONDS", 60),
    "TYPING_BURST": env_int("PARLEY_TYPING_BURST", 30),
    "TYPING_BURST_SECONDS": env_int("PARLEY_TYPING_BURST_SECONDS", 10),
    # Call quality reports: a client samples every few seconds (ours: every 4 s).
    "QUALITY_BURST": env_int("PARLEY_QUALITY_BURST", 5),
    "QUALITY_BURST_SECONDS": env_int("PARLEY_QUALITY_BURST_SECONDS", 10),
    # Quality samples kept per call (both parties): the last 24 minutes at one per 4 s each.
    "QUALITY_SAMPLES_KEPT": env_int("PARLEY_QUALITY_SAMPLES_KEPT", 720),
    # Guests idle this many days are deactivated by `manage.py expire_guests` (run it daily).
    "GUEST_TTL_DAYS": env_int("PARLEY_GUEST_TTL", 30),
    "LIST_MAX_LIMIT": 100,
    # A worker that has not refreshed its heartbeat for this long is presumed dead and its
    # sockets no longer count as online.
    "WORKER_HEARTBEAT_SECONDS": env_int("PARLEY_WORKER_HEARTBEAT_SECONDS", 10),
    "WORKER_STALE_SECONDS": env_int("PARLEY_WORKER_STALE_SECONDS", 30),
    # Calls: how long an invite rings, how long a party may be gone before the call ends,
    # how often the server's call clock looks for either.
    "CALL_RING_SECONDS": env_int("PARLEY_CALL_RING_SECONDS", 60),
    # Whom a user may ring: people who share a room with them ("room-members"), or any active
    # user ("anyone": user ids are sequential, so a stranger can then find who exists).
    "CALLS_FROM": env_choice("PARLEY_CALLS_FROM", "room-members", ("room-members", "anyone")),
    "CALL_GRACE_SECONDS": env_int("PARLEY_CALL_GRACE_SECONDS", 30),
    "CALL_CLOCK_SECONDS": float(os.environ.get("PARLEY_CALL_CLOCK_SECONDS", "0.5")),
    "SDP_MAX_BYTES": env_int("PARLEY_SDP_MAX_BYTES", 32 * 1024),
    # /metrics answers these addresses (networks), and requests with this bearer token.
    # Loopback by default in development only: behind a proxy that does not say who the client
    # is, every request would come from loopback.
    "METRICS_ALLOW": env_networks("PARLEY_METRICS_ALLOW", "127.0.0.1/32,::1/128" if DEBUG else ""),
    "METRICS_TOKEN": os.environ.get("PARLEY_METRICS_TOKEN", ""),
    # /readyz: how long the database and the channel layer each have to answer a round trip.
    "READY_TIMEOUT_SECONDS": float(os.environ.get("PARLEY_READY_TIMEOUT_SECONDS", "2")),
    # STUN/TURN handed to clients by the `ice_servers` action. With a TURN secret, time-limited
    # credentials are issued per the coturn REST API scheme (use-auth-secret).
    "STUN_URLS": env_list("PARLEY_STUN_URLS", ""),
    "TURN_URLS": env_list("PARLEY_TURN_URLS", ""),
    "TURN_SECRET": os.environ.get("PARLEY_TURN_SECRET", ""),
    "TURN_TTL_SECONDS": env_int("PARLEY_TURN_TTL_SECONDS", 24 * 3600),
}

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG or not (STATIC_ROOT / "staticfiles.json").exists():
    # Before collectstatic (a fresh checkout, the test suite) pages name the files as the apps
    # hold them, served from there; after it, the hashed, compressed, long-cached copies.
    STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }

# Serve app static files straight from their apps too, so a fresh checkout works without
# collectstatic; `make run` still collects them for the compressed, cached copies.
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
# Where TLS ends at Parley itself. Behind a proxy that terminates TLS, the proxy redirects
# http:// and sends Strict-Transport-Security (see README, "Running it for real").
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# PARLEY_LOG_FORMAT=json: one JSON object per line (python-json-logger), each socket action
# included (logger parley.actions: socket, user, stream, action, status, duration_ms).
LOG_FORMAT = env_choice("PARLEY_LOG_FORMAT", "text", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "filters": {
        "redact_tokens": {"()": "project.logfilters.RedactTokens"},
        "redis_outage": {"()": "project.outage.RedisOutageFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redis_outage", "redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A line per socket action: in the JSON log (for log search), not in the plain one.
        "parley.actions": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
        # Django logs each 5xx response; through this handler, an outage's 503s are not.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # uvicorn's access and error lines print the socket URL, ?token= included.
        "uvicorn.access": {"handlers": ["console"], "propagate": False},
        "uvicorn.error": {"handlers": ["console"], "propagate": False},
    },
}
