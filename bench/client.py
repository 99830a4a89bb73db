"""The load client: asyncio + ``websockets``, one process, only 127.0.0.1, bounded waits.

The same client drives both apps: both speak ``{"stream": ..., "payload": {...}}`` frames with
DCRF's reply envelope (``action``, ``request_id``, ``response_status``, ``data``). The only
differences are Parley's sign-in (``?token=`` from ``POST /api/auth/guest/``) and its ``join``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.servers import App

REQUEST_TIMEOUT = 15.0
OPEN_TIMEOUT = 15.0
CONNECT_CONCURRENCY = 20
SIGN_IN_THREADS = 8

now = time.perf_counter


class RequestFailed(Exception):
    pass


class Socket:
    """One WebSocket: replies matched by request_id, subscription pushes handed to a callback."""

    _ids = itertools.count(1)

    def __init__(self, ws: ClientConnection, on_push: Callable[[float, dict], None] | None = None,
                 push_id: str = "sub") -> None:
        self.ws = ws
        self.on_push = on_push
        self.push_id = push_id
        self.waiters: dict[Any, asyncio.Future] = {}
        self.unexpected = 0
        self.close_code: int | None = None
        self.closed_by_us = False
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                received = now()
                frame = json.loads(raw)
                payload = frame.get("payload") if isinstance(frame, dict) else None
                if not isinstance(payload, dict):
                    self.unexpected += 1
                    continue
                request_id = payload.get("request_id")
                waiter = self.waiters.pop(request_id, None)
                if waiter is not None:
                    if not waiter.done():
                        waiter.set_result((received, payload))
                elif request_id == self.push_id and self.on_push is not None:
                    self.on_push(received, payload)
                else:
                    self.unexpected += 1
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code if self.ws.close_code is not None else -1
            for waiter in self.waiters.values():
                if not waiter.done():
                    waiter.set_exception(RequestFailed(f"socket closed ({self.close_code})"))

    @property
    def dropped(self) -> bool:
        """Closed, and not by us."""
        return self.reader.done() and not self.closed_by_us

    async def send(self, stream: str, payload: dict) -> asyncio.Future:
        """Send a request; the returned future resolves to (receipt time, reply payload)."""
        request_id = f"r{next(self._ids)}"
        waiter: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waiters[request_id] = waiter
        await self.ws.send(json.dumps({"stream": stream, "payload": {**payload,
                                                                     "request_id": request_id}}))
        return waiter

    async def request(self, stream: str, action: str, **args: Any) -> tuple[float, dict]:
        """Send and wait for the reply; a non-2xx reply raises."""
        waiter = await self.send(stream, {"action": action, **args})
        received, payload = await asyncio.wait_for(waiter, REQUEST_TIMEOUT)
        status = payload.get("response_status")
        if not isinstance(status, int) or not 200 <= status < 300:
            raise RequestFailed(f"{stream}/{action}: {status} {payload.get('errors')}")
        return received, payload

    async def subscribe(self, room: int) -> None:
        """``subscribe_room`` with the fixed push id (one subscription per socket)."""
        waiter: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waiters[self.push_id] = waiter
        await self.ws.send(json.dumps({"stream": "messages", "payload": {
            "action": "subscribe_room", "request_id": self.push_id, "room": room}}))
        _, payload = await asyncio.wait_for(waiter, REQUEST_TIMEOUT)
        if payload.get("response_status") not in (200, 201):
            raise RequestFailed(f"subscribe_room: {payload}")

    async def close(self) -> None:
        self.closed_by_us = True
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except (asyncio.TimeoutError, ConnectionClosed, OSError):
            pass
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


@dataclass
class Tracker:
    """Receipts of one app's fan-out messages: which socket got which sequence number, when."""

    expected: int = 0
    current: int = -1
    got_current: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    sent_at: dict[int, float] = field(default_factory=dict)
    receipts: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    seen: set[tuple[int, int]] = field(default_factory=set)
    duplicates: int = 0
    malformed: int = 0

    def handler(self, socket_index: int) -> Callable[[float, dict], None]:
        def on_push(received: float, payload: dict) -> None:
            try:
                seq = int(payload["data"]["body"].rsplit(" ", 1)[1])
            except (KeyError, TypeError, ValueError, IndexError):
                self.malformed += 1
                return
            key = (socket_index, seq)
            if key in self.seen:
                self.duplicates += 1
                return
            self.seen.add(key)
            self.receipts[seq].append(received)
            if seq == self.current:
                self.got_current += 1
                if self.got_current >= self.expected:
                    self.done.set()

        return on_push


