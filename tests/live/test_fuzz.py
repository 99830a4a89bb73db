"""Fuzzing the socket: 10,000 hostile frames over live sockets, seeded and reproducible.

Every stream x action x argument, with wrong types and extreme values, broken envelopes,
odd encodings, sizes and nesting. Whatever arrives, the server answers with a frame that is
not a 500, never closes the socket, logs no traceback, and each socket still answers a normal
request afterwards. FUZZ_SEED=<n> replays a run (the seed is in the failure message).
"""

import asyncio
import json
import os
import random
from typing import Any

import pytest
import websockets

from consumers.routing import ParleySocket
from tests.live.conftest import guest
from tests.live.server import uvicorn
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

FRAMES = 10_000
SOCKETS = 8
SEED = int(os.environ.get("FUZZ_SEED", "20261205"))

# Every action every stream offers (so a new one is fuzzed too), and a few it does not.
ACTIONS = {
    name: sorted(stream.available_actions) + ["accept_call", "nope"]
    for name, stream in ParleySocket.streams.items()
}
ARGUMENTS = ["pk", "room", "call", "user", "after", "before", "limit", "data", "request_id",
             "action", "name", "title", "body", "callee", "type", "sdp", "candidate",
             "sdp_mid", "sdp_mline_index", "client_id", "is_private", "id", "page", "state",
             "reason", "since", "until", "last", "rtt_ms", "loss_percent", "candidate_type"]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def hostile(rng: random.Random, ids: list[int]) -> Any:
    """A value of a wrong type or at an extreme, or now and then a plausible one."""
    return rng.choice([
        lambda: None, lambda: True, lambda: False, lambda: 0, lambda: -1,
        lambda: rng.choice(ids), lambda: str(rng.choice(ids)), lambda: rng.choice(ids) + 0.5,
        lambda: 2**31, lambda: 2**63, lambda: 2**64 + 1, lambda: -(2**63) - 1,
        lambda: 10**30, lambda: 1e308, lambda: -0.0, lambda: "", lambda: " ",
        lambda: "x" * rng.choice([1, 150, 151, 4001, 20_000]),
        lambda: "\x00", lambda: "nul\x00in the middle", lambda: "é🙂\u202e\ufeff",
        lambda: "'; DROP TABLE rooms_room; --", lambda: "../../etc/passwd", lambda: "%s%n",
        lambda: "v=0" + "\r\n" * rng.randint(0, 50), lambda: "candidate:" + "9" * 300,
        lambda: [], lambda: {}, lambda: [rng.choice(ids)], lambda: {"id": rng.choice(ids)},
        lambda: nested(rng.randint(2, 400)), lambda: {"a": {"b": {"c": [None, {}]}}},
        lambda: {k: hostile(rng, ids) for k in rng.sample(ARGUMENTS, 3)},
        lambda: "offer", lambda: "answer", lambda: "general", lambda: "2026-12-05T00:00:00Z",
    ])()


def frame(rng: random.Random, ids: list[int]) -> str | bytes:
    """One hostile frame: mostly well-formed envelopes with hostile arguments."""
    roll = rng.random()
    if roll < 0.04:  # not JSON, odd encodings, binary
        odd: list[str | bytes] = [
            b"\x00\xff\xfe binary", "{", "[1, 2", "null", "42", '"string"', "\ufeff{}",
            '{"stream": "rooms", "payload": {"action": "list", "request_id": NaN}}',
            '{"stream": "rooms", "payload": {"action": "list", "request_id": "\\ud800"}}',
            '{"stream": "rooms", "payload": {"action": "list", "request_id": 1e999}}',
            "[" * (depth := rng.randint(500, 5000)) + "1" + "]" * depth, "[" * 3000 + "]" * 3000,
        ]
        return rng.choice(odd)
    if roll < 0.10:  # broken envelopes
        return json.dumps(rng.choice([
            {}, [], {"stream": "rooms"}, {"payload": {"action": "list"}},
            {"stream": hostile(rng, ids), "payload": {"action": "list", "request_id": 1}},
            {"stream": "rooms", "payload": hostile(rng, ids)},
            {"stream": "nope", "payload": {"action": "list", "request_id": 1}},
            {"stream": "rooms", "payload": {"action": hostile(rng, ids), "request_id": 1}},
        ]))
    stream = rng.choice(list(ACTIONS))
    payload: dict[str, Any] = {"action": rng.choice(ACTIONS[stream]),
                               "request_id": rng.choice([rng.randint(1, 10**6), "r", None])}
    for name in rng.sample(ARGUMENTS, rng.randint(0, 4)):
        payload[name] = hostile(rng, ids)
    if rng.random() < 0.5:  # writes: fields under data, some plausible
        payload["data"] = {name: hostile(rng, ids) for name in rng.sample(ARGUMENTS, 3)}
    text = json.dumps({"stream": stream, "payload": payload})
    return text if len(text) < 60_000 else text[:60_000]


async def answered(socket: LiveSocket, sent: int, seed: int) -> list[dict]:
    """Send a normal request after the hostile ones; every frame up to its reply."""
    marker = f"still-there-{sent}"
    await socket.connection.send(json.dumps(
        {"stream": "rooms", "payload": {"action": "list", "request_id": marker}}))
    frames = []
    async with asyncio.timeout(60):
        while True:
            try:
                raw = await socket.connection.recv()
            except websockets.ConnectionClosed as closed:
                raise AssertionError(f"seed {seed}: the server closed a socket: {closed}")
            parsed = json.loads(raw)
            frames.append(parsed)
            payload = parsed.get("payload", {})
            if payload.get("request_id") == marker and payload.get("action") == "list":
                assert payload["response_status"] == 200, (seed, parsed)
                return frames


async def test_ten_thousand_hostile_frames_never_break_a_socket_or_the_server(
    tmp_path, transactional_db
):
    with uvicorn(tmp_path, "fuzz", extra_env={"PARLEY_MESSAGE_BURST": "100000"}) as server:
        people = [guest(server, f"Fuzz {n}") for n in range(SOCKETS)]
        sockets = [await LiveSocket.open(server.ws_url, p["token"]) for p in people]
        try:
            room = await sockets[0].request("rooms", "create",
                                            data={"name": "fuzz", "title": "Fuzz"})
            ids = [room["payload"]["data"]["id"], *(p["user"]["id"] for p in people), 1, 2]

            async def fuzz(index: int, socket: LiveSocket) -> list[dict]:
                rng = random.Random(SEED * 100 + index)
                received: list[dict] = []
                for batch in range(FRAMES // SOCKETS // 50):
                    for _ in range(50):
                        await socket.connection.send(frame(rng, ids))
                    received += await answered(socket, batch, SEED)
                return received

            replies = [f for got in await asyncio.gather(
                *(fuzz(i, s) for i, s in enumerate(sockets))) for f in got]
        finally:
            for socket in sockets:
                await socket.close()
        log = server.log.read_text()
    failures = [f for f in replies if isinstance(f.get("payload"), dict)
                and f["payload"].get("response_status") == 500]
    assert not failures, (SEED, failures[:3])
    assert "Traceback" not in log, (SEED, log[log.index("Traceback") - 2000:][:6000])
    assert len(replies) >= FRAMES * 0.9  # nearly every hostile frame got an answer
