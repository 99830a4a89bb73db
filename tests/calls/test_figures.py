"""The dashboard's figures, against calls counted by hand."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.utils import timezone

from calls.figures import Window, today_key
from calls.models import Call
from tests.rest.test_calls_api import rest

pytestmark = pytest.mark.django_db(transaction=True)

Reason = Call.EndReason


def seed_calls(alice, bob) -> None:
    """Ten calls today (and one yesterday), with known set-up times and durations."""
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)

    def call(state, *, reason="", answered=None, connected=None, ended=None, ago=0):
        created = now - timedelta(minutes=30) - timedelta(days=ago)
        at = (lambda s: None if s is None else created + timedelta(seconds=s))
        made = Call.objects.create(
            caller=alice, callee=bob, state=state, end_reason=reason, expires_at=created,
            answered_at=at(answered), connected_at=at(connected), ended_at=at(ended),
        )
        Call.objects.filter(pk=made.pk).update(created_at=created)  # auto_now_add

    for connected, ended in ((2, 62), (3, 123), (4, 244), (10, 610)):
        call("ended", reason=Reason.HANGUP, answered=1, connected=connected, ended=ended)
    call("accepted", answered=1, connected=5)
    call("ended", reason=Reason.ICE_FAILED, answered=1, ended=21)
    call("cancelled", reason=Reason.USER_MEDIA_FAILED, ended=3)
    call("rejected", reason=Reason.REJECTED, ended=4)
    call("missed", reason=Reason.MISSED, ended=60)
    call("ringing")
    call("busy", reason=Reason.BUSY, ended=0, ago=1)  # yesterday: outside today


@pytest.fixture
def today_noon_window():
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    return {"since": (noon - timedelta(hours=12)).isoformat(), "until": noon.isoformat()}


async def test_figures_match_a_hand_count(alice, bob, staff, today_noon_window, connected):
    await sync_to_async(seed_calls)(alice, bob)
    async with connected(staff) as s:
        reply = await s.request("calls", "figures", **today_noon_window)
    figures = reply["payload"]["data"]
    assert figures["now"] == {"ringing": 1, "in_progress": 1}
    assert figures["calls"] == 10
    assert figures["outcomes"] == {
        "accepted": 5, "rejected": 1, "missed": 1, "busy": 0, "cancelled": 0,
        "unavailable": 0, "failed": 2,
    }
    assert figures["answer_rate"] == round(5 / 9, 4)  # of the 9 no longer ringing
    # Set-up (connected - created): 2, 3, 4, 5, 10 s; duration (ended - answered): 20, 61,
    # 122, 243, 609 s. Nearest rank: median the 3rd of 5, p90 the 5th.
    assert figures["set_up_seconds"] == {"count": 5, "median": 4.0, "p90": 10.0}
    assert figures["duration_seconds"] == {"count": 5, "median": 122.0, "p90": 609.0}


async def test_figures_are_for_staff_and_check_their_window(alice, staff, connected):
    async with connected(alice) as a, connected(staff) as s:
        assert (await a.request("calls", "figures"))["payload"]["response_status"] == 403
        today = (await s.request("calls", "figures"))["payload"]
        assert today["response_status"] == 200 and today["data"]["calls"] == 0
        assert today["data"]["answer_rate"] is None
        backwards = {"since": "2026-12-05T10:00Z", "until": "2026-12-05T09:00Z"}
        for bad in ({"since": "yesterday"}, backwards):
            reply = await s.request("calls", "figures", **bad)
            assert reply["payload"]["response_status"] == 400, bad
    status, over_rest = await rest(staff, "get", "/api/calls/figures/")
    assert status == 200 and over_rest["calls"] == 0
    assert (await rest(alice, "get", "/api/calls/figures/"))[0] == 403


async def next_figures(socket, rid: str, holds) -> dict:
    """The first figures push (of the subscription ``rid``) for which ``holds`` is true."""
    while not holds(figures := (await socket.push("calls", rid))["payload"]["data"]):
        pass
    return figures


@pytest.mark.usefixtures("acquainted")
async def test_figures_are_pushed_at_once_then_after_every_change(alice, bob, staff, connected):
    async with connected(alice) as a, connected(bob) as b, connected(staff) as s:
        await s.request("calls", "subscribe_figures", request_id="f")
        first = await s.push("calls", "f")
        assert first["payload"]["action"] == "figures"
        assert (first["payload"]["data"]["calls"], first["payload"]["data"]["now"]) == (
            0, {"ringing": 0, "in_progress": 0},
        )
        # Today's figures are cached for a second: a push after a change must not reuse them.
        await s.request("calls", "figures")
        call = (await a.request("calls", "create", data={"callee": bob.pk}))["payload"]["data"]
        ringing = await next_figures(s, "f", lambda f: f["now"]["ringing"] == 1)
        assert ringing["calls"] == 1
        await b.request("calls", "accept", pk=call["id"])
        await next_figures(s, "f", lambda f: f["now"] == {"ringing": 0, "in_progress": 1})
        await a.request("calls", "hangup", pk=call["id"])
        ended = await next_figures(s, "f", lambda f: f["now"]["in_progress"] == 0)
        assert (ended["outcomes"]["accepted"], ended["answer_rate"]) == (1, 1.0)
        await s.request("calls", "unsubscribe_figures", request_id="f")
        await s.drain()
        await a.request("calls", "create", data={"callee": bob.pk})
        await s.assert_silent()


async def test_figures_pushes_are_for_staff_and_keep_their_window(alice, staff, connected):
    async with connected(alice) as a, connected(staff) as s:
        refused = await a.request("calls", "subscribe_figures", request_id="f")
        assert refused["payload"]["response_status"] == 403
        window = {"since": "2026-12-01T00:00Z", "until": "2026-12-02T00:00Z"}
        await s.request("calls", "subscribe_figures", request_id="w", **window)
        pushed = (await s.push("calls", "w"))["payload"]["data"]
        assert pushed["window"] == {
            "since": "2026-12-01T00:00:00Z", "until": "2026-12-02T00:00:00Z"
        }
        await a.assert_silent()


@pytest.mark.usefixtures("acquainted")
async def test_a_push_counts_the_latest_change_even_after_a_fresh_count_elsewhere(
    alice, bob, carol, staff, connected, monkeypatch
):
    # Today's count cached long enough to be offered to the push that follows the last change.
    monkeypatch.setattr("calls.figures.TODAY_EVERY_SECONDS", 30)
    async with (
        connected(alice) as a, connected(bob), connected(carol) as c, connected(staff) as s
    ):
        await s.request("calls", "subscribe_figures", request_id="f")
        await next_figures(s, "f", lambda f: f["calls"] == 0)
        first = (await a.request("calls", "create", data={"callee": bob.pk}))["payload"]["data"]
        await next_figures(s, "f", lambda f: f["now"]["ringing"] == 1)
        # Within the second this socket waits before its next push: a change, a count made
        # after it (cached for everyone), then another change the push must still include.
        await a.request("calls", "hangup", pk=first["id"])
        await sync_to_async(cache.delete)(today_key(Window.today()))  # as when it expires
        assert (await rest(staff, "get", "/api/calls/figures/"))[1]["calls"] == 1
        await c.request("calls", "create", data={"callee": bob.pk})
        latest = await next_figures(s, "f", lambda f: f["calls"] == 2)
        assert latest["now"]["ringing"] == 1


@pytest.mark.usefixtures("acquainted")
async def test_an_open_window_keeps_counting_new_calls(alice, bob, staff, connected):
    async with connected(alice) as a, connected(staff) as s:
        since = (timezone.now() - timedelta(days=2)).isoformat()
        await s.request("calls", "subscribe_figures", request_id="w", since=since)
        await next_figures(s, "w", lambda f: f["calls"] == 0)
        await a.request("calls", "create", data={"callee": bob.pk})
        await next_figures(s, "w", lambda f: f["calls"] == 1)


async def test_unsubscribing_each_figures_subscription_stops_the_pushes(
    alice, bob, staff, connected, acquainted
):
    async with connected(alice) as a, connected(staff) as s:
        for rid in ("one", "two"):
            await s.request("calls", "subscribe_figures", request_id=rid)
        for rid in ("one", "two"):
            await s.request("calls", "unsubscribe_figures", request_id=rid)
        await s.drain()
        await a.request("calls", "create", data={"callee": bob.pk})
        await s.assert_silent()
