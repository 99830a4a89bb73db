#!/usr/bin/env python
"""Capture the socket protocol from a running Parley server, for docs/protocol.md.

Run from the repository root:

    python docs/capture.py            # .venv/bin/python is used if the current one lacks deps

It migrates a fresh SQLite database in a temporary directory, creates a staff user (sam) with a
password generated at run time, starts ``uvicorn project.asgi:application`` on a free 127.0.0.1
port, signs in three guests (alice, bob, carol) and sam over HTTP, opens WebSockets with the
``websockets`` library and drives a scripted scenario through every stream (rooms, messages,
presence, calls, sdp, ice), every action, every push and every error. Every frame sent and
received is recorded in order, per client, with the step it belongs to.

The server runs with a 2-second ring lifetime (``PARLEY_CALL_RING_SECONDS=2``, default 60) so a
missed call is captured quickly, example STUN/TURN URLs, and a TURN secret generated at run time
(never stored): the scenario checks the TURN credential it is given against it.

Outputs:

* ``docs/frames.json``: the transcript (``events``) and the scenario's own checks (``missing``:
  frames the scenario expected and never got; ``unexpected``: frames it did not expect).
* ``docs/protocol.md``: every block between ``<!-- frames: STEP[, STEP...] -->`` and
  ``<!-- /frames -->`` is regenerated from the transcript. A step may be narrowed to some
  clients with ``STEP@alice+bob``. The prose around the blocks is left alone.

The server is always stopped (try/finally), and the temporary directory removed (set
CAPTURE_KEEP_TMP=1 to keep it, with the server's log). The exit status is 1 when the server did
not answer as the scenario expects (the files are written anyway).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
except ImportError:  # pragma: no cover - re-run with the project's virtualenv
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    raise

# How long a step waits for a frame it expects, and how long the sockets must stay quiet before
# a step is considered over (anything arriving later than that would land in the next step).
EXPECT_TIMEOUT = 5.0
QUIET = 0.25
WIDTH = 100  # rendered frames are wrapped to about this many columns
UVICORN_WS_MAX_SIZE = 1024 * 1024  # as in `make run`
APP_FRAME_CAP = 64 * 1024  # PARLEY_MAX_FRAME_BYTES default
RING_SECONDS = 2  # PARLEY_CALL_RING_SECONDS for the capture (default 60)
QUALITY_BURST = 3  # PARLEY_QUALITY_BURST for the capture (default 5 per 10 s)
STUN_URL = "stun:stun.example.org:3478"
TURN_URL = "turn:turn.example.org:3478"
STAFF = "sam"


# --------------------------------------------------------------------------------------------
# The transcript
# --------------------------------------------------------------------------------------------


class Transcript:
    """Every event in the order it happened, tagged with the current step."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.step = "setup"
        self.steps: list[dict[str, str]] = []
        self.missing: list[dict[str, Any]] = []
        self.unexpected: list[dict[str, Any]] = []
        self.clients: list[Client] = []
        self.started = time.monotonic()

    def add(self, client: str, kind: str, **fields: Any) -> dict[str, Any]:
        event = {
            "seq": len(self.events) + 1,
            "t": round(time.monotonic() - self.started, 3),
            "step": self.step,
            "client": client,
            "kind": kind,
            **fields,
        }
        self.events.append(event)
        return event

    @contextlib.asynccontextmanager
    async def section(self, name: str, title: str) -> Any:
        """A step: its frames are tagged ``name``; it ends once every socket is quiet."""
        self.step = name
        self.steps.append({"name": name, "title": title})
        try:
            yield
        finally:
            await self.settle()

    def check(self, ok: bool, what: str) -> bool:
        """Record ``what`` as missing unless ``ok``."""
        if not ok:
            self.missing.append({"step": self.step, "expected": what})
            print(f"  ! {what} in {self.step}")
        return ok

    async def settle(self) -> None:
        """Wait until no frame has arrived for QUIET seconds, then flag any frame left unread."""
        while True:
            count = len(self.events)
            await asyncio.sleep(QUIET)
            if len(self.events) == count:
                break
        for client in self.clients:
            for frame in client.inbox:
                self.unexpected.append({"step": self.step, "client": client.name, "frame": frame})
                print(f"  ! unexpected frame for {client.name} in {self.step}: {compact(frame)}")
            client.inbox.clear()


# --------------------------------------------------------------------------------------------
# A socket client that records everything
# --------------------------------------------------------------------------------------------


class Client:
    """One WebSocket; frames received wait in ``inbox`` until a step claims them."""

    def __init__(self, transcript: Transcript, name: str, ws: ClientConnection) -> None:
        self.t = transcript
        self.name = name
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.next_id = 0
        self.closed_by_us = False
        self.close_code: int | None = None
        self.reader = asyncio.create_task(self.read())
        transcript.clients.append(self)

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except (TypeError, ValueError):
                    frame = {"<not json>": repr(raw)}
                self.t.add(self.name, "recv", frame=frame, bytes=len(raw))
                self.inbox.append(frame)
                self.arrived.set()
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        self.t.add(
            self.name,
            "close",
            code=self.ws.close_code,
            reason=self.ws.close_reason or "",
            by="client" if self.closed_by_us else "server",
        )
        self.arrived.set()

    def rid(self) -> int:
        self.next_id += 1
        return self.next_id

    async def send(self, stream: Any, payload: Any) -> None:
        frame = {"stream": stream, "payload": payload}
        self.t.add(self.name, "send", frame=frame)
        await self.ws.send(json.dumps(frame))

    async def send_frame(self, frame: Any) -> None:
        """Send any JSON value as the frame (for malformed envelopes)."""
        self.t.add(self.name, "send", frame=frame)
        await self.ws.send(json.dumps(frame))

    async def send_text(self, text: str, note: str = "") -> None:
        """Send a text frame that is not (or too large to show as) JSON."""
        shown = text if len(text) <= 100 else text[:60] + "…"
        self.t.add(self.name, "send", text=shown, bytes=len(text.encode()), note=note)
        await self.ws.send(text)

    async def send_binary(self, data: bytes) -> None:
        self.t.add(self.name, "send", binary=data.hex(" "), bytes=len(data))
        await self.ws.send(data)

    async def wait_for(self, what: str, match: Callable[[dict[str, Any]], bool],
                       timeout: float = EXPECT_TIMEOUT) -> dict[str, Any] | None:
        """The first unread frame that ``match``es (removed from the inbox), or None."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.inbox:
                if match(frame):
                    self.inbox.remove(frame)
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.close_code is not None and not self.inbox):
                self.t.missing.append({"step": self.t.step, "client": self.name, "expected": what})
                print(f"  ! {self.name} never got {what} in {self.t.step}")
                return None
            self.arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    async def request(self, stream: str, action: Any, *, expect: int | None = None,
                      **args: Any) -> dict[str, Any]:
        """Send an action and return the reply's payload ({} if none came).

        With ``expect``, a reply with another ``response_status`` is recorded as missing.
        """
        request_id = args.pop("request_id", None) or self.rid()
        await self.send(stream, {"action": action, "request_id": request_id, **args})
        frame = await self.reply(stream, request_id, f"the reply to {stream}.{action}")
        if expect is not None and frame and frame.get("response_status") != expect:
            self.t.check(False, f"{self.name}: {stream}.{action} answers {expect}, "
                                f"got {frame.get('response_status')} {frame.get('errors')}")
        return frame

    async def reply(self, stream: Any, request_id: Any, what: str) -> dict[str, Any]:
        frame = await self.wait_for(
            what,
            lambda f: f.get("stream") == stream
            and isinstance(f.get("payload"), dict)
            and f["payload"].get("request_id") == request_id,
        )
        return frame["payload"] if frame else {}

    async def push(self, stream: str, request_id: Any, action: str,
                   match: Callable[[Any], bool] | None = None,
                   timeout: float = EXPECT_TIMEOUT) -> dict[str, Any]:
        """Wait for a push (or revoked frame) echoing ``request_id``."""
        frame = await self.wait_for(
            f"a {stream} {action!r} push for request {request_id!r}",
            lambda f: f.get("stream") == stream
            and isinstance(f.get("payload"), dict)
            and f["payload"].get("request_id") == request_id
            and f["payload"].get("action") == action
            and (match is None or match(f["payload"].get("data"))),
            timeout,
        )
        return frame["payload"] if frame else {}

    async def revoked(self, stream: str, request_id: Any, room: int, reason: str) -> None:
        """Wait for the ``revoked`` frame ending a subscription, and check all of it."""
        payload = await self.push(stream, request_id, "revoked")
        if payload:
            self.t.check(
                payload.get("response_status") == 403
                and payload.get("data") == {"room": room, "reason": reason}
                and payload.get("errors") == [REVOKED[reason]],
                f"{self.name}: {stream} revoked frame 403 {{room: {room}, reason: {reason}}} "
                f"with errors {[REVOKED[reason]]}, got {compact(payload)}",
            )

    async def closed(self, what: str) -> int | None:
        """Wait for the server to close this socket; its close code."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.reader), EXPECT_TIMEOUT)
        if self.close_code is None:
            self.t.missing.append({"step": self.t.step, "client": self.name, "expected": what})
            print(f"  ! {self.name}: {what} did not happen")
        return self.close_code

    async def close(self) -> None:
        self.closed_by_us = True
        await self.ws.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.reader), EXPECT_TIMEOUT)
        if self in self.t.clients:
            self.t.clients.remove(self)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path
    turn_secret: str
    staff_password: str
    cookies: dict[str, http.cookiejar.CookieJar] = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"


