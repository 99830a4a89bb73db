"""Debian's Chromium, driven by Playwright, using the browser app against a live uvicorn."""

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.browser.people import People
from tests.conftest import service_missing
from tests.live.server import ROOT, LiveServer, uvicorn

FRONTEND = ROOT / "frontend"
BUNDLE = FRONTEND / "static" / "frontend" / "app.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    # A generated test pattern and a beep stand in for camera and microphone, granted at once.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    # Host candidates as IP addresses: mDNS .local names would need a resolver the test lacks.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
NPM_TIMEOUT = 180
# A ring this short makes "missed" quick to reach (the server's call clock ends the ring).
QUICK_RING_SECONDS = "3"

expect.set_options(timeout=15_000)


def npm() -> str:
    """``npm`` (and ``node``), or the test cannot build the app (fails in CI)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        service_missing("needs Node.js (node and npm on PATH) to build the browser app")
    assert npm
    return npm


def install_is_stale() -> bool:
    """node_modules is missing, or older than the lockfile it should match."""
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    lockfile = FRONTEND / "package-lock.json"
    return not installed.exists() or installed.stat().st_mtime < lockfile.stat().st_mtime


def run_npm(*args: str) -> None:
    result = subprocess.run(
        [npm(), *args], cwd=FRONTEND, capture_output=True, text=True, timeout=NPM_TIMEOUT
    )
    assert result.returncode == 0, f"npm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The app built from frontend/src with the locked packages (``npm ci``, ``npm run build``)."""
    if install_is_stale():
        run_npm("ci", "--no-audit", "--no-fund")
    run_npm("run", "build")
    assert BUNDLE.exists()
    return BUNDLE


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        service_missing(f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    return CHROMIUM


def live_server(
    tmp_path: Path, extra_env: dict[str, str] | None = None, redis_url: str | None = None
) -> Any:
    """A uvicorn on this run's configuration (Redis if REDIS_URL is set, on a prefix of its
    own), or on the Redis at ``redis_url``."""
    env = {"CHANNEL_PREFIX": f"parley-browser-{uuid.uuid4().hex[:8]}", **(extra_env or {})}
    redis_url = redis_url or os.environ.get("REDIS_URL")
    return uvicorn(tmp_path, "browser", redis_url=redis_url, extra_env=env)


@pytest.fixture
def server(bundle: Path, transactional_db: None, tmp_path: Path) -> Iterator[LiveServer]:
    """A live uvicorn serving the app (static files through whitenoise's finders)."""
    with live_server(tmp_path) as running:
        yield running


@pytest.fixture
def quick_ring_server(
    bundle: Path, transactional_db: None, tmp_path: Path
) -> Iterator[LiveServer]:
    """A live uvicorn whose calls ring out after a few seconds."""
    with live_server(tmp_path, {"PARLEY_CALL_RING_SECONDS": QUICK_RING_SECONDS}) as running:
        yield running


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def people(server: LiveServer, browser: Browser) -> AsyncIterator[People]:
    """People signing in to the live server, each in a browser context of their own."""
    async with People(server.url, browser) as crowd:
        yield crowd


@pytest.fixture
async def people_quick_ring(
    quick_ring_server: LiveServer, browser: Browser
) -> AsyncIterator[People]:
    async with People(quick_ring_server.url, browser) as crowd:
        yield crowd
