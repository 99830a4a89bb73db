"""The REST twin of calls: the same rules as the socket, and the sockets hear what REST does."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from tests.calls.test_signaling import CANDIDATE, OFFER

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("acquainted")]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rest(user, method: str, path: str, data: dict | None = None):
    """Call the API as ``user`` from async code; (status, decoded body)."""

    def send():
        reply = getattr(client_for(user), method)(path, data, format="json")
        is_json = reply.get("Content-Type", "").startswith("application/json")
        return reply.status_code, (reply.json() if is_json else None)

    # Channels' wrapper closes the thread's database connection after the call, as a request would.
    return database_sync_to_async(send)()


async def test_a_call_placed_over_rest_rings_the_callees_socket(connected, alice, bob):
    async with connected(bob) as b:
        await b.request("calls", "subscribe_calls", request_id="c")
        status, call = await rest(alice, "post", "/api/calls/", {"callee": bob.pk})
        assert (status, call["state"]) == (201, "ringing")
        ring = await b.push("calls", "c")
        assert (ring["payload"]["data"]["id"], ring["payload"]["data"]["state"]) == (
            call["id"],
            "ringing",
        )
        answered = await b.request("calls", "accept", pk=call["id"])
        assert answered["payload"]["response_status"] == 200
    assert (await rest(alice, "get", f"/api/calls/{call['id']}/"))[1]["state"] == "accepted"


async def test_signaling_over_rest_reaches_only_the_other_party(connected, alice, bob, carol):
    async with connected(bob):  # someone to hear it ring
        _, call = await rest(alice, "post", "/api/calls/", {"callee": bob.pk})
        assert (await rest(bob, "post", f"/api/calls/{call['id']}/accept/"))[0] == 200
    async with connected(alice) as a, connected(bob) as b:
        await a.request("sdp", "subscribe_call", call=call["id"], request_id="sa")
        await b.request("sdp", "subscribe_call", call=call["id"], request_id="sb")
        status, sent = await rest(
            alice, "post", f"/api/calls/{call['id']}/sdp/", {"type": "offer", "sdp": OFFER}
        )
        assert (status, sent["sender"]) == (201, alice.pk)
        offer = await b.push("sdp", "sb")
        assert offer["payload"]["data"]["sdp"] == OFFER
        await a.assert_silent()  # never echoed to the sender's own socket

    for candidate in (CANDIDATE, ""):
        body = {"candidate": candidate, "sdp_mid": "0", "sdp_mline_index": 0}
        assert (await rest(bob, "post", f"/api/calls/{call['id']}/ice/", body))[0] == 201
    status, candidates = await rest(alice, "get", f"/api/calls/{call['id']}/ice/")
    assert (status, [c["candidate"] for c in candidates]) == (200, [CANDIDATE, ""])

    # Someone else's call does not exist for carol, whatever she asks of it.
    for path in ("", "sdp/", "ice/"):
        assert (await rest(carol, "get", f"/api/calls/{call['id']}/{path}"))[0] == 404
    assert (await rest(carol, "post", f"/api/calls/{call['id']}/hangup/"))[0] == 404
    assert await rest(carol, "get", "/api/calls/not-a-number/") == (404, {"detail": "Not found."})
    assert (await rest(carol, "get", "/api/calls/"))[1] == []


async def test_rest_refuses_what_the_socket_refuses(connected, alice, bob, staff):
    async with connected(bob):  # someone to hear it ring
        _, call = await rest(alice, "post", "/api/calls/", {"callee": bob.pk})
        assert (await rest(alice, "post", f"/api/calls/{call['id']}/accept/"))[0] == 403
        rejected = await rest(bob, "post", f"/api/calls/{call['id']}/reject/")
        assert rejected[1]["state"] == "rejected"
    late = await rest(
        alice, "post", f"/api/calls/{call['id']}/sdp/", {"type": "offer", "sdp": OFFER}
    )
    assert late[0] == 409
    bad = await rest(alice, "post", "/api/calls/", {"callee": "bob"})
    assert bad[0] == 400
    assert (await rest(alice, "get", "/api/calls/dashboard/"))[0] == 403
    status, board = await rest(staff, "get", "/api/calls/dashboard/")
    assert (status, [c["id"] for c in board]) == (200, [call["id"]])
    status, servers = await rest(alice, "get", "/api/calls/ice-servers/")
    assert status == 200 and "ice_servers" in servers


async def test_calling_someone_with_no_open_socket_is_unavailable_at_once(connected, alice, bob):
    status, call = await rest(alice, "post", "/api/calls/", {"callee": bob.pk})
    assert (status, call["state"], call["end_reason"]) == (201, "unavailable", "unavailable")
    assert call["ended_at"] is not None
    async with connected(alice) as a:  # it does not ring, and is not ringing for anyone
        calls = await a.request("calls", "list")
        assert [c["state"] for c in calls["payload"]["data"]] == ["unavailable"]


async def test_media_reports_over_rest(connected, alice, bob):
    async with connected(bob):
        _, call = await rest(alice, "post", "/api/calls/", {"callee": bob.pk})
        await rest(bob, "post", f"/api/calls/{call['id']}/accept/")
        status, up = await rest(alice, "post", f"/api/calls/{call['id']}/media/",
                                {"state": "connected"})
        assert status == 200 and up["connected_at"]
        status, down = await rest(bob, "post", f"/api/calls/{call['id']}/media/",
                                  {"state": "failed", "reason": "ice_failed"})
        assert (status, down["state"], down["end_reason"]) == (200, "ended", "ice_failed")
