"""Issue 7's targets: Parley beside the stack's limit (a raw ASGI app), the naive DCRF app and
the seed's signaling relay, measured in one run: ``python -m bench.run`` (or ``--only``).

Every measure starts its own servers on fresh copies of one seeded SQLite database (users with
API tokens, in rooms of 50, made in bulk before any server starts: signing in thousands of
guests over HTTP would take minutes and is not what is measured). See bench/README.md for
what each figure means exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import servers
from bench.client import Client

now = time.perf_counter
REDIS_URL = "redis://127.0.0.1:6379/0"
ROOM_SIZE = 50
# A session description the size of a browser's offer with audio and video (~3.3 KB).
SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + "".join(
    f"a=candidate:{i} 1 udp 2122260223 192.168.1.{i} 5{i:04d} typ host generation 0\r\n"
    for i in range(40)
)[:3200]
CONCURRENCY = 100  # sockets opening at once, per client process


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def raise_fd_limit() -> None:
    """Thousands of sockets: the client and the servers it starts need the hard fd limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------------------------
# Servers and data
# --------------------------------------------------------------------------------------------


class Lab:
    """The run's temporary directory, its seeded Parley database and every process started."""

    def __init__(self, tmp: Path, users: int) -> None:
        self.tmp = tmp
        self.started: list[servers.Process] = []
        self.template = tmp / "parley-seeded.sqlite3"
        self.users = users
        self.seed: dict[str, Any] = {}

    def prepare(self) -> None:
        env = servers.parley_env(self.template, None, "")
        self.seed = self.populate(env, self.users, "seed")
        self.postgres = servers.postgres_answers()

    def populate(self, env: dict[str, str], users: int, tag: str) -> dict[str, Any]:
        """Migrate the database of ``env`` and fill it with ``users`` users with tokens."""
        servers.migrate(env, self.tmp / f"{tag}-migrate.log")
        script = SEED.replace("USERS", str(users)).replace("ROOM_SIZE", str(ROOM_SIZE))
        out = subprocess.run(
            [sys.executable, "-m", "django", "shell", "-c", script], cwd=servers.ROOT, env=env,
            check=True, capture_output=True, text=True, timeout=600,
        ).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    def parley(self, tag: str, processes: int = 1, redis: str | None = None,
               extra: dict[str, str] | None = None, users: int = 0) -> servers.App:
        """Parley on a copy of the seeded SQLite file; over Redis, on a new PostgreSQL
        database with ``users`` users (several processes writing one SQLite file queue on its
        single write lock: not how Parley runs past one process)."""
        prefix = f"bench-{tag}-{uuid.uuid4().hex[:8]}"
        app = servers.App("parley", prefix=prefix if redis else "")
        if redis and self.postgres:
            app.database_url = servers.postgres_create(f"parley_bench_{uuid.uuid4().hex[:10]}")
            env = {**servers.parley_env(None, redis, prefix, app.database_url), **(extra or {})}
            app.seed = self.populate(env, users, tag)
        else:
            app.db = self.tmp / f"{tag}.sqlite3"
            shutil.copyfile(self.template, app.db)
            env = {**servers.parley_env(app.db, redis, prefix), **(extra or {})}
            app.seed = self.seed
        for index in range(processes):
            self.spawn(app, "project.asgi:application", env, f"{tag}-parley-{index}")
        return app

    def naive(self, tag: str, processes: int = 1, redis: str | None = None) -> servers.App:
        db = self.tmp / f"{tag}-naive.sqlite3"
        prefix = f"bench-{tag}-naive-{uuid.uuid4().hex[:8]}"
        env = servers.naive_env(db, redis, prefix)
        servers.migrate(env, self.tmp / f"{tag}-naive-migrate.log")
        app = servers.App("naive", prefix=prefix if redis else "")
        for index in range(processes):
            self.spawn(app, "bench.naive.asgi:application", env, f"{tag}-naive-{index}",
                       grace=3.0)
        return app

    def raw(self, tag: str) -> servers.App:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        app = servers.App("raw")
        self.spawn(app, "bench.raw.app:app", env, f"{tag}-raw")
        return app

    def relay(self, tag: str, processes: int = 1, redis: str | None = None) -> servers.App:
        prefix = f"bench-{tag}-relay-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CHANNEL_PREFIX"}}
        env["DJANGO_SETTINGS_MODULE"] = "bench.relay.settings"
        if redis:
            env.update(REDIS_URL=redis, CHANNEL_PREFIX=prefix)
        app = servers.App("relay", prefix=prefix if redis else "")
        for index in range(processes):
            self.spawn(app, "bench.relay.asgi:application", env, f"{tag}-relay-{index}")
        return app

    def spawn(self, app: servers.App, asgi: str, env: dict[str, str], name: str,
              grace: float = 10.0) -> None:
        process = servers.spawn(asgi, env, self.tmp / f"{name}.log")
        process.grace = grace
        self.started.append(process)
        app.processes.append(process)
        servers.wait_ready(process)

    def stop(self, *apps: servers.App) -> None:
        processes = [p for app in apps for p in app.processes]
        servers.stop(processes)
        prefixes = [app.prefix for app in apps if app.prefix]
        if prefixes:
            servers.redis_forget(prefixes)
        for app in apps:
            if app.database_url:
                servers.postgres_drop(app.database_url)


