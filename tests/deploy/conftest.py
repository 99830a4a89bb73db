"""The reference deployment: PostgreSQL, Redis, nginx and openssl, or a clear reason why not."""

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import service_missing
from tests.deploy.recipe import SERVER_NAME, Deployment, deployment, nginx_binary
from tests.live.conftest import redis_url  # noqa: F401 (a fixture: Redis, or why not)
from tests.live.server import test_database_url


def needs_the_recipes_services() -> None:
    """Skip without PostgreSQL (CI runs the suite a second time on it); without nginx or
    openssl, skip outside CI and fail in it."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the reference deployment runs over PostgreSQL: set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley (CI's second run does)"
        )
    if nginx_binary() is None:
        service_missing("needs nginx: apt-get install nginx (.ci/run installs it)")
    if shutil.which("openssl") is None:
        service_missing("needs openssl for the test's certificate: apt-get install openssl")


def worker_environment(redis: str, changes: dict[str, str]) -> dict[str, str]:
    """What /etc/parley/parley.env would hold, for the test database and Redis; DEBUG off."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": SERVER_NAME,
        # Empty: a page's Origin passes only when the workers see the client's scheme and host.
        "CSRF_TRUSTED_ORIGINS": "",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis,
        "CHANNEL_PREFIX": f"parley-{uuid.uuid4().hex[:8]}",
        "PARLEY_AUTH_RATE": "100000/minute",
        "PYTHONUNBUFFERED": "1",
        **changes,
    }
    env.pop("DEBUG", None)
    return env


@pytest.fixture
def deployed(
    request: pytest.FixtureRequest,
    transactional_db: None,
    tmp_path: Any,
    redis_url: str,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Deployment]:
    """deploy/ on free ports; an ``indirect`` parameter changes the workers' environment."""
    needs_the_recipes_services()
    env = worker_environment(redis_url, getattr(request, "param", {}))
    with deployment(tmp_path, env) as deployed:
        # The test's clients (urllib, websockets, http.client) trust its certificate, only it.
        monkeypatch.setenv("SSL_CERT_FILE", str(deployed.certificate))
        yield deployed
