"""Every action a script could flood with has a per-user burst, shared by the user's sockets
(and, over Redis, by every worker): rooms, invitations, calls and typing, like posting."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bursts_of_two(settings):
    # A window longer than the test: the count cannot roll over while it runs.
    settings.PARLEY = {
        **settings.PARLEY,
        **{f"{kind}_BURST": 2 for kind in ("ROOM", "INVITE", "CALL", "TYPING")},
        **{f"{kind}_BURST_SECONDS": 10**9 for kind in ("ROOM", "INVITE", "CALL", "TYPING")},
    }


def refused(reply: dict, words: str) -> bool:
    payload = reply["payload"]
    return payload["response_status"] == 429 and words in payload["errors"][0]


async def test_creating_rooms_too_fast_is_429(bursts_of_two, connected, alice):
    async with connected(alice) as a, connected(alice) as second_tab:
        for n in (1, 2):
            made = await a.request("rooms", "create", data={"name": f"r{n}", "title": "R"})
            assert made["payload"]["response_status"] == 201
        third = await second_tab.request("rooms", "create", data={"name": "r3", "title": "R"})
        assert refused(third, "creating rooms too fast")
        assert "Expected available in" in third["payload"]["errors"][0]


async def test_inviting_too_fast_is_429(bursts_of_two, connected, alice, bob, carol, staff):
    async with connected(alice) as a:
        room = await a.request("rooms", "create", data={"name": "club", "title": "Club",
                                                        "is_private": True})
        pk = room["payload"]["data"]["id"]
        for user in (bob, carol):
            invited = await a.request("rooms", "invite", pk=pk, user=user.pk)
            assert invited["payload"]["response_status"] in (200, 201)
        assert refused(await a.request("rooms", "invite", pk=pk, user=staff.pk),
                       "inviting people too fast")


async def test_placing_calls_too_fast_is_429(
    bursts_of_two, acquainted, connected, alice, bob, general
):
    async with connected(alice) as a:
        for _ in (1, 2):
            call = await a.request("calls", "create", data={"callee": bob.pk})
            assert call["payload"]["response_status"] in (200, 201)
            await a.request("calls", "hangup", pk=call["payload"]["data"]["id"])
        assert refused(await a.request("calls", "create", data={"callee": bob.pk}),
                       "placing calls too fast")


async def test_typing_too_fast_is_429_across_tabs(bursts_of_two, connected, alice, general):
    async with connected(alice) as one, connected(alice) as two, connected(alice) as three:
        for socket in (one, two):  # each tab once: the per-socket pace never bites
            typed = await socket.request("presence", "typing", room=general.pk)
            assert typed["payload"]["response_status"] == 202
        third = await three.request("presence", "typing", room=general.pk)
        assert refused(third, "typing signals too fast")
