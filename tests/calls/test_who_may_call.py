"""Whom a user may ring: people who share a room with them, unless a setting widens it."""

import pytest
from asgiref.sync import sync_to_async

from calls.models import Call
from tests.calls.test_calls_stream import ring
from tests.conftest import make_user, share_a_room
from tests.rest.test_calls_api import rest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_stranger_is_a_missing_id_even_when_busy(connected, alice, bob):
    """Ringing ids one by one tells a stranger neither who exists nor who is in a call."""
    dave = await sync_to_async(make_user)("dave")
    await sync_to_async(share_a_room)(bob, dave, name="bob-and-dave")
    async with connected(dave) as d, connected(bob):
        call = await ring(d, bob)
        async with connected(bob) as b:
            await b.request("calls", "accept", pk=call["id"])
        async with connected(alice) as a:
            stranger = await a.request("calls", "create", data={"callee": dave.pk})
            missing = await a.request("calls", "create", data={"callee": dave.pk + 1000})
    for reply in (stranger, missing):
        del reply["payload"]["request_id"]
    assert stranger["payload"] == missing["payload"]
    assert stranger["payload"]["response_status"] == 404
    assert (await rest(alice, "post", "/api/calls/", {"callee": dave.pk})) == (
        await rest(alice, "post", "/api/calls/", {"callee": dave.pk + 1000})
    )
    assert await Call.objects.filter(caller=alice).acount() == 0


async def test_sharing_a_room_lets_people_ring_each_other(connected, alice, bob):
    async with connected(alice) as a, connected(bob):
        refused = await a.request("calls", "create", data={"callee": bob.pk})
        assert refused["payload"]["response_status"] == 404
        await sync_to_async(share_a_room)(alice, bob)
        assert (await ring(a, bob))["state"] == "ringing"


async def test_the_setting_widens_calls_to_anyone(connected, alice, bob, settings):
    settings.PARLEY = {**settings.PARLEY, "CALLS_FROM": "anyone"}
    async with connected(alice) as a, connected(bob):
        assert (await ring(a, bob))["callee"]["id"] == bob.pk
