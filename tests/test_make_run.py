"""``make run`` as a newcomer meets it: it says where it serves only once it does, a taken port
says so, stopping it is quiet and a success; the first run says how many packages it installs
(counted here); ``npm ci`` runs only for a changed lock file; installing Parley warns of nothing.

The serve step runs from this checkout (``-o`` skips installing and building: other tests cover
those) against a database of its own.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import service_missing
from tests.live.server import ROOT, free_port

pytestmark = pytest.mark.live

MAKEFILE = ROOT / "Makefile"
NOISE = ("make: ***", "Terminated", "Interrupt", "Error", "Traceback")
# Setuptools' warnings are classes (BuildBackendWarning, SetuptoolsDeprecationWarning…); pip's own
# "WARNING:" lines are this machine's configuration, not Parley's.
WARNING_CLASS = re.compile(r"[A-Z][a-z]+\w*Warning\b")


@pytest.fixture
def make() -> str:
    found = shutil.which("make")
    if not found:
        pytest.skip("make is not installed: `make run` cannot be tried")
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in this checkout: `make run` serves from it")
    return found


def make_env(tmp_path: Path) -> dict[str, str]:
    """A person's environment: no outer make's flags, the in-memory channel layer, a database
    of this test's own."""
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("MAKE", "MFLAGS")) and name != "REDIS_URL"
    }
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return env


def serve_command(make: str, port: int) -> list[str]:
    return [make, "run", "-o", ".venv/.installed", "-o", "frontend", f"PORT={port}"]


def serving_line(port: int) -> str:
    return f"Parley is serving on http://127.0.0.1:{port}/"


@pytest.fixture
def running(make: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """``make run`` answering HTTP on a free port, in a session of its own (like a terminal's
    job); killed at the end if a test left it running."""
    port, log = free_port(), tmp_path / "make-run.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            serve_command(make, port), cwd=ROOT, env=make_env(tmp_path),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_http(process, port, log)
        yield process, port, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_http(process: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"make run did not answer HTTP:\n{log.read_text()[-4000:]}")


def serve_step(make_pid: int) -> int:
    """The process make runs for the recipe's last line (its only child by then)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == make_pid:
            children.append(int(stat.parent.name))
    assert len(children) == 1, f"make has children {children}"
    return children[0]


def stopped(process: subprocess.Popen, log: Path) -> str:
    process.wait(timeout=20)
    return log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_server_is_a_quiet_success(running, signum):
    process, port, log = running

    os.kill(serve_step(process.pid), signum)
    output = stopped(process, log)

    assert process.returncode == 0, output
    assert "Parley has stopped." in output
    assert output.count(serving_line(port)) == 1
    assert not [noise for noise in NOISE if noise in output], output


def test_ctrl_c_in_a_terminal_stops_everything_without_noise(running):
    """A terminal sends SIGINT to make too: GNU make then ends by that signal itself (the shell
    shows no message), whatever its recipe did; the server still stops cleanly."""
    process, _, log = running

    os.killpg(process.pid, signal.SIGINT)
    output = stopped(process, log)

    assert process.returncode in {0, -signal.SIGINT}, output
    assert "Parley has stopped." in output
    assert not [noise for noise in NOISE if noise in output], output


def test_a_busy_port_says_so_and_fails(make, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            serve_command(make, port), cwd=ROOT, env=make_env(tmp_path),
            capture_output=True, text=True, timeout=60,
        )
    output = result.stdout + result.stderr

    assert result.returncode != 0
    assert f"Port {port} is already in use" in output
    assert f"make run PORT={port + 1}" in output
    assert "serving" not in output
    assert "Traceback" not in output


def test_npm_ci_runs_only_when_the_lock_file_changed(make):
    if not shutil.which("npm"):
        pytest.skip("npm is not installed: make run skips the browser app")
    installed = ROOT / "frontend" / "node_modules" / ".package-lock.json"
    lockfile = ROOT / "frontend" / "package-lock.json"
    stale = not installed.exists() or installed.stat().st_mtime < lockfile.stat().st_mtime

    def plan(*flags: str) -> str:
        dry_run = [make, "--dry-run", "--no-print-directory", "frontend", *flags]
        return subprocess.run(dry_run, cwd=ROOT, capture_output=True, text=True).stdout

    assert ("npm ci" in plan()) == stale
    assert "npm ci" in plan("--what-if", "frontend/package-lock.json")
    assert "npm run --silent build" in plan()


def requirement_closure(name: str) -> set[str]:
    """The distributions installing ``name`` brings, itself excluded (extras followed)."""
    seen: set[tuple[str, str]] = set()
    found: set[str] = set()
    todo = [(name, "")]
    while todo:
        current, extra = todo.pop()
        if (current, extra) in seen:
            continue
        seen.add((current, extra))
        found.add(canonicalize_name(current))
        for line in distribution(current).requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            todo.append((requirement.name, ""))
            todo.extend((requirement.name, wanted) for wanted in requirement.extras)
    return found - {canonicalize_name(name)}


def test_the_first_run_counts_the_packages_it_installs():
    stated = re.search(r"^PACKAGE_COUNT := (\d+)$", MAKEFILE.read_text(), re.MULTILINE)
    assert stated, "the Makefile states PACKAGE_COUNT"
    try:
        counted = len(requirement_closure("parley"))
    except PackageNotFoundError:
        pytest.skip("Parley is not installed in this environment (make run installs it)")
    # "~N": a dependency's release may add or drop one; more than that, update the Makefile.
    assert abs(counted - int(stated[1])) <= 3, f"set PACKAGE_COUNT := {counted} in the Makefile"


def test_installing_parley_raises_no_setuptools_warning(tmp_path):
    """An editable install, as make run does it, into a new environment: setuptools warns about
    its import hook unless setup.cfg says where the packages are."""
    source = tmp_path / "parley"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("project", "rooms", "calls", "consumers", "presence", "frontend"):
        (source / package).mkdir()
        (source / package / "__init__.py").touch()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    python = tmp_path / "venv" / "bin" / "python"

    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "-e", str(source)],
        capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr

    if result.returncode and re.search(r"No matching distribution|NewConnectionError", output):
        service_missing(f"needs the package index for setuptools:\n{output[-2000:]}")
    assert result.returncode == 0, output
    assert not WARNING_CLASS.findall(output), output
    check = subprocess.run([python, "-c", "import rooms, frontend"], cwd=tmp_path)
    assert check.returncode == 0
