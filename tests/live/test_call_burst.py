"""No ring is ever silently lost: 200 simultaneous invites across two workers behind Redis."""

import asyncio
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PAIRS = 200


def guests(server, count: int) -> list[dict]:
    def one(i: int) -> dict:
        body = json.dumps({"display_name": f"user {i}"}).encode()
        request = urllib.request.Request(
            server.url + "/api/auth/guest/", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


async def subscribed(server, session: dict) -> LiveSocket:
    socket = await LiveSocket.open(server.ws_url, session["token"])
    reply = await socket.request("calls", "subscribe_calls", request_id="calls", timeout=60)
    assert reply["payload"]["response_status"] == 201
    return socket


async def share_a_room(caller: LiveSocket, callee: LiveSocket, name: str) -> None:
    """People ring those they share a room with: each pair gets one."""
    room = await caller.request("rooms", "create", data={"name": name, "title": name}, timeout=120)
    joined = await callee.request("rooms", "join", pk=room["payload"]["data"]["id"], timeout=120)
    assert joined["payload"]["response_status"] == 200, joined


async def ringing_push(socket: LiveSocket, call_id: int) -> dict:
    return await socket.wait_for(
        lambda f: f["payload"]["request_id"] == "calls"
        and f["payload"]["action"] == "create"
        and f["payload"]["data"]["id"] == call_id,
        timeout=60,
    )


@pytest.mark.timeout(300)
async def test_200_simultaneous_invites_all_ring_across_two_workers(two_servers):
    one, two = two_servers
    sessions = guests(one, PAIRS * 2)
    callers = await asyncio.gather(*(subscribed(one, s) for s in sessions[:PAIRS]))
    callees = await asyncio.gather(*(subscribed(two, s) for s in sessions[PAIRS:]))
    try:
        await asyncio.gather(
            *(
                share_a_room(caller, callee, f"pair-{n}")
                for n, (caller, callee) in enumerate(zip(callers, callees, strict=True))
            )
        )
        replies = await asyncio.gather(
            *(
                caller.request("calls", "create", data={"callee": s["user"]["id"]}, timeout=120)
                for caller, s in zip(callers, sessions[PAIRS:], strict=True)
            )
        )
        assert [r["payload"]["response_status"] for r in replies] == [201] * PAIRS
        call_ids = [r["payload"]["data"]["id"] for r in replies]
        rings = await asyncio.gather(
            *(
                ringing_push(callee, call_id)
                for callee, call_id in zip(callees, call_ids, strict=True)
            )
        )
        seen = await asyncio.gather(
            *(
                ringing_push(caller, call_id)
                for caller, call_id in zip(callers, call_ids, strict=True)
            )
        )
        assert len(rings) == len(seen) == PAIRS
        assert all(r["payload"]["data"]["state"] == "ringing" for r in rings)
    finally:
        await asyncio.gather(*(s.close() for s in [*callers, *callees]), return_exceptions=True)
