"""Two aiortc peers in a real call report what getStats measures; a staff dashboard watching
Parley sees the call connect, its quality samples, and its end with the reason."""

import asyncio

import pytest
from aiortc.mediastreams import AudioStreamTrack
from asgiref.sync import sync_to_async

from tests.conftest import make_user, token_for
from tests.live.conftest import guest
from tests.live.peer import Peer, QualityMeter
from tests.live.test_webrtc_call import CALL_TIMEOUT, call_state, follow_signaling, next_signal
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SAMPLES_EACH = 3


async def peer_with_audio(server, name: str) -> Peer:
    session = guest(server, name)
    socket = await LiveSocket.open(server.ws_url, session["token"])
    peer = Peer(session["user"]["id"], socket, [])
    peer.pc.addTrack(AudioStreamTrack())  # generated audio: real RTP and RTCP flow
    await peer.expect_ok("calls", "subscribe_calls", request_id="calls")
    return peer


async def exchange(peer: Peer, call_id: int, *, offers: bool) -> None:
    """Offer (caller) or answer (callee) through Parley until every candidate is in."""
    if offers:
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        await peer.send_description(call_id)
    described, candidates_done = False, False
    while not (described and candidates_done):
        push = (await next_signal(peer))["payload"]["data"]
        if "sdp" not in push:
            await peer.on_candidate(push)
            candidates_done = push["candidate"] == ""
            continue
        await peer.apply_remote(push)
        if not offers:
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
            await peer.send_description(call_id)
        described = True


async def connected(peer: Peer) -> None:
    while peer.pc.connectionState != "connected":
        await asyncio.sleep(0.05)


async def report_samples(peer: Peer, call_id: int) -> list[dict]:
    """Sample every 1.5 s until a sample has a round-trip time and media bitrate, then send
    ``SAMPLES_EACH`` of them; what Parley stored."""
    meter = QualityMeter(peer.pc)
    stored: list[dict] = []
    await meter.sample()  # the baseline the first bitrates count from
    while len(stored) < SAMPLES_EACH:
        await asyncio.sleep(1.5)
        sample = await meter.sample()
        if "rtt_ms" in sample and sample.get("bitrate_in_kbps"):
            data = {"call": call_id, **sample}
            stored.append(await peer.expect_ok("quality", "create", data=data))
    return stored


async def dashboard_push(staff: LiveSocket, stream: str, rid: str, matches) -> dict:
    frame = await staff.wait_for(
        lambda f: f["stream"] == stream
        and f["payload"]["request_id"] == rid
        and matches(f["payload"]["data"]),
        timeout=CALL_TIMEOUT,
    )
    return frame["payload"]["data"]


async def test_a_dashboard_sees_a_real_call_connect_report_quality_and_end(uvicorn_server):
    sam = await sync_to_async(make_user)("sam", "Sam")
    sam.is_staff = True
    await sync_to_async(sam.save)()
    staff = await LiveSocket.open(uvicorn_server.ws_url, await sync_to_async(token_for)(sam))
    await staff.request("calls", "subscribe_dashboard", request_id="calls")
    await staff.request("quality", "subscribe_dashboard", request_id="quality")

    alice = await peer_with_audio(uvicorn_server, "Alice")
    bob = await peer_with_audio(uvicorn_server, "Bob")
    try:
        room = await alice.expect_ok("rooms", "create", data={"name": "meet", "title": "Meet"})
        await bob.expect_ok("rooms", "join", pk=room["id"])
        call = await alice.expect_ok("calls", "create", data={"callee": bob.user_id})
        for peer in (alice, bob):
            await follow_signaling(peer, call["id"])
            await peer.expect_ok("quality", "subscribe_call", call=call["id"], request_id="q")
        await call_state(bob, "ringing")
        await bob.expect_ok("calls", "accept", pk=call["id"])
        await call_state(alice, "accepted")
        await asyncio.wait_for(
            asyncio.gather(
                exchange(alice, call["id"], offers=True), exchange(bob, call["id"], offers=False)
            ),
            CALL_TIMEOUT,
        )
        await asyncio.wait_for(asyncio.gather(connected(alice), connected(bob)), CALL_TIMEOUT)
        await alice.expect_ok("calls", "media", pk=call["id"], state="connected")
        seen = await dashboard_push(
            staff, "calls", "calls", lambda d: d["id"] == call["id"] and d["connected_at"]
        )
        assert seen["state"] == "accepted"

        sent = await asyncio.gather(
            report_samples(alice, call["id"]), report_samples(bob, call["id"])
        )
        for peer, samples in zip((alice, bob), sent):
            for sample in samples:
                assert sample["sender"] == peer.user_id
                assert sample["candidate_type"] == "host"  # loopback: no STUN, no TURN
                assert 0 <= sample["rtt_ms"] < 1000 and sample["bitrate_in_kbps"] > 0
                assert sample["rating"] in {"good", "fair"}  # loopback is not a poor line
        print(f"\nsamples from aiortc's getStats: {sent[0][-1]} / {sent[1][-1]}")
        ids = {sample["id"] for samples in sent for sample in samples}
        on_dashboard: set[int] = set()
        while on_dashboard != ids:
            pushed = await dashboard_push(staff, "quality", "quality", lambda d: True)
            on_dashboard.add(pushed["id"])
        # Each party got the other's samples, never its own.
        for peer, other in ((alice, sent[1]), (bob, sent[0])):
            for sample in other:
                pushed = await peer.socket.push("quality", "q")
                assert pushed["payload"]["data"] == sample

        await bob.expect_ok("calls", "hangup", pk=call["id"])
        ended = await dashboard_push(
            staff, "calls", "calls", lambda d: d["id"] == call["id"] and d["state"] == "ended"
        )
        assert ended["end_reason"] == "hangup" and ended["connected_at"] == seen["connected_at"]
    finally:
        await alice.close()
        await bob.close()
        await staff.close()