SEED = """
import json, secrets
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rooms.models import Membership, Room
count, size = USERS, ROOM_SIZE
User.objects.bulk_create([User(username=f"bench-{i}", first_name=f"Bench {i}")
                          for i in range(count)], batch_size=2000)
users = list(User.objects.order_by("pk").values_list("pk", flat=True))
Token.objects.bulk_create([Token(key=secrets.token_hex(20), user_id=u) for u in users],
                          batch_size=2000)
tokens = dict(Token.objects.values_list("user_id", "key"))
Room.objects.bulk_create([Room(name=f"bench-{i}", title="Bench", owner_id=users[i])
                          for i in range(0, count, size)], batch_size=2000)
room_of = dict(Room.objects.values_list("owner_id", "pk"))
members, rooms = [], []
for i, user in enumerate(users):
    room = room_of[users[i - i % size]]
    members.append(Membership(room_id=room, user_id=user,
                              role="owner" if i % size == 0 else "member"))
    rooms.append(room)
Membership.objects.bulk_create(members, batch_size=2000)
print(json.dumps({"users": users, "tokens": [tokens[u] for u in users], "rooms": rooms}))
"""


def presence_rows(db: Path | None) -> int:
    """Presence rows left in a Parley database (and connection rows of the older layout)."""
    assert db is not None
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        wanted = [t for t in tables if t == "rooms_connection"
                  or (t.startswith("presence_") and t != "presence_worker")]
        return sum(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in wanted)


async def idle(app: servers.App, limit: float = 60.0) -> float:
    """Wait until the app's processes stop working (under 2% CPU over 0.5 s); the wall time."""
    began = now()
    last = app.cpu_seconds()
    while now() - began < limit:
        await asyncio.sleep(0.5)
        cpu = app.cpu_seconds()
        if cpu - last < 0.01 * len(app.processes):
            break
        last = cpu
    return now() - began


# --------------------------------------------------------------------------------------------
# Fan-out, one process: CPU per delivery beside the raw app; burst beside the naive app
# --------------------------------------------------------------------------------------------


async def fan_out_one_process(lab: Lab, args: Any) -> list[dict]:
    from bench.run import measure_fan_out

    apps = {"parley": lab.parley("fan1"), "naive": lab.naive("fan1"), "raw": lab.raw("fan1")}
    clients = {name: Client(app, compression=args.compression) for name, app in apps.items()}
    clients["parley"].tokens = apps["parley"].seed["tokens"]
    rows: list[dict] = []
    try:
        for client in clients.values():
            await client.setup_sender("bench-fan")
        for n in args.fan_n:
            messages = 30 if n <= 100 else 20 if n <= 500 else 6
            log(f"  fan-out N={n} (1 process): parley, naive, raw; {messages} messages each")
            rows += await measure_fan_out(clients, apps, n, messages, 1, 60.0, seq0=n * 1000)
            if n == 500:
                rows += await burst(clients, apps, n, args.burst)
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)
        lab.stop(*apps.values())
    for row in rows:
        row["config"] = "memory-1p"
    return rows


async def burst(clients: dict[str, Client], apps: dict[str, servers.App], n: int,
                messages: int) -> list[dict]:
    """Each app's sender posts ``messages`` without waiting; deliveries/s until the last push."""
    rows = []
    for name, client in clients.items():
        assert client.sender is not None
        counter = PushCounter(expected=n * messages)
        saved = [(s, s.on_push) for s in client.subscribers]
        for socket in client.subscribers:
            socket.on_push = counter.count
        cpu = apps[name].cpu_seconds()
        began = now()
        for i in range(messages):
            await client.sender.send("messages", {
                "action": "create", "data": {"room": client.room, "body": f"burst {i}"}})
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(counter.done.wait(), 120)
        elapsed = (counter.last or now()) - began
        await asyncio.sleep(0.3)
        cpu = apps[name].cpu_seconds() - cpu
        for socket, handler in saved:
            socket.on_push = handler
        rows.append({
            "measure": "burst", "app": name, "n": n, "messages": messages,
            "expected": counter.expected, "received": counter.got,
            "lost": counter.expected - counter.got, "seconds": round(elapsed, 3),
            "deliveries_per_s": round(counter.got / elapsed) if elapsed > 0 else None,
            "server_cpu_us_per_delivery": round(cpu / max(1, counter.got) * 1e6, 1),
        })
        log(f"    burst {name}: {rows[-1]['deliveries_per_s']} deliveries/s, "
            f"lost {rows[-1]['lost']}")
    return rows


