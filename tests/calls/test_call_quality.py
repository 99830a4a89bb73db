"""The parties report what they measure of the call's media: checked, limited, kept (bounded)
and shown to the other party and to staff dashboards only."""

import pytest
from asgiref.sync import sync_to_async

from calls.models import QualitySample
from tests.calls.test_call_media import accepted_call
from tests.calls.test_calls_stream import ring
from tests.rest.test_calls_api import rest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("acquainted")]

SAMPLE = {
    "rtt_ms": 42.5,
    "jitter_ms": 3.1,
    "loss_percent": 0.0,
    "bitrate_in_kbps": 812.0,
    "bitrate_out_kbps": 790.4,
    "frame_rate": 29.8,
    "frame_width": 640,
    "frame_height": 480,
    "candidate_type": "host",
}


async def report(socket, call_id: int, **measures) -> dict:
    reply = await socket.request("quality", "create", data={"call": call_id, **measures})
    return reply["payload"]


def stored() -> int:
    return QualitySample.objects.count()


async def test_a_sample_reaches_the_other_party_and_staff_dashboards_only(
    connected, alice, bob, carol, staff
):
    async with (
        connected(alice) as a, connected(bob) as b, connected(carol) as c, connected(staff) as s
    ):
        call = await accepted_call(a, b, bob)
        for socket in (a, b):
            await socket.request("quality", "subscribe_call", call=call["id"], request_id="q")
        await s.request("quality", "subscribe_dashboard", request_id="dq")
        refused = await c.request("quality", "subscribe_dashboard", request_id="cq")
        assert refused["payload"]["response_status"] == 403

        sent = await report(a, call["id"], **SAMPLE)
        assert sent["response_status"] == 201
        assert {k: sent["data"][k] for k in SAMPLE} == SAMPLE
        assert (sent["data"]["sender"], sent["data"]["rating"]) == (alice.pk, "good")

        for socket, rid in ((b, "q"), (s, "dq")):
            push = await socket.push("quality", rid)
            assert (push["payload"]["action"], push["payload"]["data"]) == ("create", sent["data"])
        await a.assert_silent()  # the sender's own sample is not echoed back
        await c.assert_silent()


