"""An unset environment is production-safe: no debug pages, no invented secrets."""

import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.live.server import ROOT, uvicorn


def production(**env: str) -> dict[str, str]:
    """The environment of a production host that set only what it must."""
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return {**base, "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "chat.example.com", **env}


def deploy_warnings(env: dict[str, str]) -> list[str]:
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    return re.findall(r"\((security\.\w+)\)", checked.stdout + checked.stderr)


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_an_unset_debug_serves_no_debug_page(tmp_path):
    with uvicorn(tmp_path, "production", extra_env={"DEBUG": None}) as server:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url + "/no-such-page/", timeout=10)
        page = missing.value.read().decode()
    assert missing.value.code == 404
    assert "URLconf" not in page and "api/" not in page


def test_without_debug_a_missing_secret_key_is_a_clear_error_not_a_made_up_key():
    env = production()
    del env["SECRET_KEY"]
    started = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )
    assert started.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in started.stderr


def test_the_deploy_check_leaves_only_what_a_tls_proxy_does():
    # Behind a proxy that terminates TLS, the proxy redirects http:// and sends HSTS
    # (README, "Running it for real"); Parley does it itself when asked to.
    assert sorted(deploy_warnings(production())) == ["security.W004", "security.W008"]
    assert deploy_warnings(production(
        SECURE_SSL_REDIRECT="true", SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true", SECURE_HSTS_PRELOAD="true",
    )) == []


def test_an_unknown_calls_policy_stops_the_start_and_names_the_variable():
    started = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT,
        env=production(PARLEY_CALLS_FROM="everybody"), capture_output=True, text=True, timeout=60,
    )
    assert started.returncode != 0
    assert "PARLEY_CALLS_FROM must be one of room-members, anyone; got 'everybody'" in (
        started.stderr
    )