class PushCounter:
    """Counts pushes until ``expected`` arrived; when the last one did."""

    def __init__(self, expected: int) -> None:
        self.expected, self.got, self.last = expected, 0, 0.0
        self.done = asyncio.Event()

    def count(self, received: float, payload: dict) -> None:
        self.got += 1
        self.last = received
        if self.got >= self.expected:
            self.done.set()


async def fan_out_redis(lab: Lab, args: Any) -> list[dict]:
    """Two processes each over Redis, N=2000: Parley's latency (naive beside it)."""
    from bench.run import measure_fan_out

    redis = REDIS_URL
    apps = {"parley": lab.parley("fan2", 2, redis, users=args.redis_n + 1),
            "naive": lab.naive("fan2", 2, redis)}
    clients = {name: Client(app, compression=args.compression) for name, app in apps.items()}
    clients["parley"].tokens = apps["parley"].seed["tokens"]
    try:
        for client in clients.values():
            await client.setup_sender("bench-fan2")
        log(f"  fan-out N={args.redis_n} (Redis, 2 processes): parley, naive")
        rows = await measure_fan_out(clients, apps, args.redis_n, 20, 1, 60.0, seq0=1)
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)
        lab.stop(*apps.values())
    for row in rows:
        row["config"] = "redis-2p"
        row["measure"] = "fan-out-redis"
    return rows


# --------------------------------------------------------------------------------------------
# Signaling: Parley's sdp stream beside the seed's relay
# --------------------------------------------------------------------------------------------