async def test_a_lossy_sample_is_rated_poor_for_everyone(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        call = await accepted_call(a, b, bob)
        await b.request("quality", "subscribe_call", call=call["id"], request_id="q")
        await report(a, call["id"], rtt_ms=80, loss_percent=12.5)
        push = await b.push("quality", "q")
        assert push["payload"]["data"]["rating"] == "poor"
        fair = await report(a, call["id"], rtt_ms=350)
        assert fair["data"]["rating"] == "fair"


@pytest.mark.parametrize(
    "bad",
    [
        {"rtt_ms": "fast"},
        {"rtt_ms": -1},
        {"loss_percent": 101},
        {"jitter_ms": "NaN"},
        {"bitrate_in_kbps": "Infinity"},
        {"frame_width": 1.5},
        {"rtt_ms": True},
        {"candidate_type": "carrier-pigeon"},
        {},  # no measure at all
        {"candidate_type": "relay"},  # a candidate type is not a measure
    ],
)
async def test_bad_reports_are_refused_and_nothing_is_kept(connected, alice, bob, bad):
    async with connected(alice) as a, connected(bob) as b:
        call = await accepted_call(a, b, bob)
        reply = await report(a, call["id"], **bad)
        assert reply["response_status"] == 400, reply
        assert reply["errors"]
    assert await sync_to_async(stored)() == 0


async def test_a_report_that_is_not_an_object_is_refused(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        await accepted_call(a, b, bob)
        reply = await a.request("quality", "create", data=[1, 2, 3])
        assert reply["payload"]["response_status"] == 400
        assert (await a.request("quality", "create", data={"rtt_ms": 5}))["payload"][
            "response_status"
        ] == 400  # which call?


async def test_reports_faster_than_allowed_get_429(connected, alice, bob, settings):
    settings.PARLEY = {**settings.PARLEY, "QUALITY_BURST": 3, "QUALITY_BURST_SECONDS": 60}
    async with connected(alice) as a, connected(bob) as b:
        call = await accepted_call(a, b, bob)
        statuses = [(await report(a, call["id"], rtt_ms=10))["response_status"] for _ in range(4)]
        assert statuses == [201, 201, 201, 429]
        refused = await report(a, call["id"], rtt_ms=10)
        assert "too fast" in refused["errors"][0], refused
        assert (await report(b, call["id"], rtt_ms=10))["response_status"] == 201  # per person
    assert await sync_to_async(stored)() == 4


async def test_outsiders_get_what_a_missing_call_gets(connected, alice, bob, carol):
    async with connected(alice) as a, connected(bob) as b, connected(carol) as c:
        call = await accepted_call(a, b, bob)
        for pk in (call["id"], 999_999):
            assert (await report(c, pk, rtt_ms=10))["response_status"] == 404
            listed = await c.request("quality", "list", call=pk)
            assert listed["payload"]["response_status"] == 404
            sub = await c.request("quality", "subscribe_call", call=pk, request_id="x")
            assert sub["payload"]["response_status"] == 404
        assert (await rest(carol, "post", f"/api/calls/{call['id']}/quality/", {"rtt_ms": 1}))[
            0
        ] == 404
        assert (await rest(carol, "get", f"/api/calls/{call['id']}/quality/"))[0] == 404
    assert await sync_to_async(stored)() == 0


async def test_only_an_accepted_call_takes_reports(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        call = await ring(a, bob)
        assert (await report(a, call["id"], rtt_ms=10))["response_status"] == 409
        await b.request("calls", "accept", pk=call["id"])
        await a.request("calls", "hangup", pk=call["id"])
        assert (await report(b, call["id"], rtt_ms=10))["response_status"] == 409


async def test_a_call_keeps_only_its_latest_samples(connected, alice, bob, staff, settings):
    settings.PARLEY = {**settings.PARLEY, "QUALITY_SAMPLES_KEPT": 5, "QUALITY_BURST": 100}
    async with connected(alice) as a, connected(bob) as b, connected(staff) as s:
        call = await accepted_call(a, b, bob)
        for rtt in range(1, 9):
            await report(a if rtt % 2 else b, call["id"], rtt_ms=rtt)
        for socket in (a, b, s):  # both parties and staff read both parties' samples
            listed = await socket.request("quality", "list", call=call["id"])
            assert [x["rtt_ms"] for x in listed["payload"]["data"]] == [4, 5, 6, 7, 8]
        last = await s.request("quality", "list", call=call["id"], last=2)
        assert [x["rtt_ms"] for x in last["payload"]["data"]] == [7, 8]
        status, rows = await rest(staff, "get", f"/api/calls/{call['id']}/quality/?last=3")
        assert (status, [x["rtt_ms"] for x in rows]) == (200, [6, 7, 8])


async def test_a_sample_reported_over_rest_reaches_the_other_partys_socket(
    connected, alice, bob
):
    async with connected(alice) as a, connected(bob) as b:
        call = await accepted_call(a, b, bob)
        await b.request("quality", "subscribe_call", call=call["id"], request_id="q")
        status, sent = await rest(alice, "post", f"/api/calls/{call['id']}/quality/", SAMPLE)
        assert (status, sent["candidate_type"]) == (201, "host")
        assert (await b.push("quality", "q"))["payload"]["data"] == sent
        bad = await rest(alice, "post", f"/api/calls/{call['id']}/quality/", {"rtt_ms": -5})
        assert bad[0] == 400


async def test_a_dashboard_gets_each_partys_latest_sample_of_calls_in_progress(
    connected, alice, bob, carol, staff, settings
):
    settings.PARLEY = {**settings.PARLEY, "QUALITY_BURST": 100}
    async with connected(alice) as a, connected(bob) as b, connected(staff) as s, connected(
        carol
    ) as c:
        call = await accepted_call(a, b, bob)
        for rtt in (10, 11):
            await report(a, call["id"], rtt_ms=rtt)
        await report(b, call["id"], rtt_ms=20)
        latest = (await s.request("quality", "latest"))["payload"]["data"]
        assert sorted((x["sender"], x["rtt_ms"]) for x in latest) == [(alice.pk, 11), (bob.pk, 20)]
        assert (await c.request("quality", "latest"))["payload"]["response_status"] == 403
        status, over_rest = await rest(staff, "get", "/api/calls/live-quality/")
        assert (status, len(over_rest)) == (200, 2)
        await a.request("calls", "hangup", pk=call["id"])
        assert (await s.request("quality", "latest"))["payload"]["data"] == []  # ended
