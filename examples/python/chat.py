"""Parley from Python on ``websockets``: sign in as a guest, create a room, follow its messages,
post one and receive its push; then lose the socket, miss a message, reconnect and catch up as
docs/protocol.md ("Reconnecting and catching up") says.

    .venv/bin/python examples/python/chat.py

PARLEY_URL says where Parley is (default http://127.0.0.1:8000). Prints a plain line per step;
exits 0 when every step worked, 1 with the reason on stderr otherwise. Only the standard library
besides websockets (which ``make run`` installs with uvicorn).
"""

import asyncio
import itertools
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PARLEY_URL = os.environ.get("PARLEY_URL", "http://127.0.0.1:8000").rstrip("/")
WS_URL = "ws" + PARLEY_URL.removeprefix("http") + "/ws/"
PAGE = 50  # messages per ``list`` page: a full page means there may be more
WAIT_SECONDS = 10  # for any one reply or push

Frame = dict[str, Any]
last_step = "starting"


class Refused(Exception):
    """Parley answered a request with an error status."""


def say(line: str) -> None:
    global last_step
    last_step = line
    print(line, flush=True)


def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
    """POST JSON to Parley's REST API, as the token's user if one is given; the decoded answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(PARLEY_URL + path, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            answer = response.read()
    except urllib.error.HTTPError as exc:
        raise Refused(f"POST {path} answered {exc.code}: {exc.read().decode()}") from exc
    except urllib.error.URLError as exc:
        raise Refused(
            f"cannot reach Parley at {PARLEY_URL} ({exc.reason}): is it running (make run)?"
        ) from exc
    return json.loads(answer) if answer else None


class Socket:
    """One Parley socket: each request's reply found by its request_id, pushes kept aside."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.request_ids = itertools.count(1)
        self.pushes: list[Frame] = []

    async def request(self, stream: str, action: str, **args: Any) -> Any:
        """Send a request and return its reply's data; an error reply raises Refused."""
        request_id = next(self.request_ids)
        payload = {"action": action, "request_id": request_id, **args}
        await self.websocket.send(json.dumps({"stream": stream, "payload": payload}))
        # A push may come before the reply; a subscription's pushes echo its request_id too.
        reply = await self.receive(
            lambda f: f["payload"].get("request_id") == request_id
            and f["payload"].get("action") == action
        )
        if reply["payload"]["response_status"] >= 300:
            raise Refused(f"{stream} {action} was refused: {json.dumps(reply['payload'])}")
        return reply["payload"]["data"]

    async def push(self, matches: Callable[[Frame], bool]) -> Frame:
        """The first push that ``matches``, already received or still to come."""
        for frame in self.pushes:
            if matches(frame):
                self.pushes.remove(frame)
                return frame
        return await self.receive(matches)

    async def receive(self, matches: Callable[[Frame], bool]) -> Frame:
        """Read frames until one ``matches``; keep the others as pushes."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                frame = json.loads(await self.websocket.recv())
                if matches(frame):
                    return frame
                self.pushes.append(frame)

    async def message_pushed(self, message_id: int) -> Frame:
        """The push of a new message."""
        frame = await self.push(
            lambda f: f["stream"] == "messages"
            and f["payload"].get("action") == "create"
            and f["payload"]["data"]["id"] == message_id
        )
        return frame["payload"]["data"]


class Messages:
    """The messages seen, each once."""

    def __init__(self) -> None:
        self.by_id: dict[int, Frame] = {}

    @property
    def last_id(self) -> int:
        return max(self.by_id, default=0)

    def keep(self, message: Frame, how: str) -> None:
        """Keep a message; one that arrives twice (pushed and listed) is kept and shown once."""
        if message["id"] in self.by_id:
            return
        self.by_id[message["id"]] = message
        author = message["author"]["display_name"]
        say(f"{how}: message {message['id']} by {author}: {json.dumps(message['body'])}")


def open_socket(token: str) -> Any:
    """``async with open_socket(token) as websocket``: a socket signed in with the API token."""
    return connect(f"{WS_URL}?token={token}")


async def catch_up(socket: Socket, room: Frame, messages: Messages) -> None:
    """List what was posted after the last message seen, a page at a time."""
    while True:
        page = await socket.request(
            "messages", "list", room=room["id"], after=messages.last_id, limit=PAGE
        )
        for message in page:
            messages.keep(message, "caught up")
        if len(page) < PAGE:
            return


async def bob_joins(room: Frame) -> Frame:
    """Bob, a second guest, joins the room over REST (he needs no socket)."""
    bob = await asyncio.to_thread(post, "/api/auth/guest/", {"display_name": "Bob"})
    await asyncio.to_thread(post, f"/api/rooms/{room['id']}/join/", {}, bob["token"])
    return bob


async def bob_posts(bob: Frame, room: Frame, body: str) -> Frame:
    """Bob posts over REST; it is pushed to the room's sockets like a message posted on one."""
    message = {"room": room["id"], "body": body}
    return await asyncio.to_thread(post, "/api/messages/", message, bob["token"])


async def main() -> None:
    ada = await asyncio.to_thread(post, "/api/auth/guest/", {"display_name": "Ada"})
    say(f"signed in as {ada['user']['display_name']} ({ada['user']['username']})")
    messages = Messages()

    async with open_socket(ada["token"]) as websocket:
        socket = Socket(websocket)
        name = f"hello-{uuid.uuid4().hex[:8]}"
        room = await socket.request("rooms", "create", data={"name": name, "title": "Hello"})
        say(f"created room {room['name']} (id {room['id']})")
        await socket.request("messages", "subscribe_room", room=room["id"])
        say("subscribed to its messages")
        # A client_id makes a retry after a lost reply safe: Parley answers with the first one.
        body = {"room": room["id"], "body": "Hello from Python", "client_id": str(uuid.uuid4())}
        sent = await socket.request("messages", "create", data=body)
        messages.keep(await socket.message_pushed(sent["id"]), "pushed")
    say("socket closed")

    bob = await bob_joins(room)
    missed = await bob_posts(bob, room, "Ada, did you miss this?")
    say(f"Bob posted message {missed['id']} over REST while Ada was away")

    async with open_socket(ada["token"]) as websocket:
        socket = Socket(websocket)
        # Subscriptions end with their socket. Subscribe again before listing, so that nothing
        # falls between the two (a message both listed and pushed is kept once).
        await socket.request("messages", "subscribe_room", room=room["id"])
        say("reconnected and subscribed again")
        await catch_up(socket, room, messages)
        # The subscription is live again: Bob's next message is pushed.
        welcome = await bob_posts(bob, room, "Welcome back")
        messages.keep(await socket.message_pushed(welcome["id"]), "pushed")
    say(f"done: {len(messages.by_id)} messages, each shown once")


def run() -> int:
    """Run main(); turn what can go wrong into one line on stderr and exit status 1."""
    try:
        asyncio.run(main())
    except Refused as exc:
        reason = str(exc)
    except ConnectionClosed as exc:
        reason = f"the socket closed: {exc}"
        if exc.rcvd is not None and exc.rcvd.code == 4401:
            reason = "Parley refused the token (close code 4401)"
    except TimeoutError:
        reason = f"no answer within {WAIT_SECONDS} s; the last step done: {last_step}"
    except OSError as exc:
        reason = f"cannot reach Parley at {WS_URL} ({exc}): is it running (make run)?"
    else:
        return 0
    print(f"chat.py failed: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(run())
