"""A WebRTC peer (aiortc) that finds the other one through Parley only.

Signaling goes over Parley's socket: the call is placed and answered on the ``calls`` stream,
SDP travels on ``sdp`` (with its candidate lines removed) and every candidate is trickled on
``ice``, so the peers depend on Parley relaying, ordering and buffering them.
"""

import asyncio
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from tests.live.wsclient import LiveSocket

# Test traffic stays on loopback: aioice gathers every interface's address but loopback, so
# the peers are given 127.0.0.1 as their only host address.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def split_candidates(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """The SDP without its candidate lines, and those candidates as RTCIceCandidateInit."""
    lines, candidates, mid, index = [], [], None, -1
    for line in sdp.splitlines():
        if line.startswith("m="):
            index += 1
            mid = None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith("a=candidate:"):
            candidates.append({"candidate": line[2:], "sdp_mid": mid, "sdp_mline_index": index})
        elif line != "a=end-of-candidates":
            lines.append(line)
    return "\r\n".join(lines) + "\r\n", candidates


class Peer:
    """One party: a user, their Parley socket, and their RTCPeerConnection."""

    def __init__(
        self, user_id: int, socket: LiveSocket, ice_servers: list[dict[str, Any]]
    ) -> None:
        self.user_id = user_id
        self.socket = socket
        servers = [RTCIceServer(**server) for server in ice_servers]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pending: list[dict[str, Any]] = []
        self.remote_set = False
        self.received: asyncio.Queue[str] = asyncio.Queue()
        self.channel_open = asyncio.Event()

    async def send_description(self, call_id: int) -> None:
        """Send my local description on ``sdp``, then trickle its candidates on ``ice``."""
        sdp, candidates = split_candidates(self.pc.localDescription.sdp)
        kind = self.pc.localDescription.type
        await self.expect_ok("sdp", "create", data={"call": call_id, "type": kind, "sdp": sdp})
        for candidate in candidates:
            await self.expect_ok("ice", "create", data={"call": call_id, **candidate})
        await self.expect_ok("ice", "create", data={"call": call_id, "candidate": ""})

    async def expect_ok(self, stream: str, action: str, **payload: Any) -> dict:
        reply = await self.socket.request(stream, action, **payload)
        assert reply["payload"]["response_status"] in (200, 201), reply
        return reply["payload"]["data"]

    async def apply_remote(self, sdp: dict[str, Any]) -> None:
        """Apply the other party's description, then any candidate that came before it."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp["sdp"], type=sdp["type"]))
        self.remote_set = True
        for candidate in self.pending:
            await self.add_candidate(candidate)
        self.pending.clear()

    async def on_candidate(self, candidate: dict[str, Any]) -> None:
        """Candidates arriving before the description are held, never dropped (JSEP)."""
        if self.remote_set:
            await self.add_candidate(candidate)
        else:
            self.pending.append(candidate)

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        if not candidate["candidate"]:
            await self.pc.addIceCandidate(None)  # end of candidates
            return
        ice = candidate_from_sdp(candidate["candidate"].split(":", 1)[1])
        ice.sdpMid = candidate["sdp_mid"]
        ice.sdpMLineIndex = candidate["sdp_mline_index"]
        await self.pc.addIceCandidate(ice)

    async def close(self) -> None:
        await self.pc.close()
        await self.socket.close()


class QualityMeter:
    """Turns successive ``getStats()`` reports of a peer connection into Parley quality samples
    (the ``quality`` stream's fields), as a browser client computes them from its own."""

    OPUS_CLOCK_RATE = 48_000  # aiortc gives jitter in RTP timestamp units

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.previous: dict[str, Any] | None = None

    async def sample(self) -> dict[str, Any]:
        report = await self.pc.getStats()
        by_type: dict[str, list[Any]] = {}
        for stats in report.values():
            by_type.setdefault(stats.type, []).append(stats)
        transport = by_type["transport"][0]
        inbound = by_type.get("inbound-rtp", [])
        # Round-trip times come with the other side's RTCP reports (None until the first).
        remote = [s for s in by_type.get("remote-inbound-rtp", []) if s.roundTripTime is not None]
        now = {
            "at": transport.timestamp.timestamp(),
            "bytes_in": transport.bytesReceived,
            "bytes_out": transport.bytesSent,
            "received": sum(s.packetsReceived for s in inbound),
            "lost": sum(max(0, s.packetsLost) for s in inbound),
        }
        sample: dict[str, Any] = {"candidate_type": self.candidate_type()}
        if remote:
            sample["rtt_ms"] = round(max(s.roundTripTime for s in remote) * 1000, 3)
        if inbound:
            sample["jitter_ms"] = round(
                max(s.jitter for s in inbound) / self.OPUS_CLOCK_RATE * 1000, 3
            )
        before = self.previous
        if before is not None and now["at"] > before["at"]:
            kbits = 8 / 1000 / (now["at"] - before["at"])
            sample["bitrate_in_kbps"] = round((now["bytes_in"] - before["bytes_in"]) * kbits, 3)
            sample["bitrate_out_kbps"] = round((now["bytes_out"] - before["bytes_out"]) * kbits, 3)
            expected = (now["received"] - before["received"]) + (now["lost"] - before["lost"])
            if expected > 0:
                sample["loss_percent"] = round(100 * (now["lost"] - before["lost"]) / expected, 3)
        self.previous = now
        return sample

    def candidate_type(self) -> str:
        """The local candidate of the pair ICE nominated (aioice keeps it; aiortc's stats do
        not report candidate pairs)."""
        for transceiver in self.pc.getTransceivers():
            ice = transceiver.sender.transport.transport
            nominated = ice.iceGatherer._connection._nominated
            for pair in nominated.values():
                return str(pair.local_candidate.type)
        return ""