class Client:
    """Drives one app: sign-ins (Parley), a sender socket, a pool of subscriber sockets."""

    def __init__(self, app: App, *, compression: str | None) -> None:
        self.app = app
        self.compression = compression
        self.parley = app.name == "parley"
        self.tokens: list[str] = []
        self.sender: Socket | None = None
        self.room = 0
        self.subscribers: list[Socket] = []
        self.tracker = Tracker()
        self.stalls: list[dict] = []

    # --- setup ------------------------------------------------------------------------------

    def sign_in(self, count: int) -> None:
        """Parley guests (one per socket), signed in over HTTP across the app's processes."""
        if not self.parley:
            return
        urls = [p.http + "/api/auth/guest/" for p in self.app.processes]

        def one(index: int) -> str:
            body = json.dumps({"display_name": f"bench {index}"}).encode()
            request = urllib.request.Request(urls[index % len(urls)], data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return str(json.loads(response.read())["token"])

        with ThreadPoolExecutor(SIGN_IN_THREADS) as pool:
            self.tokens += list(pool.map(one, range(len(self.tokens), count)))

    async def open(self, index: int, process: int, **kwargs: Any) -> Socket:
        url = self.app.processes[process].ws
        if self.parley:
            url += f"?token={self.tokens[index]}"
        ws = await connect(url, compression=self.compression, max_size=2**20,
                           open_timeout=OPEN_TIMEOUT, ping_interval=None, close_timeout=5)
        return Socket(ws, **kwargs)

    async def setup_sender(self, room_name: str) -> None:
        """The sender socket (token 0, process 0) and the room it creates."""
        self.sender = await self.open(0, 0)
        _, reply = await self.sender.request("rooms", "create",
                                             data={"name": room_name, "title": "Benchmark"})
        self.room = int(reply["data"]["id"])

    async def grow(self, count: int) -> None:
        """Open, join (Parley) and subscribe sockets until ``count`` follow the room."""
        processes = len(self.app.processes)
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(index: int) -> Socket:
            async with limit:
                socket = await self.open(index + 1, index % processes,
                                         on_push=self.tracker.handler(index))
                if self.parley:
                    await socket.request("rooms", "join", pk=self.room)
                await socket.subscribe(self.room)
                return socket

        start = len(self.subscribers)
        results = await asyncio.gather(*(one(i) for i in range(start, count)),
                                       return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        self.subscribers += [r for r in results if isinstance(r, Socket)]
        if failures:
            raise RequestFailed(f"{self.app.name}: {len(failures)} subscribers failed to set up, "
                                f"first: {failures[0]!r}")

    # --- measures ---------------------------------------------------------------------------

    async def create(self, body: str) -> tuple[float, dict]:
        """One ``create`` on the sender socket: (round trip in seconds, reply payload)."""
        assert self.sender is not None
        sent = now()
        received, payload = await self.sender.request(
            "messages", "create", data={"room": self.room, "body": body})
        return received - sent, payload

    async def fan_out_one(self, seq: int, timeout: float) -> bool:
        """Send message ``seq`` and wait until every subscriber got it (or the timeout)."""
        assert self.sender is not None
        tracker = self.tracker
        tracker.current, tracker.got_current = seq, 0
        tracker.expected = len(self.subscribers)
        tracker.done.clear()
        tracker.sent_at[seq] = now()
        waiter = await self.sender.send("messages", {
            "action": "create", "data": {"room": self.room, "body": f"fan {seq}"}})
        try:
            await asyncio.wait_for(asyncio.gather(tracker.done.wait(), waiter), timeout)
            return True
        except (asyncio.TimeoutError, RequestFailed) as exc:
            self.stalls.append({"seq": seq, "error": repr(exc), "pushes": tracker.got_current,
                                "expected": tracker.expected, "reply": waiter.done()
                                and not waiter.cancelled()})
            return False

    def dropped(self) -> int:
        sockets = self.subscribers + ([self.sender] if self.sender else [])
        return sum(1 for s in sockets if s.dropped)

    async def close(self) -> None:
        sockets = self.subscribers + ([self.sender] if self.sender else [])
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        self.subscribers, self.sender = [], None