def server_env(tmp: Path, turn_secret: str) -> dict[str, str]:
    """The environment of the capture server: defaults, except the call settings shown."""
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith("PARLEY_") and name not in ("REDIS_URL", "ALLOWED_HOSTS")
    }
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SECRET_KEY": "protocol-capture-" + uuid.uuid4().hex,
        "PARLEY_AUTH_RATE": "100000/minute",
        "PARLEY_CALL_RING_SECONDS": str(RING_SECONDS),
        # A small burst over a long window: the 429 comes at the same report every run.
        "PARLEY_QUALITY_BURST": str(QUALITY_BURST),
        "PARLEY_QUALITY_BURST_SECONDS": "3600",
        "PARLEY_STUN_URLS": STUN_URL,
        "PARLEY_TURN_URLS": TURN_URL,
        "PARLEY_TURN_SECRET": turn_secret,
        "PYTHONUNBUFFERED": "1",
    })
    return env


# Run by ``manage.py shell -c`` against the capture database: a staff user (not a superuser),
# its password read from the environment rather than the command line.
CREATE_STAFF = (
    "import os; from django.contrib.auth.models import User; "
    "name = os.environ['CAPTURE_STAFF_USERNAME']; "
    "User.objects.create_user(name, password=os.environ['CAPTURE_STAFF_PASSWORD'], "
    "first_name=name, is_staff=True)"
)