class Pair:
    """A caller and a callee: each offer is timed from its send to the callee's push."""

    def __init__(self, caller: ClientConnection, callee: ClientConnection) -> None:
        self.caller, self.callee = caller, callee
        self.latencies: list[float] = []
        self.arrived: asyncio.Queue[float] = asyncio.Queue()
        self.readers = [asyncio.create_task(self.drain(caller)),
                        asyncio.create_task(self.watch(callee))]

    async def drain(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass  # replies to the caller: read, not timed

    async def watch(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                if self.is_offer(json.loads(raw)):
                    self.arrived.put_nowait(now())

    def is_offer(self, frame: dict) -> bool:
        raise NotImplementedError

    async def offer(self) -> None:
        raise NotImplementedError

    async def relay(self, count: int) -> None:
        for _ in range(count):
            sent = now()
            await self.offer()
            received = await asyncio.wait_for(self.arrived.get(), 30)
            self.latencies.append(received - sent)

    async def close(self) -> None:
        for ws in (self.caller, self.callee):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        for reader in self.readers:
            reader.cancel()


class ParleyPair(Pair):
    call = 0

    def is_offer(self, frame: dict) -> bool:
        payload = frame.get("payload", {})
        return bool(payload.get("request_id") == "sdp" and payload.get("action") == "create")

    async def offer(self) -> None:
        await self.caller.send(json.dumps({"stream": "sdp", "payload": {
            "action": "create", "request_id": "o", "data": {
                "call": self.call, "type": "offer", "sdp": SDP}}}))


class RelayPair(Pair):
    callee_name = ""

    def is_offer(self, frame: dict) -> bool:
        return frame.get("type") == "call_received"

    async def offer(self) -> None:
        await self.caller.send(json.dumps({"type": "call", "data": {
            "name": self.callee_name, "rtcMessage": {"type": "offer", "sdp": SDP}}}))


async def request(ws: ClientConnection, stream: str, action: str, request_id: str = "",
                  **args: Any) -> dict:
    """Send a request and read frames until its reply (set-up only: nothing else is timed)."""
    request_id = request_id or uuid.uuid4().hex
    await ws.send(json.dumps({"stream": stream, "payload": {
        "action": action, "request_id": request_id, **args}}))
    async with asyncio.timeout(30):
        while True:
            frame = json.loads(await ws.recv())
            payload = frame.get("payload", {})
            if payload.get("request_id") == request_id:
                if not 200 <= payload.get("response_status", 0) < 300:
                    raise RuntimeError(f"{stream}/{action}: {payload}")
                return payload


async def open_ws(url: str, compression: str | None) -> ClientConnection:
    return await connect(url, compression=compression, max_size=2**22, open_timeout=60,
                         ping_interval=None, close_timeout=5)


async def parley_pairs(app: servers.App, lab: Lab, first: int, count: int,
                       compression: str | None) -> list[Pair]:
    """Each pair in an accepted call, both following its ``sdp`` stream; with two processes the
    caller and callee of a pair are on different ones, callers alternating between them (as a
    load balancer spreads users)."""
    tokens, users = app.seed["tokens"], app.seed["users"]

    async def one(i: int) -> Pair:
        a, b = first + 2 * i, first + 2 * i + 1
        here, there = placement(app, i)
        caller = await open_ws(f"{here.ws}?token={tokens[a]}", compression)
        callee = await open_ws(f"{there.ws}?token={tokens[b]}", compression)
        call = await request(caller, "calls", "create", data={"callee": users[b]})
        call_id = call["data"]["id"]
        await request(callee, "calls", "accept", pk=call_id)
        for ws, rid in ((caller, "sdp-a"), (callee, "sdp")):
            await request(ws, "sdp", "subscribe_call", call=call_id, request_id=rid)
        pair = ParleyPair(caller, callee)
        pair.call = call_id
        return pair

    return await gather_limited(one, range(count))


async def relay_pairs(app: servers.App, first: int, count: int,
                      compression: str | None) -> list[Pair]:
    async def one(i: int) -> Pair:
        here, there = placement(app, i)
        caller = await open_ws(here.ws, compression)
        callee = await open_ws(there.ws, compression)
        for ws, name in ((caller, f"caller-{first + i}"), (callee, f"callee-{first + i}")):
            await ws.recv()  # "connection"
            await ws.send(json.dumps({"type": "login", "data": {"name": name}}))
        pair = RelayPair(caller, callee)
        pair.callee_name = f"callee-{first + i}"
        await asyncio.sleep(0.05)  # login is not acknowledged by the seed's consumer
        return pair

    return await gather_limited(one, range(count))


async def relay_round(app: servers.App, pairs: list[Pair], offers: int) -> dict:
    """Every pair relays ``offers`` offers, one in flight each: relays/s, latency, CPU."""
    for pair in pairs:
        pair.latencies.clear()
    cpu = app.cpu_seconds()
    began = now()
    results = await asyncio.gather(*(p.relay(offers) for p in pairs), return_exceptions=True)
    elapsed = now() - began
    cpu = app.cpu_seconds() - cpu
    done = sum(len(p.latencies) for p in pairs)
    latencies = sorted(t for p in pairs for t in p.latencies)
    return {
        "relays": done, "failed_pairs": sum(isinstance(r, BaseException) for r in results),
        "seconds": round(elapsed, 2), "relays_per_s": round(done / elapsed),
        "p50_ms": round(latencies[len(latencies) // 2] * 1e3, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1e3, 2) if latencies else None,
        "server_cpu_us_per_relay": round(cpu / max(1, done) * 1e6),
    }


def placement(app: servers.App, pair: int) -> tuple[servers.Process, servers.Process]:
    """The processes of a pair's caller and callee: the same one, or (with two) one each,
    callers alternating."""
    processes = app.processes
    return processes[pair % len(processes)], processes[(pair + 1) % len(processes)]


async def gather_limited(func: Callable[..., Awaitable[Any]], *items: Iterable[Any],
                         limit: int = CONCURRENCY) -> list[Any]:
    """``func(*args)`` for each tuple of ``zip(*items)``, at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def run(args: tuple) -> Any:
        async with gate:
            return await func(*args)

    return list(await asyncio.gather(*(run(args) for args in zip(*items))))


async def signaling(lab: Lab, args: Any, config: str) -> list[dict]:
    redis = REDIS_URL if config == "redis-2p" else None
    processes = 2 if redis else 1
    apps = {"parley": lab.parley(f"sig-{config}", processes, redis, users=100 + 2 * args.pairs),
            "relay": lab.relay(f"sig-{config}", processes, redis)}
    rows: list[dict] = []
    try:
        if config == "memory-1p":
            # One pair, one offer in flight: the latency a call set-up sees.
            pairs = {"parley": await parley_pairs(apps["parley"], lab, 0, 1, args.compression),
                     "relay": await relay_pairs(apps["relay"], 0, 1, args.compression)}
            for _ in range(args.pair_rounds):  # alternating blocks of 20
                for name in ("parley", "relay"):
                    await pairs[name][0].relay(20)
            for name, (pair,) in pairs.items():
                latencies = sorted(pair.latencies)
                rows.append({"measure": "signaling-1", "config": config, "app": name,
                             "relays": len(latencies),
                             "p50_ms": round(latencies[len(latencies) // 2] * 1e3, 3),
                             "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1e3, 3)})
                await pair.close()
            log(f"    one pair: parley p50 {rows[-2]['p50_ms']} ms, relay {rows[-1]['p50_ms']} ms")
        n = args.pairs
        pairs = {"parley": await parley_pairs(apps["parley"], lab, 100, n, args.compression),
                 "relay": await relay_pairs(apps["relay"], 100, n, args.compression)}
        # Rounds alternating between the apps (the machine is noisy): the median round counts.
        rounds: dict[str, list[dict]] = {"relay": [], "parley": []}
        for round_no in range(args.pair_rounds_many):
            for name in ("relay", "parley") if round_no % 2 == 0 else ("parley", "relay"):
                rounds[name].append(await relay_round(apps[name], pairs[name], args.pair_offers))
        for name, measured in rounds.items():
            measured.sort(key=lambda r: r["relays_per_s"])
            median = measured[len(measured) // 2]
            rows.append({"measure": f"signaling-{n}", "config": config, "app": name, **median,
                         "rounds_relays_per_s": [r["relays_per_s"] for r in measured]})
            log(f"    {n} pairs ({config}) {name}: {median['relays_per_s']} relays/s "
                f"(rounds: {rows[-1]['rounds_relays_per_s']})")
        for group in pairs.values():
            await asyncio.gather(*(p.close() for p in group))
    finally:
        lab.stop(*apps.values())
    return rows


# --------------------------------------------------------------------------------------------
# Sockets: CPU per open and close, memory per idle socket
# --------------------------------------------------------------------------------------------


async def open_socket(app: servers.App, compression: str | None, token: str | None,
                      room: int | None = None) -> ClientConnection:
    """A socket to ``app``; with a ``room``, subscribed as an idle tab in that room is."""
    url = app.processes[0].ws + (f"?token={token}" if token else "")
    ws = await open_ws(url, compression)
    for stream, args in subscriptions(app.name, room) if room is not None else []:
        await request(ws, stream, args.pop("action"), **args)
    return ws


def subscriptions(app: str, room: int) -> list[tuple[str, dict]]:
    """What a socket subscribes to when idle: as the browser app in a room (Parley), or the
    room's messages (naive, raw)."""
    if app == "parley":
        return [("rooms", {"action": "subscribe_rooms"}), ("calls", {"action": "subscribe_calls"}),
                ("messages", {"action": "subscribe_room", "room": room}),
                ("presence", {"action": "subscribe_room", "room": room})]
    return [("messages", {"action": "subscribe_room", "room": room})]


async def sockets(lab: Lab, args: Any) -> list[dict]:
    """Per app: open N sockets subscribed as an idle browser tab is (RSS per socket); then open N
    bare sockets (CPU per open) and close them all at once (CPU per close)."""
    n = args.socket_n
    rows: list[dict] = []
    for name in ("parley", "naive", "raw"):
        app = getattr(lab, name)("sockets")
        try:
            room = 0
            if name != "parley":  # a room to follow, as Parley's users have theirs
                setup = await open_socket(app, args.compression, None)
                room = (await request(setup, "rooms", "create",
                                      data={"name": "idle", "title": "Idle"}))["data"]["id"]
            tokens = app.seed["tokens"] if name == "parley" else [None] * n
            rooms = app.seed["rooms"] if name == "parley" else [room] * n
            # Memory first, on a server that has not held N sockets yet (freed memory is kept by
            # the process, and would be reused by the next N).
            await idle(app)
            rss = app.rss_kib()
            subscribed = await gather_limited(
                functools.partial(open_socket, app, args.compression), tokens[:n], rooms[:n])
            await idle(app)
            per_socket = (app.rss_kib() - rss) / n
            await asyncio.gather(*(ws.close() for ws in subscribed), return_exceptions=True)
            await idle(app)
            cpu = app.cpu_seconds()
            began = now()
            opened = await gather_limited(
                functools.partial(open_socket, app, args.compression), tokens[:n])
            open_wall = now() - began
            await idle(app)
            open_cpu = app.cpu_seconds() - cpu
            cpu = app.cpu_seconds()
            began = now()
            await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
            close_wall = now() - began
            await idle(app)
            close_cpu = app.cpu_seconds() - cpu
            row = {"measure": "sockets", "config": "memory-1p", "app": name, "n": n,
                   "open_wall_s": round(open_wall, 2), "close_wall_s": round(close_wall, 2),
                   "open_cpu_ms": round(open_cpu / n * 1e3, 3),
                   "close_cpu_ms": round(close_cpu / n * 1e3, 3),
                   "rss_kib_per_subscribed_socket": round(per_socket, 1)}
            if name == "parley":
                row["presence_rows_left"] = presence_rows(app.db)
            rows.append(row)
            log(f"    {name}: open {row['open_cpu_ms']} ms, close {row['close_cpu_ms']} ms CPU "
                f"per socket; {row['rss_kib_per_subscribed_socket']} KiB per subscribed socket")
        finally:
            lab.stop(app)
    return rows


# --------------------------------------------------------------------------------------------
# Many sockets on one process: a reconnect storm, an idle crowd, rounds for leaks
# --------------------------------------------------------------------------------------------


async def crowd(app: servers.App, tokens: list[str], workers: int, hold: float,
                compression: str | None) -> dict:
    """Open one socket per token from ``workers`` client processes, each answering one request;
    hold them ``hold`` seconds; then close all at once. Returns counts and timings."""
    chunks = [tokens[i::workers] for i in range(workers)]
    children = []
    for index, chunk in enumerate(chunks):
        path = app.processes[0].log.parent / f"crowd-{index}.json"
        path.write_text(json.dumps(chunk))
        children.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.targets", "crowd", app.processes[0].ws, str(path),
            compression or "none", cwd=servers.ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE))
    began = now()

    async def line(child: Any) -> dict:
        raw = await asyncio.wait_for(child.stdout.readline(), 600)
        return dict(json.loads(raw or b"{}"))

    opened = await asyncio.gather(*(line(c) for c in children))
    open_wall = now() - began
    await asyncio.sleep(hold)
    held = app.rss_kib()
    alive = app.alive()
    began = now()
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"close\n")
        await child.stdin.drain()
    closed = await asyncio.gather(*(line(c) for c in children))
    close_wall = now() - began
    for child in children:
        await child.wait()
    return {
        "sockets": len(tokens), "opened": sum(o.get("opened", 0) for o in opened),
        "served": sum(o.get("served", 0) for o in opened),
        "failed": sum(o.get("failed", 0) for o in opened),
        "dropped_while_held": sum(c.get("dropped", 0) for c in closed),
        "open_wall_s": round(open_wall, 1), "close_wall_s": round(close_wall, 1),
        "rss_mib_held": round(held / 1024, 1), "server_alive": alive,
    }


async def storm(lab: Lab, args: Any) -> list[dict]:
    """``--storm`` signed-in sockets opened against one process, each served a request, held,
    then all closed at once: presence and rows must be consistent after."""
    app = lab.parley("storm")
    try:
        tokens = lab.seed["tokens"][: args.storm]
        log(f"  {len(tokens)} sockets against one process ({args.crowd_workers} clients)")
        result = await crowd(app, tokens, args.crowd_workers, 5.0, args.compression)
        result["settle_s"] = round(await idle(app), 1)
        result["presence_rows_left"] = presence_rows(app.db)
        result["server_alive_after"] = app.alive()
        log(f"    {result}")
    finally:
        lab.stop(app)
    return [{"measure": "storm", "config": "memory-1p", "app": "parley", **result}]


async def leak(lab: Lab, args: Any) -> list[dict]:
    """Rounds of ``--leak-n`` sockets opened (each served) then closed: RSS after each round."""
    app = lab.parley("leak")
    rounds = []
    try:
        for round_no in range(args.leak_rounds):
            result = await crowd(app, lab.seed["tokens"][: args.leak_n], 1, 0.5, args.compression)
            await idle(app)
            await asyncio.sleep(2)  # the process returns freed memory a second after a crowd
            await idle(app)
            rounds.append({"round": round_no + 1, "rss_mib": round(app.rss_kib() / 1024, 1),
                           "served": result["served"], "failed": result["failed"],
                           "presence_rows_left": presence_rows(app.db)})
            log(f"    leak round {round_no + 1}: {rounds[-1]}")
    finally:
        lab.stop(app)
    first, last = rounds[0]["rss_mib"], rounds[-1]["rss_mib"]
    return [{"measure": "leak", "config": "memory-1p", "app": "parley", "rounds": rounds,
             "growth_after_first": round(last / first - 1, 3)}]


# --------------------------------------------------------------------------------------------
# Running them, and the table of targets
# --------------------------------------------------------------------------------------------

MEASURES = ("fan-out", "redis", "signaling", "sockets", "storm", "leak")


async def run_targets(args: Any, tmp: Path) -> dict[str, Any]:
    """Every measure asked for (``args.only``); a failing one is reported, the others go on."""
    raise_fd_limit()
    redis_ok = servers.redis_answers(REDIS_URL)
    lab = Lab(tmp, users=max(args.storm, args.leak_n, max(args.fan_n) + 1, 600))
    began = now()
    log(f"== targets: seeding {lab.users} users with tokens, in rooms of {ROOM_SIZE}")
    lab.prepare()
    log(f"    seeded in {now() - began:.1f} s")
    plan: list[tuple[str, Callable[[], Awaitable[list[dict]]]]] = []
    wanted = set(args.only)
    if "fan-out" in wanted:
        plan.append(("fan-out", lambda: fan_out_one_process(lab, args)))
    if "redis" in wanted and redis_ok:
        plan.append(("redis", lambda: fan_out_redis(lab, args)))
    if "signaling" in wanted:
        plan.append(("signaling memory-1p", lambda: signaling(lab, args, "memory-1p")))
        if redis_ok:
            plan.append(("signaling redis-2p", lambda: signaling(lab, args, "redis-2p")))
    if "sockets" in wanted:
        plan.append(("sockets", lambda: sockets(lab, args)))
    if "storm" in wanted:
        plan.append(("storm", lambda: storm(lab, args)))
    if "leak" in wanted:
        plan.append(("leak", lambda: leak(lab, args)))
    rows: list[dict] = []
    errors: dict[str, str] = {}
    try:
        for name, measure in plan:
            log(f"== {name}")
            try:
                rows += await measure()
            except Exception as exc:
                log(f"    FAILED: {exc!r}")
                errors[name] = repr(exc)
    finally:
        servers.stop(lab.started)
    problems = {}
    for process in lab.started:
        text = process.log.read_text(errors="replace") if process.log.exists() else ""
        found = [line for line in text.splitlines() if servers.PROBLEM.search(line)]
        if found:
            problems[process.log.stem] = {"count": len(found), "first": found[:5]}
    return {"rows": rows, "errors": errors, "log_problems": problems,
            "redis": redis_ok, "seconds": round(now() - began, 1)}


def pick(rows: list[dict], **match: Any) -> dict:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return {}


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else "**PASS**" if ok else "**FAIL**"


def ratio_of(a: Any, b: Any) -> float | None:
    return round(a / b, 2) if isinstance(a, (int, float)) and b else None


def targets_table(result: dict[str, Any]) -> tuple[str, list[dict]]:
    """The markdown table of every target, and its rows (for the JSON)."""
    rows = result["rows"]
    table: list[dict] = []

    def add(target: str, parley: Any, reference: Any, value: Any, goal: str,
            ok: bool | None) -> None:
        table.append({"target": target, "parley": parley, "reference": reference,
                      "value": value, "goal": goal, "pass": ok})

    for n in sorted({r["n"] for r in rows if r.get("measure") == "fan-out"}):
        p = pick(rows, measure="fan-out", n=n, app="parley")
        raw, naive = pick(rows, measure="fan-out", n=n, app="raw"), pick(
            rows, measure="fan-out", n=n, app="naive")
        value = ratio_of(p.get("server_cpu_us_per_delivery"), raw.get("server_cpu_us_per_delivery"))
        add(f"fan-out N={n}, 1 process: server CPU µs per delivery, Parley / raw",
            p.get("server_cpu_us_per_delivery"),
            f"raw {raw.get('server_cpu_us_per_delivery')}, naive "
            f"{naive.get('server_cpu_us_per_delivery')}", value, "≤ 3",
            None if value is None else value <= 3)
        add(f"fan-out N={n}: lost (Parley)", p.get("lost"), f"p50 {p.get('p50_ms')} ms, p99 "
            f"{p.get('p99_ms')} ms (naive {naive.get('p50_ms')} / {naive.get('p99_ms')}, raw "
            f"{raw.get('p50_ms')} / {raw.get('p99_ms')})", p.get("lost"), "0",
            None if not p else p.get("lost") == 0 and p.get("dropped_sockets") == 0)
    burst_p, burst_n = pick(rows, measure="burst", app="parley"), pick(rows, measure="burst",
                                                                       app="naive")
    if burst_p:
        value = ratio_of(burst_p.get("deliveries_per_s"), burst_n.get("deliveries_per_s"))
        add("burst deliveries/s at N=500, Parley / naive", burst_p.get("deliveries_per_s"),
            f"naive {burst_n.get('deliveries_per_s')}, raw "
            f"{pick(rows, measure='burst', app='raw').get('deliveries_per_s')} (lost: "
            f"{burst_p.get('lost')})", value, "≥ 5",
            None if value is None else value >= 5 and burst_p.get("lost") == 0)
    red = pick(rows, measure="fan-out-redis", app="parley")
    if red:
        naive_red = pick(rows, measure="fan-out-redis", app="naive")
        add(f"Redis, 2 processes, N={red.get('n')}: Parley p99 ms", red.get("p99_ms"),
            f"p50 {red.get('p50_ms')}; naive {naive_red.get('p50_ms')} / "
            f"{naive_red.get('p99_ms')}; lost {red.get('lost')}, dropped "
            f"{red.get('dropped_sockets')}", red.get("p99_ms"), "< 300, 0 lost, 0 dropped",
            red.get("p99_ms") is not None and red["p99_ms"] < 300 and red.get("lost") == 0
            and red.get("dropped_sockets") == 0)
    for config in ("memory-1p", "redis-2p"):
        for row in rows:
            if row.get("measure", "").startswith("signaling-") and row.get("measure") != \
                    "signaling-1" and row.get("config") == config and row.get("app") == "parley":
                relay = pick(rows, measure=row["measure"], config=config, app="relay")
                value = ratio_of(row.get("relays_per_s"), relay.get("relays_per_s"))
                add(f"signaling, {row['measure'][10:]} pairs at once ({config}): relays/s, "
                    "Parley / seed relay", row.get("relays_per_s"),
                    f"relay {relay.get('relays_per_s')}", value, "≥ 1",
                    None if value is None else value >= 1 and not row.get("failed_pairs"))
    one, one_relay = pick(rows, measure="signaling-1", app="parley"), pick(
        rows, measure="signaling-1", app="relay")
    if one:
        value = ratio_of(one.get("p50_ms"), one_relay.get("p50_ms"))
        add("signaling, one pair: offer → callee push p50 ms, Parley / seed relay",
            one.get("p50_ms"), f"relay {one_relay.get('p50_ms')}", value, "≤ 2",
            None if value is None else value <= 2)
    sock, sock_raw = pick(rows, measure="sockets", app="parley"), pick(
        rows, measure="sockets", app="raw")
    if sock:
        sock_naive = pick(rows, measure="sockets", app="naive")
        value = ratio_of(sock.get("rss_kib_per_subscribed_socket"),
                         sock_raw.get("rss_kib_per_subscribed_socket"))
        add("RSS KiB per idle signed-in socket, subscribed as the browser app, Parley / raw",
            sock.get("rss_kib_per_subscribed_socket"),
            f"raw {sock_raw.get('rss_kib_per_subscribed_socket')}, naive "
            f"{sock_naive.get('rss_kib_per_subscribed_socket')}", value, "≤ 1.5",
            None if value is None else value <= 1.5)
        add("server CPU ms per socket open (Parley)", sock.get("open_cpu_ms"),
            f"raw {sock_raw.get('open_cpu_ms')}, naive {sock_naive.get('open_cpu_ms')}",
            sock.get("open_cpu_ms"), "≤ 3", (sock.get("open_cpu_ms") or 99) <= 3)
        add("server CPU ms per socket close (Parley)", sock.get("close_cpu_ms"),
            f"raw {sock_raw.get('close_cpu_ms')}, naive {sock_naive.get('close_cpu_ms')}",
            sock.get("close_cpu_ms"), "≤ 1", (sock.get("close_cpu_ms") or 99) <= 1)
    st = pick(rows, measure="storm")
    if st:
        ok = (st["served"] == st["sockets"] and st["presence_rows_left"] == 0
              and st["server_alive_after"] and not st["dropped_while_held"])
        add(f"{st['sockets']} signed-in sockets on one process: opened and served, held, all "
            "closed at once", f"{st['served']} served", f"open {st['open_wall_s']} s, close "
            f"{st['close_wall_s']} s, RSS {st['rss_mib_held']} MiB, presence rows left "
            f"{st['presence_rows_left']}", st["served"], f"{st['sockets']} served, 0 rows", ok)
    lk = pick(rows, measure="leak")
    if lk:
        rounds = lk["rounds"]
        ok = lk["growth_after_first"] <= 0.10 and all(
            r["presence_rows_left"] == 0 and not r["failed"] for r in rounds)
        add(f"{len(rounds)} rounds of {rounds[0]['served']} sockets: RSS growth after round 1",
            f"{lk['growth_after_first'] * 100:.1f} %",
            "RSS MiB " + " → ".join(str(r["rss_mib"]) for r in rounds),
            lk["growth_after_first"], "≤ 10 %, 0 rows", ok)
    lines = ["| target | Parley | beside it | ratio / value | goal | result |",
             "|---|---|---|---|---|---|"]
    for item in table:
        lines.append(f"| {item['target']} | {item['parley']} | {item['reference']} "
                     f"| {item['value']} | {item['goal']} | {verdict(item['pass'])} |")
    for name, error in result.get("errors", {}).items():
        lines.append(f"| {name} | FAILED: {error[:150]} | | | | **FAIL** |")
    return "\n".join(lines), table


# --------------------------------------------------------------------------------------------
# A crowd client process: ``python -m bench.targets crowd <ws url> <tokens.json> <compression>``
# --------------------------------------------------------------------------------------------


async def crowd_child(url: str, tokens_file: str, compression: str) -> None:
    raise_fd_limit()
    tokens = json.loads(Path(tokens_file).read_text())
    sockets: list[ClientConnection] = []
    counts = {"opened": 0, "served": 0, "failed": 0}

    async def one(token: str) -> None:
        try:
            ws = await open_ws(f"{url}?token={token}", None if compression == "none"
                               else compression)
        except Exception:
            counts["failed"] += 1
            return
        counts["opened"] += 1
        sockets.append(ws)
        try:
            await request(ws, "calls", "ice_servers")
            counts["served"] += 1
        except Exception:
            counts["failed"] += 1

    await gather_limited(one, tokens, limit=CONCURRENCY * 2)
    print(json.dumps(counts), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    dropped = sum(1 for ws in sockets if ws.close_code is not None)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    print(json.dumps({"dropped": dropped, "closed": len(sockets)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["crowd"]:
        asyncio.run(crowd_child(*sys.argv[2:5]))
