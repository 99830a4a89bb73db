"""A real WebRTC call: two aiortc peers, each its own user on its own socket, meet through Parley.

They place and answer the call, exchange offer/answer and trickled candidates only through
Parley, open a data channel, say hello, hang up — on one server and across two behind Redis.
"""

import asyncio
import time

import pytest

from tests.live.conftest import guest
from tests.live.peer import Peer
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CALL_TIMEOUT = 30


async def open_peer(server, name: str) -> Peer:
    session = guest(server, name)
    socket = await LiveSocket.open(server.ws_url, session["token"])
    # ICE servers come from Parley (none configured here: the peers meet on loopback).
    servers = (await socket.request("calls", "ice_servers"))["payload"]["data"]["ice_servers"]
    peer = Peer(session["user"]["id"], socket, servers)
    await peer.expect_ok("calls", "subscribe_calls", request_id="calls")
    return peer


async def next_signal(peer: Peer) -> dict:
    """The next SDP or ICE push for this peer, whichever comes first."""
    return await peer.socket.wait_for(
        lambda f: f["stream"] in {"sdp", "ice"} and f["payload"]["request_id"] in {"sdp", "ice"}
    )


async def follow_signaling(peer: Peer, call_id: int) -> None:
    await peer.expect_ok("sdp", "subscribe_call", call=call_id, request_id="sdp")
    await peer.expect_ok("ice", "subscribe_call", call=call_id, request_id="ice")


async def call_state(peer: Peer, state: str) -> dict:
    push = await peer.socket.wait_for(
        lambda f: f["stream"] == "calls"
        and f["payload"]["request_id"] == "calls"
        and f["payload"]["data"]["state"] == state
    )
    return push["payload"]["data"]


async def caller_side(alice: Peer, callee_id: int, timings: dict) -> None:
    started = time.monotonic()
    call = await alice.expect_ok("calls", "create", data={"callee": callee_id})
    await follow_signaling(alice, call["id"])
    await call_state(alice, "accepted")

    channel = alice.pc.createDataChannel("chat")
    channel.on("open", alice.channel_open.set)
    channel.on("message", alice.received.put_nowait)
    await alice.pc.setLocalDescription(await alice.pc.createOffer())
    await alice.send_description(call["id"])

    ended_candidates = False
    while not (alice.remote_set and ended_candidates):
        push = (await next_signal(alice))["payload"]["data"]
        if "sdp" in push:
            assert push["type"] == "answer"
            await alice.apply_remote(push)
        else:
            await alice.on_candidate(push)
            ended_candidates = push["candidate"] == ""
    await asyncio.wait_for(alice.channel_open.wait(), CALL_TIMEOUT)
    # The peer connection is up: tell Parley, which records when media could flow.
    assert alice.pc.connectionState == "connected"
    reported = await alice.expect_ok("calls", "media", pk=call["id"], state="connected")
    assert reported["connected_at"] is not None
    channel.send("hello from alice")
    assert await asyncio.wait_for(alice.received.get(), CALL_TIMEOUT) == "hello back from bob"
    timings["connected"] = time.monotonic() - started

    ended = await alice.expect_ok("calls", "hangup", pk=call["id"])
    assert ended["state"] == "ended"
    timings["call_id"] = call["id"]


async def callee_side(bob: Peer) -> None:
    ring = await call_state(bob, "ringing")
    await follow_signaling(bob, ring["id"])

    @bob.pc.on("datachannel")
    def on_channel(channel) -> None:
        @channel.on("message")
        def on_message(message: str) -> None:
            bob.received.put_nowait(message)
            channel.send("hello back from bob")

    accepted = await bob.expect_ok("calls", "accept", pk=ring["id"])
    assert accepted["state"] == "accepted"

    answered, ended_candidates = False, False
    while not (answered and ended_candidates):
        push = (await next_signal(bob))["payload"]["data"]
        if "sdp" in push:
            assert push["type"] == "offer"
            await bob.apply_remote(push)
            await bob.pc.setLocalDescription(await bob.pc.createAnswer())
            await bob.send_description(ring["id"])
            answered = True
        else:
            await bob.on_candidate(push)
            ended_candidates = push["candidate"] == ""
    assert await asyncio.wait_for(bob.received.get(), CALL_TIMEOUT) == "hello from alice"
    ended = await call_state(bob, "ended")
    assert ended["end_reason"] == "hangup"


async def place_call(alice_server, bob_server) -> dict:
    alice = await open_peer(alice_server, "Alice")
    bob = await open_peer(bob_server, "Bob")
    # People ring those they share a room with.
    room = await alice.expect_ok("rooms", "create", data={"name": "meet", "title": "Meet"})
    await bob.expect_ok("rooms", "join", pk=room["id"])
    timings: dict = {}
    try:
        await asyncio.wait_for(
            asyncio.gather(caller_side(alice, bob.user_id, timings), callee_side(bob)),
            CALL_TIMEOUT * 2,
        )
        assert (await call_state(alice, "ended"))["id"] == timings["call_id"]
    finally:
        await alice.close()
        await bob.close()
    elapsed = timings["connected"]
    print(f"\naiortc call through Parley: invite → data channel round trip {elapsed:.3f} s")
    return timings


async def test_two_aiortc_peers_talk_after_meeting_through_parley(uvicorn_server):
    await place_call(uvicorn_server, uvicorn_server)


async def test_two_aiortc_peers_on_two_workers_behind_redis(two_servers):
    one, two = two_servers
    await place_call(one, two)
