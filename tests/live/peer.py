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
