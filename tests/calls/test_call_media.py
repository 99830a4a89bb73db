"""The parties' clients say when media connects or fails: the call records it, or ends saying
why."""

import pytest

from tests.calls.test_calls_stream import ring

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("acquainted")]


async def accepted_call(a, b, bob) -> dict:
    call = await ring(a, bob)
    await b.request("calls", "accept", pk=call["id"])
    return call


async def test_connected_is_recorded_once_and_pushed_to_both_and_the_dashboard(
    connected, alice, bob, staff
):
    async with connected(alice) as a, connected(bob) as b, connected(staff) as s:
        call = await accepted_call(a, b, bob)
        await a.request("calls", "subscribe_calls", request_id="c")
        await s.request("calls", "subscribe_dashboard", request_id="d")
        first = await a.request("calls", "media", pk=call["id"], state="connected")
        connected_at = first["payload"]["data"]["connected_at"]
        assert first["payload"]["response_status"] == 200 and connected_at
        for socket, rid in ((a, "c"), (s, "d")):
            # Over Redis the accept's own push may still come first: wait past it.
            push = (await socket.push("calls", rid))["payload"]["data"]
            while push["connected_at"] is None and push["state"] == "accepted":
                push = (await socket.push("calls", rid))["payload"]["data"]
            assert push["connected_at"] == connected_at
        again = await b.request("calls", "media", pk=call["id"], state="connected")
        assert again["payload"]["data"]["connected_at"] == connected_at  # the first report


@pytest.mark.parametrize("reason", ["ice_failed", "user_media_failed"])
async def test_failed_media_ends_the_call_saying_why(connected, alice, bob, reason):
    async with connected(alice) as a, connected(bob) as b:
        call = await accepted_call(a, b, bob)
        failed = await b.request("calls", "media", pk=call["id"], state="failed", reason=reason)
        data = failed["payload"]["data"]
        assert (data["state"], data["end_reason"]) == ("ended", reason)
        late = await a.request("calls", "media", pk=call["id"], state="connected")
        assert late["payload"]["response_status"] == 409


async def test_a_caller_whose_camera_fails_while_ringing_cancels(connected, alice, bob):
    async with connected(alice) as a, connected(bob):
        call = await ring(a, bob)
        failed = await a.request(
            "calls", "media", pk=call["id"], state="failed", reason="user_media_failed"
        )
        data = failed["payload"]["data"]
        assert (data["state"], data["end_reason"]) == ("cancelled", "user_media_failed")


async def test_media_reports_are_checked(connected, alice, bob, carol):
    async with connected(alice) as a, connected(bob) as b, connected(carol) as c:
        call = await ring(a, bob)
        early = await a.request("calls", "media", pk=call["id"], state="connected")
        assert early["payload"]["response_status"] == 409  # not answered yet
        outsider = await c.request("calls", "media", pk=call["id"], state="connected")
        assert outsider["payload"]["response_status"] == 404
        for bad in ({"state": "great"}, {"state": "failed"},
                    {"state": "failed", "reason": "hangup"}, {}):
            reply = await b.request("calls", "media", pk=call["id"], **bad)
            assert reply["payload"]["response_status"] == 400, bad
