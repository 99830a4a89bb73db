"""The examples and the README's terminal session run as written against a live uvicorn."""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.live.server import ROOT, LiveServer
from tests.test_examples import STEPS, readme_section

pytestmark = pytest.mark.live

NODE_EXAMPLE = ROOT / "examples" / "node"
INSTALL_TIMEOUT = 90
RUN_TIMEOUT = 20


def run_example(command: list[str], cwd: Path, server: LiveServer) -> dict[str, int]:
    """Run an example against ``server``; the message ids it printed, once it exited 0."""
    try:
        result = subprocess.run(
            command, cwd=cwd, env={**os.environ, "PARLEY_URL": server.url},
            capture_output=True, text=True, timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{command} hung for {RUN_TIMEOUT} s:\n{exc.stdout!s}\n{exc.stderr!s}")
    report = f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"{command} exited {result.returncode}\n{report}"
    lines = result.stdout.splitlines()
    assert len(lines) == len(STEPS), report
    ids: dict[str, int] = {}
    for line, step in zip(lines, STEPS, strict=True):
        match = re.fullmatch(step, line)
        assert match, f"{line!r} is not {step!r}\n{report}"
        ids.update({name: int(value) for name, value in match.groupdict().items()})
    return ids


def node_with_example_packages() -> str:
    """``node``, once examples/node has the locked packages (``npm ci`` if missing or stale)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        service_missing("needs Node.js (node and npm on PATH) to run examples/node/chat.mjs")
    assert node and npm
    installed = NODE_EXAMPLE / "node_modules" / ".package-lock.json"
    lockfile = NODE_EXAMPLE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lockfile.stat().st_mtime:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_EXAMPLE, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return node


@pytest.fixture
def node() -> str:
    """Installed before the server starts, so the install is not counted against the run."""
    return node_with_example_packages()


def assert_catches_up(ids: dict[str, int]) -> None:
    """Bob's message posted while Ada was away is the one she caught up, after her own."""
    assert ids["sent"] < ids["missed"] == ids["caught_up"] < ids["welcome"], ids


def test_python_example_chats_and_catches_up_after_a_reconnect(uvicorn_server):
    ids = run_example([sys.executable, "examples/python/chat.py"], ROOT, uvicorn_server)

    assert_catches_up(ids)


# A first run may install the npm packages: more than the suite's 120 s per test.
@pytest.mark.timeout(INSTALL_TIMEOUT + 60)
def test_node_example_on_dcrf_client_chats_and_catches_up_after_a_reconnect(
    node, uvicorn_server
):
    ids = run_example([node, "chat.mjs"], NODE_EXAMPLE, uvicorn_server)

    assert_catches_up(ids)


def test_readme_terminal_session_works_as_pasted(uvicorn_server):
    """The sign-in and websockets block, then the frame pasted at the prompt, get a reply."""
    if not shutil.which("curl"):
        service_missing("needs curl, which the README's terminal session signs in with")
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in this checkout: the README's session runs its websockets")
    shell, frame = readme_section_blocks()
    port = f"127.0.0.1:{uvicorn_server.port}"
    session = subprocess.Popen(
        ["bash", "-c", shell.replace("127.0.0.1:8000", port)], cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        assert session.stdin
        session.stdin.write(frame + "\n")
        session.stdin.flush()
        output = read_until(session, '"request_id":1}}', timeout=RUN_TIMEOUT)
        session.stdin.close()  # Ctrl-D: the client closes the socket and exits
        session.wait(timeout=10)
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)  # bash and the client it started
            session.wait()

    assert f"Connected to ws://{port}/ws/?token=" in output, output
    reply = re.search(r"< (\{.*\"request_id\":1\}\})", output)
    assert reply and '"action":"create","response_status":201' in reply[1], output


def readme_section_blocks() -> tuple[str, str]:
    """The README's interactive session: its sign-in block and the frame to paste."""
    blocks = readme_section()
    shell = next(body for lang, body in blocks if lang == "sh" and "-m websockets" in body)
    frame = next(body for lang, body in blocks if lang == "json")
    return shell, frame


def read_until(process: subprocess.Popen, marker: str, timeout: float) -> str:
    """What ``process`` printed up to the line holding ``marker`` (or all of it, at timeout)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    output = ""
    try:
        while marker not in output:
            output += lines.get(timeout=max(0, deadline - time.monotonic()))
    except queue.Empty:
        pass
    return output
