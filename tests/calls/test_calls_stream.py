"""The call state machine as the two parties (and their tabs) see it on the socket."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from calls.models import Call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("acquainted")]


async def wait_until(condition, timeout: float = 5) -> None:
    """Poll a database condition until it holds (or fail after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await sync_to_async(condition)():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def ring(caller_socket, callee) -> dict:
    reply = await caller_socket.request("calls", "create", data={"callee": callee.pk})
    assert reply["payload"]["response_status"] == 201, reply
    return reply["payload"]["data"]


async def test_invite_rings_every_tab_of_the_callee(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as tab1, connected(bob) as tab2:
        await tab1.request("calls", "subscribe_calls", request_id="c1")
        await tab2.request("calls", "subscribe_calls", request_id="c2")
        call = await ring(a, bob)
        assert call["state"] == "ringing"
        for tab, rid in ((tab1, "c1"), (tab2, "c2")):
            push = await tab.push("calls", rid)
            assert push["payload"]["action"] == "create"
            assert push["payload"]["data"]["id"] == call["id"]
            assert push["payload"]["data"]["caller"]["id"] == alice.pk


async def test_accepting_on_one_tab_stops_the_others_ringing(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as tab1, connected(bob) as tab2:
        await a.request("calls", "subscribe_calls", request_id="ca")
        await tab1.request("calls", "subscribe_calls", request_id="c1")
        await tab2.request("calls", "subscribe_calls", request_id="c2")
        call = await ring(a, bob)
        for sock, rid in ((a, "ca"), (tab1, "c1"), (tab2, "c2")):
            await sock.push("calls", rid)

        accepted = await tab1.request("calls", "accept", pk=call["id"])
        assert accepted["payload"]["data"]["state"] == "accepted"
        for sock, rid in ((a, "ca"), (tab2, "c2")):
            push = await sock.push("calls", rid)
            assert (push["payload"]["action"], push["payload"]["data"]["state"]) == (
                "update",
                "accepted",
            )
        late = await tab2.request("calls", "accept", pk=call["id"])
        assert late["payload"]["response_status"] == 409


async def test_only_the_callee_accepts_or_rejects(connected, alice, bob, carol):
    async with connected(alice) as a, connected(carol) as c:
        call = await ring(a, bob)
        assert (await a.request("calls", "accept", pk=call["id"]))["payload"][
            "response_status"
        ] == 403
        assert (await c.request("calls", "accept", pk=call["id"]))["payload"][
            "response_status"
        ] == 404


async def test_reject_and_cancel_end_the_ringing(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        first = await ring(a, bob)
        rejected = await b.request("calls", "reject", pk=first["id"])
        assert rejected["payload"]["data"]["state"] == "rejected"
        second = await ring(a, bob)
        cancelled = await a.request("calls", "hangup", pk=second["id"])
        assert cancelled["payload"]["data"]["state"] == "cancelled"
        again = await b.request("calls", "accept", pk=second["id"])
        assert again["payload"]["response_status"] == 409


async def test_hangup_ends_an_accepted_call_for_both(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        await a.request("calls", "subscribe_calls", request_id="ca")
        call = await ring(a, bob)
        await a.push("calls", "ca")
        await b.request("calls", "accept", pk=call["id"])
        await a.push("calls", "ca")
        ended = await b.request("calls", "hangup", pk=call["id"])
        assert (ended["payload"]["data"]["state"], ended["payload"]["data"]["end_reason"]) == (
            "ended",
            "hangup",
        )
        push = await a.push("calls", "ca")
        assert push["payload"]["data"]["state"] == "ended"
        assert push["payload"]["data"]["duration"] is not None


async def test_inviting_someone_in_a_call_gives_busy_at_once(connected, alice, bob, carol):
    async with connected(alice) as a, connected(bob) as b, connected(carol) as c:
        call = await ring(a, bob)
        await b.request("calls", "accept", pk=call["id"])
        busy = await c.request("calls", "create", data={"callee": bob.pk})
        assert busy["payload"]["response_status"] == 201
        assert (busy["payload"]["data"]["state"], busy["payload"]["data"]["end_reason"]) == (
            "busy",
            "busy",
        )


async def test_glare_leaves_exactly_one_call(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        first = await ring(a, bob)
        crossing = await b.request("calls", "create", data={"callee": alice.pk})
        assert crossing["payload"]["response_status"] == 200
        assert crossing["payload"]["data"]["id"] == first["id"]
        accepted = await b.request("calls", "accept", pk=first["id"])
        assert accepted["payload"]["data"]["state"] == "accepted"
    assert await sync_to_async(Call.objects.count)() == 1


async def test_simultaneous_crossing_invites_make_one_call(connected, alice, bob):
    async with connected(alice) as a, connected(bob) as b:
        rid_a = await a.send("calls", action="create", data={"callee": bob.pk})
        rid_b = await b.send("calls", action="create", data={"callee": alice.pk})
        reply_a = await a.reply("calls", rid_a)
        reply_b = await b.reply("calls", rid_b)
        ids = {reply_a["payload"]["data"]["id"], reply_b["payload"]["data"]["id"]}
        assert len(ids) == 1
        assert sorted(
            [reply_a["payload"]["response_status"], reply_b["payload"]["response_status"]]
        ) == [200, 201]
    assert await sync_to_async(Call.objects.count)() == 1


async def test_ring_lifetime_ends_in_missed_pushed_to_both_without_any_client_action(
    connected, alice, bob, call_clock
):
    async with connected(alice) as a, connected(bob) as b:
        await a.request("calls", "subscribe_calls", request_id="ca")
        await b.request("calls", "subscribe_calls", request_id="cb")
        call = await ring(a, bob)
        await a.push("calls", "ca")
        await b.push("calls", "cb")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for sock, rid in ((a, "ca"), (b, "cb")):
            push = await sock.push("calls", rid)
            assert (push["payload"]["data"]["id"], push["payload"]["data"]["state"]) == (
                call["id"],
                "missed",
            )
        # The ring is 1 s here; the push follows the expiry by one clock beat (0.1 s).
        assert loop.time() - started < 1 + 2


async def test_restarted_server_leaves_no_call_ringing_past_its_lifetime(alice, bob):
    from datetime import timedelta

    from django.utils import timezone

    from calls import clock

    stale = await sync_to_async(Call.objects.create)(
        caller=alice, callee=bob, expires_at=timezone.now() - timedelta(seconds=5)
    )
    await sync_to_async(clock.tick)()  # the first beat a starting worker makes
    await sync_to_async(stale.refresh_from_db)()
    assert (stale.state, stale.end_reason) == ("missed", "missed")


async def test_peer_gone_ends_an_accepted_call_after_the_grace_period(
    connected, alice, bob, call_clock
):
    async with connected(alice) as a:
        await a.request("calls", "subscribe_calls", request_id="ca")
        async with connected(bob) as b:
            call = await ring(a, bob)
            await b.request("calls", "accept", pk=call["id"])
            await a.push("calls", "ca")
            await a.push("calls", "ca")
        ended = await a.push("calls", "ca")
        assert (ended["payload"]["data"]["state"], ended["payload"]["data"]["end_reason"]) == (
            "ended",
            "peer_gone",
        )


async def test_peer_back_within_grace_keeps_the_call(connected, alice, bob, settings):
    settings.PARLEY = {**settings.PARLEY, "CALL_GRACE_SECONDS": 30}
    from calls import services

    async with connected(alice) as a:
        async with connected(bob) as b:
            call = await ring(a, bob)
            await b.request("calls", "accept", pk=call["id"])
        gone = await sync_to_async(Call.objects.get)(pk=call["id"])
        assert gone.callee_gone_at is not None
        async with connected(bob):
            # The socket counts as online once its presence stream has registered it.
            await wait_until(lambda: Call.objects.get(pk=call["id"]).callee_gone_at is None)
            await sync_to_async(services.calls_tick)()
            stored = await sync_to_async(Call.objects.get)(pk=call["id"])
            assert (stored.state, stored.callee_gone_at) == ("accepted", None)


async def test_ringing_call_is_cancelled_when_the_caller_disappears(connected, alice, bob):
    async with connected(bob) as b:
        await b.request("calls", "subscribe_calls", request_id="cb")
        async with connected(alice) as a:
            await ring(a, bob)
            await b.push("calls", "cb")
        cancelled = await b.push("calls", "cb")
        assert (
            cancelled["payload"]["data"]["state"],
            cancelled["payload"]["data"]["end_reason"],
        ) == (
            "cancelled",
            "caller_gone",
        )


async def test_dashboard_is_staff_only_and_shows_state_without_signaling(
    connected, alice, bob, staff
):
    async with connected(alice) as a, connected(staff) as s:
        denied = await a.request("calls", "subscribe_dashboard")
        assert denied["payload"]["response_status"] == 403
        snapshot_denied = await a.request("calls", "dashboard")
        assert snapshot_denied["payload"]["response_status"] == 403
        await s.request("calls", "subscribe_dashboard", request_id="dash")
        call = await ring(a, bob)
        push = await s.push("calls", "dash")
        assert push["payload"]["data"]["id"] == call["id"]
        assert set(push["payload"]["data"]) >= {"caller", "callee", "state", "created_at"}
        assert not {"sdp", "candidate"} & set(push["payload"]["data"])
        snapshot = await s.request("calls", "dashboard")
        assert [c["id"] for c in snapshot["payload"]["data"]] == [call["id"]]


async def test_a_dashboard_snapshot_then_live_loses_and_doubles_nothing(
    connected, alice, bob, carol, staff
):
    """Subscribe, then fetch the snapshot; a change between the two is in one or both."""
    async with connected(alice) as a, connected(bob) as b, connected(staff) as s:
        ended = await ring(a, bob)
        await b.request("calls", "reject", pk=ended["id"])
        live = await ring(a, bob)
        await s.request("calls", "subscribe_dashboard", request_id="dash")
        await b.request("calls", "accept", pk=live["id"])  # racing the snapshot
        snapshot = (await s.request("calls", "dashboard"))["payload"]["data"]
        # Over Redis the ring itself may still reach the new subscription: pushes of a state
        # the snapshot already passed, which a dashboard keeps behind the later one.
        pushed: list[dict] = []
        while not pushed or pushed[-1]["state"] != "accepted":
            pushed.append((await s.push("calls", "dash"))["payload"]["data"])
    seen = {c["id"]: c["state"] for c in snapshot}
    assert seen == {live["id"]: "accepted", ended["id"]: "rejected"}  # live and recent
    states = {(p["id"], p["state"]) for p in pushed}
    assert states <= {(live["id"], "ringing"), (live["id"], "accepted")}
    assert [c["id"] for c in snapshot] == [live["id"], ended["id"]]  # each once, newest first


async def test_answering_a_call_that_rang_out_is_409_and_it_stays_missed(connected, alice, bob):
    from datetime import timedelta

    from django.utils import timezone

    stale = await sync_to_async(Call.objects.create)(
        caller=alice, callee=bob, expires_at=timezone.now() - timedelta(seconds=1)
    )
    async with connected(bob) as b:
        reply = await b.request("calls", "accept", pk=stale.pk)
        assert reply["payload"]["response_status"] == 409
    await sync_to_async(stale.refresh_from_db)()
    assert stale.state == "missed"


async def test_calling_an_unknown_or_inactive_user_is_404(connected, alice, bob):
    bob.is_active = False
    await sync_to_async(bob.save)()
    async with connected(alice) as a:
        for callee in (bob.pk, 999_999):
            reply = await a.request("calls", "create", data={"callee": callee})
            assert reply["payload"]["response_status"] == 404
    assert not await sync_to_async(Call.objects.exists)()