@contextlib.contextmanager
def running_server(tmp: Path) -> Any:
    turn_secret = secrets.token_urlsafe(24)
    staff_password = secrets.token_urlsafe(16)
    env = server_env(tmp, turn_secret)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT, env=env, check=True,
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", CREATE_STAFF],
        cwd=ROOT, check=True,
        env={**env, "CAPTURE_STAFF_USERNAME": STAFF, "CAPTURE_STAFF_PASSWORD": staff_password},
    )
    port = free_port()
    log = tmp / "uvicorn.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "project.asgi:application",
             "--host", "127.0.0.1", "--port", str(port),
             "--ws-max-size", str(UVICORN_WS_MAX_SIZE)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    server = Server(port=port, process=process, log=log, turn_secret=turn_secret,
                    staff_password=staff_password)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(server.http + "/", timeout=1):
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in(t: Transcript, server: Server, name: str, password: str | None = None
            ) -> dict[str, Any]:
    """POST /api/auth/guest/ as ``name`` (or /api/auth/token/ with a password); keeps the
    session cookie for cookie-signed sockets. A password is not recorded."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    if password is None:
        path = "/api/auth/guest/"
        body = {"display_name": name}
        shown = body
    else:
        path = "/api/auth/token/"
        body = {"username": name, "password": password}
        shown = {**body, "password": "<the password>"}
    request = urllib.request.Request(
        server.http + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    t.add(name, "http", method="POST", path=path, body=shown)
    with opener.open(request, timeout=10) as response:
        data = json.loads(response.read())
        t.add(name, "http_response", status=response.status, body=data)
    server.cookies[name] = jar
    return data


def session_cookie(server: Server, name: str) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in server.cookies[name] if c.name == "sessionid")


async def open_socket(t: Transcript, server: Server, name: str, *, token: str | None = None,
                      cookie: str | None = None, origin: str | None = None,
                      query: str | None = None) -> Client | None:
    """Open /ws/ and record it; None (and a ``rejected`` event) if the handshake is refused."""
    path = "/ws/"
    if query is not None:
        path += "?" + query
    elif token is not None:
        path += "?token=" + token
    headers: dict[str, str] = {}
    if cookie:
        headers["Cookie"] = cookie
    shown = dict(headers)
    if origin:
        shown["Origin"] = origin
    t.add(name, "open", path=path, headers=shown)
    try:
        ws = await connect(
            f"ws://127.0.0.1:{server.port}{path}",
            additional_headers=headers or None,
            origin=origin,  # type: ignore[arg-type]
            max_size=None,
            ping_interval=None,
        )
    except InvalidStatus as exc:
        t.add(name, "rejected", status=exc.response.status_code)
        return None
    t.add(name, "opened")
    return Client(t, name, ws)


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


def data_of(payload: dict[str, Any]) -> Any:
    return payload.get("data")


REVOKED = {  # consumers.observers.REASONS
    "left": "You are no longer a member of this room.",
    "room_deleted": "The room was deleted.",
    "now_private": "The room is private now and you are not a member.",
}


def has_id(object_id: int) -> Callable[[Any], bool]:
    """Matches a push whose data is the object ``object_id``."""
    return lambda data: isinstance(data, dict) and data.get("id") == object_id


def is_data(expected: Any) -> Callable[[Any], bool]:
    """Matches a push whose data is exactly ``expected``."""
    return lambda data: data == expected


async def scenario(t: Transcript, server: Server) -> None:  # noqa: C901 - a script, top to bottom
    section = t.section

    # --- Sign-in and connection ----------------------------------------------------------
    async with section("http-guest", "Guests sign in over HTTP"):
        users = {name: sign_in(t, server, name) for name in ("alice", "bob", "carol")}
    uid = {name: users[name]["user"]["id"] for name in users}
    token = {name: users[name]["token"] for name in users}

    async with section("connect", "alice, bob and carol open sockets with ?token="):
        alice = await open_socket(t, server, "alice", token=token["alice"])
        bob = await open_socket(t, server, "bob", token=token["bob"])
        carol = await open_socket(t, server, "carol", token=token["carol"])
    assert alice and bob and carol

    async with section("connect-cookie", "bob's second tab signs in with the session cookie"):
        bob2 = await open_socket(
            t, server, "bob (tab 2)", cookie=session_cookie(server, "bob"), origin=server.http
        )
        assert bob2
        await bob2.request("rooms", "list")

    async with section("connect-early", "Frames sent at once, while the streams connect"):
        early = await open_socket(t, server, "carol (tab 2)", token=token["carol"])
        assert early
        await early.send("rooms", {"action": "list", "request_id": 1})
        await early.send("calls", {"action": "list", "request_id": 2})
        await early.reply("rooms", 1, "the reply to rooms.list")
        await early.reply("calls", 2, "the reply to calls.list")
        await early.close()

    async with section("connect-anonymous", "A socket without credentials"):
        anon = await open_socket(t, server, "anonymous")
        if anon:
            await anon.closed("a close with 4401")

    async with section("connect-bad-token", "A socket with an unknown token"):
        anon = await open_socket(t, server, "anonymous", token="not-a-token")
        if anon:
            await anon.closed("a close with 4401")

    async with section("connect-bad-origin", "A browser socket from a foreign origin"):
        evil = await open_socket(
            t, server, "evil.example", cookie=session_cookie(server, "bob"),
            origin="https://evil.example",
        )
        if evil:
            await evil.close()

    # --- The envelope and its errors -------------------------------------------------------
    async with section("request-reply", "A request and its reply"):
        await alice.request("rooms", "list")

    async with section("err-not-json", "A frame that is not JSON"):
        await alice.send_text("hello?")
        await alice.reply(None, None, "an error frame")

    async with section("err-not-object", "A frame that is not an object"):
        await alice.send_frame(["rooms", {"action": "list", "request_id": 1}])
        await alice.reply(None, None, "an error frame")

    async with section("err-missing-stream", "A frame without stream"):
        await alice.send_frame({"payload": {"action": "list", "request_id": "e1"}})
        await alice.reply(None, "e1", "an error frame")

    async with section("err-unknown-stream", "A frame for a stream that does not exist"):
        await alice.send("chat", {"action": "list", "request_id": "e2"})
        await alice.reply("chat", "e2", "an error frame")

    async with section("err-payload-not-object", "A payload that is not an object"):
        await alice.send_frame({"stream": "rooms", "payload": "list"})
        await alice.reply("rooms", None, "an error frame")

    async with section("err-missing-action", "A payload without action"):
        await alice.send("rooms", {"request_id": "e3", "pk": 1})
        await alice.reply("rooms", "e3", "an error frame")

    async with section("err-action-type", "An action that is not a string"):
        await alice.send("rooms", {"action": ["list"], "request_id": "e4"})
        await alice.reply("rooms", "e4", "an error frame")

    async with section("err-missing-request-id", "A payload without request_id"):
        await alice.send("rooms", {"action": "list"})
        await alice.reply("rooms", None, "an error frame")

    async with section("err-request-id-type", "A request_id that is neither string nor integer"):
        await alice.send("rooms", {"action": "list", "request_id": {"n": 1}})
        await alice.reply("rooms", None, "an error frame")

    async with section("err-unknown-action", "An action the stream does not have"):
        await alice.request("rooms", "archive", pk=1)

    async with section("err-reserved-argument", "An argument named like the envelope"):
        await alice.request("rooms", "list", data={"action": "list"})

    async with section("err-frame-too-large", "A frame over the 64 KiB application cap"):
        rid = alice.rid()
        big = json.dumps({"stream": "messages", "payload": {
            "action": "create", "request_id": rid,
            "data": {"room": 1, "body": "x" * APP_FRAME_CAP}}})
        await alice.send_text(big, note="over 64 KiB")
        await alice.reply(None, None, "a 413 error frame")

    async with section("err-binary", "A binary frame"):
        await alice.send_binary(b'{"stream": "rooms"}')
        await alice.reply(None, None, "an error frame")

    async with section("err-after-errors", "The socket is still open after all of that"):
        await alice.request("rooms", "list")

    async with section("err-frame-over-1mib", "A frame over uvicorn's 1 MiB limit"):
        alice_big = await open_socket(t, server, "alice (tab 2)", token=token["alice"])
        assert alice_big
        await alice_big.send_text(
            json.dumps({"stream": "rooms", "payload": {
                "action": "list", "request_id": 1, "pad": "x" * UVICORN_WS_MAX_SIZE}}),
            note="over 1 MiB",
        )
        await alice_big.closed("a close with 1009")
        t.clients.remove(alice_big)

    # --- rooms ----------------------------------------------------------------------------
    async with section("rooms-subscribe-rooms", "Everyone subscribes to the lobby"):
        lobby = {}
        for c in (alice, bob, carol):
            lobby[c.name] = c.rid()
            await c.request("rooms", "subscribe_rooms", request_id=lobby[c.name])

    async with section("rooms-create", "alice creates a public room"):
        general = data_of(await alice.request(
            "rooms", "create", data={"name": "general", "title": "General"}))
        G = general["id"]
        for c in (alice, bob, carol):
            await c.push("rooms", lobby[c.name], "create", lambda d: d.get("id") == G)

    async with section("rooms-create-private", "alice creates a private room"):
        secret = data_of(await alice.request(
            "rooms", "create", data={"name": "secret", "title": "Secret", "is_private": True}))
        S = secret["id"]
        await alice.push("rooms", lobby["alice"], "create", lambda d: d.get("id") == S)

    async with section("rooms-create-invalid", "Invalid rooms"):
        await alice.request("rooms", "create", data={"name": "Not a slug!", "title": ""})
        await alice.request("rooms", "create", data={"name": "general", "title": "Again"})
        await alice.request("rooms", "create", name="lounge", title="Lounge")

    async with section("rooms-list", "Listing rooms: private rooms only for members"):
        await alice.request("rooms", "list")
        await bob.request("rooms", "list")

    async with section("rooms-list-page", "A page at a time: limit, then after the last id"):
        await alice.request("rooms", "list", limit=1, expect=200)
        await alice.request("rooms", "list", limit=1, after=G, expect=200)
        await alice.request("rooms", "list", limit=101, expect=400)

    async with section("rooms-retrieve", "Retrieving a room"):
        await bob.request("rooms", "retrieve", pk=G)

    async with section("rooms-retrieve-private", "Retrieving a private room one is not in"):
        await bob.request("rooms", "retrieve", pk=S)

    async with section("rooms-retrieve-bad-pk", "Missing, malformed and unknown pk"):
        await bob.request("rooms", "retrieve")
        await bob.request("rooms", "retrieve", pk="abc")
        await bob.request("rooms", "retrieve", pk=999)

    async with section("rooms-join", "bob and carol join the public room"):
        await bob.request("rooms", "join", pk=G)
        await carol.request("rooms", "join", pk=G)

    async with section("rooms-join-again", "Joining twice returns the same membership"):
        await bob.request("rooms", "join", pk=G)

    async with section("rooms-join-private", "Joining a private room one is not in"):
        await bob.request("rooms", "join", pk=S)

    async with section("rooms-members", "Who is in the room"):
        await alice.request("rooms", "members", pk=G)

    async with section("rooms-subscribe-instance", "alice and bob follow the room"):
        inst = {"alice": alice.rid(), "bob": bob.rid()}
        await alice.request("rooms", "subscribe_instance", pk=G, request_id=inst["alice"])
        await bob.request("rooms", "subscribe_instance", pk=G, request_id=inst["bob"])

    async with section("rooms-update", "alice replaces the room (update)"):
        await alice.request("rooms", "update", pk=G,
                            data={"name": "general", "title": "General chat", "is_private": False})
        for c in (alice, bob):
            await c.push("rooms", inst[c.name], "update", lambda d: d.get("id") == G)
        for c in (alice, bob, carol):
            await c.push("rooms", lobby[c.name], "update", lambda d: d.get("id") == G)

    async with section("rooms-update-incomplete", "update needs every writable field"):
        await alice.request("rooms", "update", pk=G, data={"title": "Only a title"})

    async with section("rooms-patch", "alice changes the title (patch)"):
        await alice.request("rooms", "patch", pk=G, data={"title": "General"})
        for c in (alice, bob):
            await c.push("rooms", inst[c.name], "update", lambda d: d.get("id") == G)
        for c in (alice, bob, carol):
            await c.push("rooms", lobby[c.name], "update", lambda d: d.get("id") == G)

    async with section("rooms-patch-forbidden", "Only the owner changes a room"):
        await bob.request("rooms", "patch", pk=G, data={"title": "Bob's"})

    async with section("rooms-write-without-data", "A write without data"):
        await alice.request("rooms", "patch", pk=G, title="Flat")

    async with section("rooms-invite", "alice invites bob to the private room"):
        await alice.request("rooms", "invite", pk=S, user=uid["bob"])
        await bob.push("rooms", lobby["bob"], "create", lambda d: d.get("id") == S)

    async with section("rooms-invite-forbidden", "Only the owner invites"):
        await bob.request("rooms", "invite", pk=S, user=uid["carol"])

    async with section("rooms-invite-unknown-user", "Inviting a user who does not exist"):
        await alice.request("rooms", "invite", pk=S, user=99999)

    async with section("rooms-private-subscriptions", "bob follows the private room everywhere"):
        await bob.request("rooms", "retrieve", pk=S)
        sub_s = {"rooms": bob.rid(), "messages": bob.rid(), "presence": bob.rid()}
        await bob.request("rooms", "subscribe_instance", pk=S, request_id=sub_s["rooms"])
        await bob.request("messages", "subscribe_room", room=S, request_id=sub_s["messages"])
        await bob.request("presence", "subscribe_room", room=S, request_id=sub_s["presence"])

    async with section("rooms-remove-member", "alice removes bob from the private room"):
        await alice.request("rooms", "remove_member", pk=S, user=uid["bob"])
        await bob.push("rooms", lobby["bob"], "delete", lambda d: d == {"pk": S})
        await bob.push("rooms", sub_s["rooms"], "delete", lambda d: d == {"pk": S})
        await bob.revoked("messages", sub_s["messages"], S, "left")
        await bob.revoked("presence", sub_s["presence"], S, "left")

    async with section("rooms-after-removal", "The private room is hidden again"):
        await bob.request("rooms", "retrieve", pk=S)

    async with section("rooms-remove-member-errors", "Removing the owner, or a non-member"):
        await alice.request("rooms", "remove_member", pk=S, user=uid["alice"])
        await alice.request("rooms", "remove_member", pk=S, user=uid["carol"])

    async with section("rooms-leave-owner", "The owner cannot leave"):
        await alice.request("rooms", "leave", pk=G)

    async with section("rooms-unsubscribe-instance", "bob stops following the room"):
        await bob.request("rooms", "unsubscribe_instance", pk=G, request_id=inst["bob"])
        await alice.request("rooms", "patch", pk=G, data={"title": "General"})
        await alice.push("rooms", inst["alice"], "update", lambda d: d.get("id") == G)
        for c in (alice, bob, carol):
            await c.push("rooms", lobby[c.name], "update", lambda d: d.get("id") == G)

    async with section("rooms-delete", "alice deletes a room bob follows"):
        scratch = data_of(await alice.request(
            "rooms", "create", data={"name": "scratch", "title": "Scratch"}))
        X = scratch["id"]
        for c in (alice, bob, carol):
            await c.push("rooms", lobby[c.name], "create", lambda d: d.get("id") == X)
        inst_x = bob.rid()
        await bob.request("rooms", "subscribe_instance", pk=X, request_id=inst_x)
        await bob.request("rooms", "delete", pk=X)
        await alice.request("rooms", "delete", pk=X)
        await bob.push("rooms", inst_x, "delete", lambda d: d == {"pk": X})
        for c in (alice, bob, carol):
            await c.push("rooms", lobby[c.name], "delete", lambda d: d == {"pk": X})

    async with section("rooms-unsubscribe-rooms", "carol leaves the lobby"):
        await carol.request("rooms", "unsubscribe_rooms", request_id=lobby["carol"])
        lounge = data_of(await alice.request(
            "rooms", "create", data={"name": "lounge", "title": "Lounge"}))
        L = lounge["id"]
        for c in (alice, bob):
            await c.push("rooms", lobby[c.name], "create", lambda d: d.get("id") == L)

    # --- messages --------------------------------------------------------------------------
    async with section("messages-subscribe", "bob and carol follow the room's messages"):
        msub = {"bob": bob.rid(), "carol": carol.rid()}
        for c in (bob, carol):
            await c.request("messages", "subscribe_room", room=G, request_id=msub[c.name])

    async with section("messages-create", "alice posts, with a client_id"):
        client_id = str(uuid.uuid4())
        first = data_of(await alice.request(
            "messages", "create", data={"room": G, "body": "Hello, world", "client_id": client_id}))
        M1 = first["id"]
        for c in (bob, carol):
            await c.push("messages", msub[c.name], "create", lambda d: d.get("id") == M1)

    async with section("messages-create-retry", "The retry with the same client_id"):
        await alice.request(
            "messages", "create", data={"room": G, "body": "Hello, world", "client_id": client_id})

    async with section("messages-create-more", "More history"):
        ids = [M1]
        for who, body in ((bob, "hi alice"), (alice, "how are you?"), (bob, "fine, thanks"),
                          (carol, "hello both")):
            sent = data_of(await who.request("messages", "create", data={"room": G, "body": body}))
            ids.append(sent["id"])
            for c in (bob, carol):
                await c.push("messages", msub[c.name], "create", has_id(sent["id"]))

    async with section("messages-list", "The newest page"):
        await bob.request("messages", "list", room=G, limit=2)

    async with section("messages-list-before", "The page before a message"):
        await bob.request("messages", "list", room=G, before=ids[3], limit=2)

    async with section("messages-list-after", "The messages after a message"):
        await bob.request("messages", "list", room=G, after=ids[2])

    async with section("messages-list-dcrf", "dcrf-client style: arguments under data"):
        await bob.request("messages", "list", data={"room": G, "after": ids[3]})

    async with section("messages-list-invalid", "Invalid page arguments"):
        await bob.request("messages", "list", room=G, before=ids[3], after=ids[1])
        await bob.request("messages", "list", room=G, limit=1000)
        await bob.request("messages", "list")

    async with section("messages-retrieve", "One message"):
        await carol.request("messages", "retrieve", pk=M1)

    async with section("messages-retrieve-private", "A message in a private room"):
        hidden = data_of(await alice.request(
            "messages", "create", data={"room": S, "body": "between us"}))
        await carol.request("messages", "retrieve", pk=hidden["id"])

    async with section("messages-patch", "alice edits her message"):
        await alice.request("messages", "patch", pk=M1, data={"body": "Hello, everyone"})
        for c in (bob, carol):
            await c.push("messages", msub[c.name], "update", lambda d: d.get("id") == M1)

    async with section("messages-patch-forbidden", "Only the author edits"):
        await bob.request("messages", "patch", pk=M1, data={"body": "Hijacked"})

    async with section("messages-update", "messages has no update action"):
        await alice.request("messages", "update", pk=M1, data={"body": "Replaced"})

    async with section("messages-delete-forbidden", "Only the author deletes"):
        await carol.request("messages", "delete", pk=ids[2])

    async with section("messages-delete", "alice deletes her message"):
        await alice.request("messages", "delete", pk=ids[2])
        for c in (bob, carol):
            await c.push("messages", msub[c.name], "delete", lambda d: d.get("pk") == ids[2])

    async with section("messages-create-not-member", "Posting in a room one has not joined"):
        await carol.request("messages", "create", data={"room": L, "body": "anyone?"})

    async with section("messages-create-hidden-room", "Posting in a private room one is not in"):
        await carol.request("messages", "create", data={"room": S, "body": "let me in"})

    async with section("messages-create-invalid", "Blank body, client_id reused elsewhere"):
        await carol.request("messages", "create", data={"room": G, "body": "   "})
        await alice.request(
            "messages", "create", data={"room": S, "body": "again", "client_id": client_id})
        await carol.request(
            "messages", "create", data={"room": G, "body": "x", "client_id": "not-a-uuid"})

    async with section("messages-unsubscribe", "carol stops following the messages"):
        await carol.request("messages", "unsubscribe_room", room=G, request_id=msub["carol"])
        seen = ids[-1]  # the last message carol received as a push
        sent = data_of(await alice.request("messages", "create", data={"room": G, "body": "ping"}))
        ids.append(sent["id"])
        await bob.push("messages", msub["bob"], "create", lambda d: d.get("id") == sent["id"])
        last_seen_by_carol = sent["id"]  # she lists it below (catch-up starts from here)
        await carol.request("messages", "list", room=G, after=seen)

    # --- presence --------------------------------------------------------------------------
    async with section("presence-list", "Who is online in the room"):
        await bob.request("presence", "list", room=G)

    async with section("presence-subscribe", "bob follows the room's presence"):
        psub = bob.rid()
        await bob.request("presence", "subscribe_room", room=G, request_id=psub)

    async with section("presence-typing", "carol is typing"):
        await carol.request("presence", "typing", room=G)
        await bob.push("presence", psub, "update")

    async with section("presence-typing-not-member", "Typing in a room one has not joined"):
        await carol.request("presence", "typing", room=L)

    async with section("presence-offline", "carol closes her only socket"):
        await carol.close()
        await bob.push("presence", psub, "delete")

    async with section("presence-missed", "alice posts while carol is away"):
        missed = data_of(await alice.request(
            "messages", "create", data={"room": G, "body": "carol, are you there?"}))
        await bob.push("messages", msub["bob"], "create", lambda d: d.get("id") == missed["id"])
        ids.append(missed["id"])

    async with section("presence-online", "carol comes back"):
        carol = await open_socket(t, server, "carol", token=token["carol"])
        assert carol
        await bob.push("presence", psub, "create")

    async with section("catch-up", "carol catches up and follows the room again"):
        msub["carol"] = carol.rid()
        await carol.request("messages", "subscribe_room", room=G, request_id=msub["carol"])
        await carol.request("messages", "list", room=G, after=last_seen_by_carol)

    async with section("presence-unsubscribe", "bob stops following presence"):
        await bob.request("presence", "unsubscribe_room", room=G, request_id=psub)
        await carol.request("presence", "typing", room=G)

    # --- Leaving ends subscriptions on every socket -----------------------------------------
    async with section("leave-setup", "bob follows the room from both tabs"):
        psub2 = bob.rid()
        await bob.request("presence", "subscribe_room", room=G, request_id=psub2)
        msub2 = bob2.rid()
        await bob2.request("messages", "subscribe_room", room=G, request_id=msub2)

    async with section("leave", "bob leaves the room"):
        await bob.request("rooms", "leave", pk=G)
        # The room's presence subscribers hear that bob left; bob's own subscription may hear
        # it too before it ends (a public room's presence is anyone's to see).
        await bob.push("presence", psub2, "delete", lambda d: d.get("user", {}).get("id")
                       == uid["bob"])
        await bob.revoked("messages", msub["bob"], G, "left")
        await bob.revoked("presence", psub2, G, "left")
        await bob2.revoked("messages", msub2, G, "left")

    async with section("leave-after", "Nothing reaches bob from the room any more"):
        sent = data_of(await alice.request(
            "messages", "create", data={"room": G, "body": "bob left"}))
        ids.append(sent["id"])
        await carol.push("messages", msub["carol"], "create", lambda d: d.get("id") == sent["id"])
        await bob.request("messages", "create", data={"room": G, "body": "wait"})
        await bob.request("rooms", "leave", pk=G)

    # --- Privacy changes: who gains and who loses sight -----------------------------------
    async with section("private-turn-setup", "carol follows the public lounge without joining"):
        ci = carol.rid()
        cm = carol.rid()
        cp = carol.rid()
        await carol.request("rooms", "subscribe_instance", pk=L, request_id=ci, expect=201)
        await carol.request("messages", "subscribe_room", room=L, request_id=cm, expect=201)
        await carol.request("presence", "subscribe_room", room=L, request_id=cp, expect=201)
        await alice.request("messages", "create", data={"room": L, "body": "welcome"})
        await carol.push("messages", cm, "create")

    async with section("private-turn", "alice makes the lounge private"):
        await alice.request("rooms", "patch", pk=L, data={"is_private": True}, expect=200)
        # The room moves from the public lobby group to the private one: "delete" to everyone
        # in the public lobby, "create" to members in the private one. carol's instance
        # subscription gets "delete" and ends; her messages and presence subscriptions end at
        # the room's next push on those streams.
        for c in (alice, bob):
            await c.push("rooms", lobby[c.name], "delete", is_data({"pk": L}))
        await alice.push("rooms", lobby["alice"], "create", has_id(L))
        await carol.push("rooms", ci, "delete", is_data({"pk": L}))
        await alice.request("messages", "create", data={"room": L, "body": "members only now"})
        await carol.revoked("messages", cm, L, "now_private")
        await alice.request("presence", "typing", room=L, expect=202)
        await carol.revoked("presence", cp, L, "now_private")
        await carol.request("rooms", "retrieve", pk=L, expect=404)

    async with section("public-turn", "alice makes the lounge public again"):
        await alice.request("rooms", "patch", pk=L, data={"is_private": False}, expect=200)
        # "delete" from the private lobby group reaches its members only; "create" from the
        # public one reaches everyone. carol's ended instance subscription stays ended.
        await alice.push("rooms", lobby["alice"], "delete", is_data({"pk": L}))
        for c in (alice, bob):
            await c.push("rooms", lobby[c.name], "create", has_id(L))
        await alice.request("messages", "create", data={"room": L, "body": "open again"})

    async with section("rooms-delete-private", "alice deletes the private room she follows"):
        si = alice.rid()
        await alice.request("rooms", "subscribe_instance", pk=S, request_id=si)
        await alice.request("rooms", "delete", pk=S, expect=204)
        await alice.push("rooms", si, "delete", is_data({"pk": S}))
        await alice.push("rooms", lobby["alice"], "delete", is_data({"pk": S}))

    # --- Deleting a room with history and followers ------------------------------------------
    async with section("rooms-delete-cascade-setup", "carol follows the room's presence too; "
                       "bob, no longer a member, follows its messages again"):
        cpg = carol.rid()
        await carol.request("presence", "subscribe_room", room=G, request_id=cpg, expect=201)
        gone = bob.rid()
        await bob.request("messages", "subscribe_room", room=G, request_id=gone, expect=201)

    async with section("rooms-delete-cascade", "alice deletes the general room"):
        await alice.request("rooms", "delete", pk=G, expect=204)
        # No push per message deleted with the room. Members' message and presence
        # subscriptions end with "revoked" (room_deleted); non-members get nothing on those
        # streams (bob learns it from his lobby).
        await alice.push("rooms", inst["alice"], "delete", is_data({"pk": G}))
        await carol.push("presence", cpg, "delete", lambda d: d.get("user", {}).get("id")
                         == uid["carol"])
        await carol.revoked("messages", msub["carol"], G, "room_deleted")
        await carol.revoked("presence", cpg, G, "room_deleted")
        for c in (alice, bob):
            await c.push("rooms", lobby[c.name], "delete", is_data({"pk": G}))

    async with section("close", "Everyone closes"):
        for c in list(t.clients):
            await c.close()

    await call_scenario(t, server, uid, token)


# Abridged but well-formed session descriptions (a browser's also carry a=fingerprint, more
# codecs, extensions...). The server checks only that an SDP starts with v=0 and its size.
OFFER = "\r\n".join([
    "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=ice-ufrag:F7gI",
    "a=ice-pwd:x9cml/YzichV2+XlhiMu8g0Ah", "a=setup:actpass", "a=mid:0", "a=sendrecv",
    "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "",
])
ANSWER = "\r\n".join([
    "v=0", "o=- 7822530419734812065 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=ice-ufrag:Kq3n",
    "a=ice-pwd:Vb2uUnP5iqJ1cQe4mA8rYt7w", "a=setup:active", "a=mid:0", "a=sendrecv",
    "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "",
])
# What a browser's getStats() gives, as the browser app samples it.
QUALITY = {
    "rtt_ms": 42.5, "jitter_ms": 3.1, "loss_percent": 0.0, "bitrate_in_kbps": 812.0,
    "bitrate_out_kbps": 790.4, "frame_rate": 29.8, "frame_width": 640, "frame_height": 480,
    "candidate_type": "host",
}
SHORT_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"  # for the error examples


def candidate(call: int, line: str, ufrag: str) -> dict[str, Any]:
    """An RTCIceCandidateInit, snake_cased, for the call; ``line`` "" is end-of-candidates."""
    return {"call": call, "candidate": line, "sdp_mid": "0", "sdp_mline_index": 0,
            "username_fragment": ufrag}


def call_is(call_id: int, state: str, reason: str | None = None) -> Callable[[Any], bool]:
    """Matches a calls push of call ``call_id`` in ``state`` (and with that end_reason)."""
    return lambda data: (
        isinstance(data, dict) and data.get("id") == call_id and data.get("state") == state
        and (reason is None or data.get("end_reason") == reason)
    )


def check_ice_servers(t: Transcript, data: Any, secret: str, user_id: int) -> None:
    """The STUN entry, and a TURN entry with coturn REST credentials made with ``secret``."""
    servers = data.get("ice_servers") if isinstance(data, dict) else None
    if not isinstance(servers, list) or len(servers) != 2:
        t.check(False, "a STUN and a TURN entry")
        return
    stun, relay = servers
    ttl = data.get("ttl")
    t.check(stun == {"urls": [STUN_URL]}, f"the STUN entry {STUN_URL}")
    t.check(ttl == 24 * 3600, "ttl: the default 86400 seconds")
    username = str(relay.get("username", ""))
    expiry, _, owner = username.partition(":")
    t.check(relay.get("urls") == [TURN_URL] and owner == str(user_id) and expiry.isdigit()
            and abs(int(expiry) - time.time() - (ttl or 0)) < 60,
            "a TURN username <now + ttl>:<user id>")
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    t.check(relay.get("credential") == base64.b64encode(digest).decode(),
            "credential = base64(HMAC-SHA1(secret, username))")


async def call_scenario(  # noqa: C901 - a script, top to bottom
    t: Transcript, server: Server, uid: dict[str, int], token: dict[str, str]
) -> None:
    section = t.section

    async with section("http-token", "sam, a staff user, signs in with a password"):
        staff = sign_in(t, server, STAFF, server.staff_password)
    uid[STAFF] = staff["user"]["id"]
    token[STAFF] = staff["token"]

    async with section("calls-connect", "Fresh sockets: alice, bob (two tabs), carol and sam"):
        alice = await open_socket(t, server, "alice", token=token["alice"])
        bob = await open_socket(t, server, "bob", token=token["bob"])
        bob2 = await open_socket(t, server, "bob (tab 2)", token=token["bob"])
        carol = await open_socket(t, server, "carol", token=token["carol"])
        sam = await open_socket(t, server, STAFF, token=token[STAFF])
    assert alice and bob and bob2 and carol and sam

    async with section("calls-room", "alice, bob and carol share a room: they may ring each other"):
        met = data_of(await alice.request(
            "rooms", "create", data={"name": "calls", "title": "Calls"}, expect=201)) or {}
        for c in (bob, carol):
            await c.request("rooms", "join", pk=met.get("id", 0), expect=200)

    async with section("calls-subscribe", "Everyone listens for their calls, on every tab"):
        sub: dict[str, Any] = {}
        for c in (alice, bob, bob2, carol):
            sub[c.name] = c.rid()
            await c.request("calls", "subscribe_calls", request_id=sub[c.name], expect=201)

    async def pushed(clients: tuple[Client, ...], action: str, call_id: int, state: str,
                     reason: str | None = None, timeout: float = EXPECT_TIMEOUT) -> None:
        for c in clients:
            await c.push("calls", sub[c.name], action, call_is(call_id, state, reason), timeout)

    async def invite(caller: Client, callee: str, rings: tuple[Client, ...],
                     state: str = "ringing", expect: int = 201) -> int:
        call = data_of(await caller.request(
            "calls", "create", data={"callee": uid[callee]}, expect=expect)) or {}
        t.check(call.get("state") == state, f"a {state} call")
        await pushed(rings, "create", call.get("id", 0), state)
        return int(call.get("id", 0))

    async with section("calls-ice-servers", "STUN and TURN servers for RTCPeerConnection"):
        servers = data_of(await alice.request("calls", "ice_servers", expect=200))
        check_ice_servers(t, servers, server.turn_secret, uid["alice"])

    # --- A whole call -------------------------------------------------------------------------
    everyone = (alice, bob, bob2)
    async with section("call-invite", "alice calls bob: it rings on both of bob's tabs"):
        C = await invite(alice, "bob", everyone)

    async with section("call-accept", "bob answers on one tab; the other one stops ringing"):
        await bob.request("calls", "accept", pk=C, expect=200)
        await pushed(everyone, "update", C, "accepted")

    async with section("call-subscribe-signaling", "Both parties follow the call's SDP and ICE"):
        sig: dict[tuple[str, str], int] = {}
        for c in (alice, bob):
            for stream in ("sdp", "ice"):
                sig[(c.name, stream)] = c.rid()
                await c.request(stream, "subscribe_call", call=C,
                                request_id=sig[(c.name, stream)], expect=201)

    async with section("call-offer", "alice sends her offer; bob receives it, alice does not"):
        offer = data_of(await alice.request(
            "sdp", "create", data={"call": C, "type": "offer", "sdp": OFFER}, expect=201)) or {}
        await bob.push("sdp", sig[("bob", "sdp")], "create", has_id(offer.get("id", 0)))

    async with section("call-answer", "bob answers with his session description"):
        answer = data_of(await bob.request(
            "sdp", "create", data={"call": C, "type": "answer", "sdp": ANSWER}, expect=201)) or {}
        await alice.push("sdp", sig[("alice", "sdp")], "create", has_id(answer.get("id", 0)))

    async with section("call-ice", "Candidates trickle both ways, then end-of-candidates"):
        trickle = (
            (alice, bob, candidate(
                C, "candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host", "F7gI")),
            (bob, alice, candidate(
                C, "candidate:1 1 udp 2122260223 192.168.1.31 61020 typ host", "Kq3n")),
            (alice, bob, candidate(
                C, "candidate:2 1 udp 1686052607 203.0.113.7 54400 typ srflx", "F7gI")),
            (alice, bob, candidate(C, "", "F7gI")),
            (bob, alice, candidate(C, "", "Kq3n")),
        )
        for sender, receiver, fields in trickle:
            sent = data_of(await sender.request("ice", "create", data=fields, expect=201)) or {}
            await receiver.push(
                "ice", sig[(receiver.name, "ice")], "create", has_id(sent.get("id", 0)))

    async with section("call-ice-list", "Every candidate of the call, in order"):
        listed = data_of(await bob.request("ice", "list", call=C, expect=200))
        t.check([i["candidate"] for i in listed or []] == [f["candidate"] for *_, f in trickle],
                "the call's candidates in the order they were sent")

    async with section("call-media", "alice's peer connection is up: she says so"):
        await alice.request("calls", "media", pk=C, state="connected", expect=200)
        for c in everyone:
            await c.push("calls", sub[c.name], "update",
                         lambda d: d.get("id") == C and d.get("connected_at") is not None)
        await bob.request("calls", "media", pk=C, state="sideways", expect=400)

    async with section("call-quality", "alice and bob report what they measure; sam watches"):
        q = {c.name: c.rid() for c in (alice, bob)}
        for c in (alice, bob):
            await c.request("quality", "subscribe_call", call=C, request_id=q[c.name],
                            expect=201)
        q_dash = sam.rid()
        await sam.request("quality", "subscribe_dashboard", request_id=q_dash, expect=201)
        good = data_of(await alice.request("quality", "create", data={"call": C, **QUALITY},
                                           expect=201)) or {}
        await bob.push("quality", q["bob"], "create", has_id(good.get("id", 0)))
        await sam.push("quality", q_dash, "create", has_id(good.get("id", 0)))
        lossy = data_of(await bob.request("quality", "create", data={
            "call": C, "rtt_ms": 310.0, "loss_percent": 9.5, "bitrate_in_kbps": 95.0,
            "candidate_type": "relay"}, expect=201)) or {}
        t.check(good.get("rating") == "good" and lossy.get("rating") == "poor",
                "rated good, then poor")
        await alice.push("quality", q["alice"], "create", has_id(lossy.get("id", 0)))
        await sam.push("quality", q_dash, "create", has_id(lossy.get("id", 0)))
        latest = data_of(await sam.request("quality", "latest", expect=200)) or []
        t.check(sorted(x.get("id", 0) for x in latest)
                == sorted([good.get("id", 0), lossy.get("id", 0)]),
                "each party's latest sample")
        await sam.request("quality", "unsubscribe_dashboard", request_id=q_dash, expect=204)
        for c in (alice, bob):
            await c.request("quality", "unsubscribe_call", call=C, request_id=q[c.name],
                            expect=204)

    async with section("call-quality-errors", "Bad, too frequent and outsiders' reports"):
        await bob.request("quality", "create", data={"call": C, "loss_percent": 140},
                          expect=400)
        await bob.request("quality", "create", data={"call": C}, expect=400)
        await carol.request("quality", "create", data={"call": C, "rtt_ms": 20.0}, expect=404)
        for _ in range(QUALITY_BURST - 1):  # her first report counted too
            await alice.request("quality", "create", data={"call": C, "rtt_ms": 40.0},
                                expect=201)
        await alice.request("quality", "create", data={"call": C, "rtt_ms": 40.0}, expect=429)
        await bob.request("quality", "list", call=C, last=2, expect=200)

    async with section("call-hangup", "alice hangs up: the call ends for both"):
        ended = data_of(await alice.request("calls", "hangup", pk=C, expect=200)) or {}
        t.check(ended.get("state") == "ended" and ended.get("end_reason") == "hangup"
                and isinstance(ended.get("duration"), float), "ended, hangup, with a duration")
        await pushed(everyone, "update", C, "ended", "hangup")

    # --- The other ends of a call -------------------------------------------------------------
    async with section("call-reject", "bob declines a call (from his second tab)"):
        rejected = await invite(alice, "bob", everyone)
        await bob2.request("calls", "reject", pk=rejected, expect=200)
        await pushed(everyone, "update", rejected, "rejected", "rejected")

    async with section("call-cancel", "alice hangs up before bob answers"):
        cancelled = await invite(alice, "bob", everyone)
        await alice.request("calls", "hangup", pk=cancelled, expect=200)
        await pushed(everyone, "update", cancelled, "cancelled", "cancelled")

    async with section("call-missed", f"Nobody answers: the call rings out ({RING_SECONDS} s)"):
        missed = await invite(alice, "bob", everyone)
        await pushed(everyone, "update", missed, "missed", "missed", timeout=RING_SECONDS + 5)
        await bob.request("calls", "accept", pk=missed, expect=409)

    async with section("call-glare", "alice and bob call each other at the same time"):
        G = await invite(alice, "bob", everyone)
        crossing = data_of(await bob.request(
            "calls", "create", data={"callee": uid["alice"]}, expect=200)) or {}
        t.check(crossing.get("id") == G and crossing.get("state") == "ringing",
                "the call already ringing between them")
        await bob.request("calls", "accept", pk=G, expect=200)
        await pushed(everyone, "update", G, "accepted")

    async with section("call-busy", "carol calls bob while he is in a call"):
        await invite(carol, "bob", (carol, bob, bob2), state="busy")

    # --- Errors -------------------------------------------------------------------------------
    async with section("call-errors-404", "carol is not a party to alice and bob's call"):
        await carol.request("calls", "retrieve", pk=G, expect=404)
        await carol.request("sdp", "subscribe_call", call=G, expect=404)
        await carol.request("ice", "list", call=G, expect=404)
        await carol.request(
            "sdp", "create", data={"call": G, "type": "offer", "sdp": SHORT_SDP}, expect=404)
        await carol.request("ice", "create", data=candidate(G, "", "abcd"), expect=404)
        await carol.request("calls", "create", data={"callee": 99999}, expect=404)

    async with section("call-errors-404-stranger", "sam shares no room with alice"):
        await sam.request("calls", "create", data={"callee": uid["alice"]}, expect=404)

    async with section("call-errors-403", "Only the callee accepts or rejects"):
        await alice.request("calls", "accept", pk=G, expect=403)
        await alice.request("calls", "reject", pk=G, expect=403)
        await carol.request("calls", "subscribe_dashboard", expect=403)

    async with section("call-errors-400", "Invalid calls, descriptions and candidates"):
        await alice.request("sdp", "create", data={"call": G, "type": "offer", "sdp": "hello"},
                            expect=400)
        await alice.request(
            "sdp", "create", data={"call": G, "type": "pranswer", "sdp": SHORT_SDP}, expect=400)
        await alice.request("ice", "create", data=candidate(G, "192.168.1.20 54400", "F7gI"),
                            expect=400)
        await alice.request("calls", "create", data={"callee": uid["alice"]}, expect=400)

    async with section("call-errors-409-live", "What an accepted call does not allow"):
        await alice.request("calls", "create", data={"callee": uid["carol"]}, expect=409)
        await bob.request("calls", "reject", pk=G, expect=409)

    async with section("call-end", "bob hangs up"):
        await bob.request("calls", "hangup", pk=G, expect=200)
        await pushed(everyone, "update", G, "ended", "hangup")

    async with section("call-errors-409", "Signaling on an ended call, accepting it"):
        await alice.request(
            "sdp", "create", data={"call": G, "type": "offer", "sdp": SHORT_SDP}, expect=409)
        await alice.request("ice", "create", data=candidate(G, "", "F7gI"), expect=409)
        await bob.request("calls", "accept", pk=G, expect=409)

    # --- Reading calls ------------------------------------------------------------------------
    async with section("calls-retrieve", "One call"):
        await bob.request("calls", "retrieve", pk=C, expect=200)

    # --- The staff dashboard ------------------------------------------------------------------
    async with section("calls-figures-live", "sam's dashboard figures, pushed as calls change"):
        live = sam.rid()
        await sam.request("calls", "subscribe_figures", request_id=live, expect=201)
        await sam.push("calls", live, "figures", lambda d: d.get("now", {}).get("ringing") == 0)
        counted = await invite(carol, "alice", (carol, alice))
        await sam.push("calls", live, "figures", lambda d: d.get("now", {}).get("ringing") == 1)
        await carol.request("calls", "hangup", pk=counted, expect=200)
        for c in (carol, alice):
            await c.push("calls", sub[c.name], "update", call_is(counted, "cancelled"))
        await sam.push("calls", live, "figures", lambda d: d.get("now", {}).get("ringing") == 0)
        await sam.request("calls", "unsubscribe_figures", request_id=live, expect=204)

    async with section("calls-dashboard", "sam watches every call"):
        dash = sam.rid()
        await sam.request("calls", "subscribe_dashboard", request_id=dash, expect=201)
        watched = await invite(carol, "alice", (carol, alice))
        await sam.push("calls", dash, "create", call_is(watched, "ringing"))
        await alice.request("calls", "accept", pk=watched, expect=200)
        for c in (carol, alice):
            await c.push("calls", sub[c.name], "update", call_is(watched, "accepted"))
        await sam.push("calls", dash, "update", call_is(watched, "accepted"))
        await carol.request("calls", "hangup", pk=watched, expect=200)
        for c in (carol, alice):
            await c.push("calls", sub[c.name], "update", call_is(watched, "ended", "hangup"))
        await sam.push("calls", dash, "update", call_is(watched, "ended", "hangup"))
        await sam.request("calls", "unsubscribe_dashboard", request_id=dash, expect=204)

    async with section("calls-list", "carol's calls, newest first"):
        await carol.request("calls", "list", expect=200)

    # --- The server's clock: the caller's last socket closes ----------------------------------
    async with section("call-caller-gone", "carol calls bob, then closes her only socket"):
        gone = await invite(carol, "bob", (carol, bob, bob2))
        await carol.close()
        await pushed((bob, bob2), "update", gone, "cancelled", "caller_gone")

    async with section("calls-unsubscribe", "bob's second tab stops listening"):
        await bob2.request("calls", "unsubscribe_calls", request_id=sub[bob2.name], expect=204)
        last = await invite(alice, "bob", (alice, bob))
        await alice.request("calls", "hangup", pk=last, expect=200)
        await pushed((alice, bob), "update", last, "cancelled", "cancelled")

    async with section("calls-close", "Everyone closes"):
        for c in list(t.clients):
            await c.close()


# --------------------------------------------------------------------------------------------
# Rendering frames for the document
# --------------------------------------------------------------------------------------------


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def pretty(value: Any, col: int) -> str:
    """JSON starting at column ``col``, wrapped to about WIDTH columns.

    Members are packed onto a line while they fit; a member too long for any line is wrapped
    in turn, its continuation lines aligned under its opening bracket.
    """
    flat = compact(value)
    if col + len(flat) > WIDTH and isinstance(value, str) and "\r\n" in value.rstrip():
        # A session description: broken after each CRLF for reading (one string on the wire).
        lines = [line + "\\r\\n" for line in flat.split("\\r\\n")]
        lines[-1] = lines[-1][:-4]
        if lines[-1] == '"':
            lines[-2:] = [lines[-2] + '"']
        return ("\n" + " " * (col + 1)).join(lines)
    if col + len(flat) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    if isinstance(value, dict):
        items = [(json.dumps(k, ensure_ascii=False) + ": ", v) for k, v in value.items()]
        opening, closing = "{", "}"
    else:
        items = [("", v) for v in value]
        opening, closing = "[", "]"
    inner = col + 1
    out = opening
    cur = inner
    first_on_line = True
    for index, (label, item) in enumerate(items):
        tail = closing if index == len(items) - 1 else ","
        piece = label + compact(item) + tail
        gap = "" if first_on_line else " "
        if cur + len(gap) + len(piece) <= WIDTH:
            out += gap + piece
            cur += len(gap) + len(piece)
            first_on_line = False
            continue
        if not first_on_line:
            out += "\n" + " " * inner
            cur = inner
        if cur + len(piece) <= WIDTH:
            out += piece
            cur += len(piece)
            first_on_line = False
            continue
        text = label + pretty(item, cur + len(label)) + tail
        out += text
        last = text.rsplit("\n", 1)[-1]
        cur = (cur + len(last)) if "\n" not in text else len(last)
        first_on_line = False
        if index < len(items) - 1:
            out += "\n" + " " * inner
            cur = inner
            first_on_line = True
    return out


def render_event(event: dict[str, Any]) -> str | None:
    who = event["client"]
    kind = event["kind"]
    if kind == "send" or kind == "recv":
        arrow = "→" if kind == "send" else "←"
        prefix = f"{who} {arrow} "
        if "frame" in event:
            return prefix + pretty(event["frame"], len(prefix))
        if "binary" in event:
            return f"{prefix}(binary frame, {event['bytes']} bytes: {event['binary']})"
        note = f"text frame, {event['bytes']:,} bytes"
        return f"{prefix}({note}) {event['text']}"
    if kind == "http":
        return f"{who} → POST {event['path']} {compact(event['body'])}"
    if kind == "http_response":
        prefix = f"{who} ← {event['status']} "
        return prefix + pretty(event["body"], len(prefix))
    if kind == "open":
        headers = "".join(f"\n    {k}: {v}" for k, v in event["headers"].items())
        return f"{who} ⇢ GET {event['path']} (WebSocket upgrade){headers}"
    if kind == "opened":
        return f"{who} ⇠ 101 Switching Protocols: open"
    if kind == "rejected":
        return f"{who} ⇠ HTTP {event['status']}: handshake refused, no socket"
    if kind == "close":
        reason = f" {event['reason']!r}" if event["reason"] else ""
        by = "the server" if event["by"] == "server" else who
        return f"{who} ✕ closed by {by}: code {event['code']}{reason}"
    return None


def render_block(t_events: list[dict[str, Any]], spec: str) -> str:
    lines = []
    for token in [s.strip() for s in spec.split(",") if s.strip()]:
        step, _, who = token.partition("@")
        clients = set(who.split("+")) if who else None
        for event in t_events:
            if event["step"] != step or (clients and event["client"] not in clients):
                continue
            text = render_event(event)
            if text is not None:
                lines.append(text)
    return "```text\n" + "\n".join(lines) + "\n```"


BLOCK = re.compile(
    r"^(?P<indent>[ ]*)(?P<open><!-- frames: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)"
    r"^(?P=indent)(?P<close><!-- /frames -->)",
    re.S | re.M,
)


def update_document(path: Path, events: list[dict[str, Any]]) -> int:
    """Regenerate every frames block of ``path``; the number of blocks."""
    if not path.exists():
        return 0
    known = {e["step"] for e in events}
    count = 0

    def fill(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        spec = match["spec"]
        for token in spec.split(","):
            step = token.strip().partition("@")[0]
            if step and step not in known:
                print(f"  ! {path.name}: unknown step {step!r}")
        indent = match["indent"]
        block = render_block(events, spec)
        body = "".join(indent + line + "\n" if line else "\n" for line in block.split("\n"))
        return indent + match["open"] + body + indent + match["close"]

    text = BLOCK.sub(fill, path.read_text())
    path.write_text(text)
    return count


# --------------------------------------------------------------------------------------------


async def run(server: Server) -> Transcript:
    t = Transcript()
    try:
        await scenario(t, server)
    finally:
        for client in list(t.clients):
            with contextlib.suppress(Exception):
                await client.close()
    return t


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["django", "channels", "djangochannelsrestframework", "channelsmultiplexer",
             "uvicorn", "websockets"]
    return {name: version(name) for name in names}


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="parley-capture-"))
    try:
        with running_server(tmp) as server:
            print(f"uvicorn on {server.http} (log: {server.log})")
            t = asyncio.run(run(server))
            log_tail = server.log.read_text()[-3000:]
    finally:
        keep = os.environ.get("CAPTURE_KEEP_TMP")
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    out = {
        "captured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python docs/capture.py",
        "versions": versions(),
        "steps": t.steps,
        "missing": t.missing,
        "unexpected": t.unexpected,
        "events": t.events,
    }
    (DOCS / "frames.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    blocks = update_document(DOCS / "protocol.md", t.events)
    print(f"{len(t.events)} events in {len(t.steps)} steps -> docs/frames.json; "
          f"{blocks} frame blocks refreshed in docs/protocol.md")
    if t.missing or t.unexpected:
        print(f"{len(t.missing)} expected frames missing, {len(t.unexpected)} unexpected frames "
              "(listed in docs/frames.json)")
    if "Traceback" in log_tail or "ERROR" in log_tail:
        print("server log (tail):\n" + log_tail)
    return 1 if t.missing or t.unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
