"""The unmodified npm ``dcrf-client`` 0.3.0, the JS client of Parley, against a live uvicorn."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.live.conftest import guest

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PACKAGE = Path(__file__).resolve().parent / "dcrf_client"
INSTALL_TIMEOUT = 90
SCENARIO_TIMEOUT = 60
# What scenario.js reports, in order, when everything worked.
STEPS = [
    "room_crud",
    "room_update_pushed",
    "message_create_pushed",
    "message_listed",
    "message_delete_pushed",
    "room_delete_pushed",
    "closed",
]


@pytest.fixture
def node() -> str:
    """``node``, with the locked npm packages installed (before any server starts)."""
    node, npm = node_tools()
    if install_is_stale():
        install_packages(npm)
    return node


def node_tools() -> tuple[str, str]:
    """Paths of ``node`` and ``npm``; without them the test cannot run (fails in CI)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        service_missing("needs Node.js (node and npm on PATH) to run the npm dcrf-client")
    assert node and npm
    return node, npm


def install_is_stale() -> bool:
    """node_modules is missing, or older than the lockfile it should match."""
    installed = PACKAGE / "node_modules" / ".package-lock.json"
    lockfile = PACKAGE / "package-lock.json"
    return not installed.exists() or installed.stat().st_mtime < lockfile.stat().st_mtime


def install_packages(npm: str) -> None:
    """``npm ci``: exactly the locked versions, so the client under test is 0.3.0 as published."""
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=PACKAGE, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )
    assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"


def run_scenario(node: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run scenario.js; it bounds each wait itself, the timeout here is the last resort."""
    try:
        return subprocess.run(
            [node, "scenario.js"],
            cwd=PACKAGE, env={**os.environ, **env}, capture_output=True, text=True,
            timeout=SCENARIO_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        # With text=True the partial output is text, but typeshed types it as bytes too.
        output = f"{exc.stdout!s}\n{exc.stderr!s}"
        pytest.fail(f"scenario.js hung for {SCENARIO_TIMEOUT} s:\n{output}")


# A first run may install the npm packages: more than the suite's 120 s per test.
@pytest.mark.timeout(INSTALL_TIMEOUT + SCENARIO_TIMEOUT + 60)
def test_unmodified_dcrf_client_does_crud_and_subscriptions(node, uvicorn_server):
    env = {
        "PARLEY_WS_URL": uvicorn_server.ws_url,
        "ALICE_TOKEN": guest(uvicorn_server, "Alice")["token"],
        "BOB_TOKEN": guest(uvicorn_server, "Bob")["token"],
    }

    result = run_scenario(node, env)

    assert result.returncode == 0, (
        f"scenario.js exited {result.returncode}\n--- stdout\n{result.stdout}"
        f"--- stderr\n{result.stderr}--- server log (tail)\n"
        f"{uvicorn_server.log.read_text()[-4000:]}"
    )
    assert steps_reported(result.stdout) == STEPS, result.stdout


def steps_reported(stdout: str) -> list[str]:
    """The names of the steps scenario.js reported done, one JSON line each."""
    return [json.loads(line)["step"] for line in stdout.splitlines() if line.startswith("{")]
