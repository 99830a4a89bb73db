"""/metrics after known traffic, as Prometheus scrapes it: every count moves by what was done,
labels stay in closed sets, and the endpoint is not public."""

import asyncio
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.live.conftest import guest, two_in_a_room
from tests.live.server import uvicorn
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

Samples = dict[tuple[str, frozenset], float]


def scrape(server, token: str | None = None) -> Samples:
    request = urllib.request.Request(server.url + "/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = reply.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def status_of(server, token: str | None = None) -> int:
    try:
        scrape(server, token)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


async def test_metrics_count_known_traffic(uvicorn_server):
    before = scrape(uvicorn_server)
    async with two_in_a_room(uvicorn_server, "metered") as two:
        during = scrape(uvicorn_server)
        assert value(during, "parley_sockets_open") == value(before, "parley_sockets_open") + 2
        for n in range(3):
            await two.a.request("messages", "create", data={"room": two.room_id, "body": f"{n}"})
            await two.b.push("messages", "m")
        refused = await two.a.request("messages", "create", data={"room": two.room_id})
        assert refused["payload"]["response_status"] == 400
        unknown = await two.a.request("messages", "no-such-action-xyz")
        assert unknown["payload"]["response_status"] == 405
        await two.a.connection.send("not json")
        await two.a.wait_for(lambda f: f["payload"]["response_status"] == 400)
        after = scrape(uvicorn_server)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("parley_frames_in_total", stream="messages", action="create") == 4
    assert grew("parley_frames_in_total", stream="messages", action="other") == 1
    assert grew("parley_frames_in_total", stream="none", action="none") == 1
    assert grew("parley_pushes_delivered_total", stream="messages") == 3
    assert grew("parley_frames_out_total", stream="messages", action="create", kind="push") == 3
    assert grew("parley_error_frames_total", status="400") == 2
    assert grew("parley_error_frames_total", status="405") == 1
    assert grew("parley_push_delay_seconds_count") >= 3
    assert grew("parley_sockets_opened_total") == 2
    # Nothing a client sent became a label.
    assert not any("xyz" in str(labels) for _, labels in after)


async def test_calls_and_rate_limits_are_counted(tmp_path):
    with uvicorn(tmp_path, "metered", extra_env={"PARLEY_CALL_BURST": "1"}) as server:
        async with two_in_a_room(server, "calls") as two:
            bob_id = two.bob["user"]["id"]
            call = await two.a.request("calls", "create", data={"callee": bob_id})
            ringing = scrape(server)
            assert value(ringing, "parley_calls", state="ringing") == 1
            await two.a.request("calls", "hangup", pk=call["payload"]["data"]["id"])
            again = await two.a.request("calls", "create", data={"callee": bob_id})
            assert again["payload"]["response_status"] == 429
            after = scrape(server)
        assert value(after, "parley_calls", state="ringing") == 0
        assert value(after, "parley_calls_ended_total", state="cancelled", reason="cancelled") == 1
        assert value(after, "parley_rate_limited_total", kind="call") == 1
        await closed(server, 2)
        assert value(scrape(server), "parley_sockets_closed_total", code="1000") == 2


async def closed(server, count: int) -> bool:
    """The server counted ``count`` closed sockets (it hears of a close a moment later)."""
    async with asyncio.timeout(5):
        while sum(
            v for (name, _), v in scrape(server).items() if name == "parley_sockets_closed_total"
        ) < count:
            await asyncio.sleep(0.05)
    return True


def test_metrics_are_not_public(tmp_path):
    private = {"PARLEY_METRICS_ALLOW": "10.0.0.0/8", "PARLEY_METRICS_TOKEN": "s3cret-token"}
    with uvicorn(tmp_path, "private", extra_env=private) as server:
        assert status_of(server) == 403  # loopback is not in the allowed networks here
        assert status_of(server, "wrong") == 403
        assert status_of(server, "s3cret-token") == 200


async def test_several_workers_add_up_in_multiprocess_mode(tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with uvicorn(tmp_path, "workers", extra_env=env, workers=2) as server:
        sockets = [
            await LiveSocket.open(server.ws_url, guest(server, f"Guest {n}")["token"])
            for n in range(6)
        ]
        try:
            for socket in sockets:
                await socket.request("rooms", "list")
            pids = {path.name.split("_")[-1] for path in shared.glob("*.db")}
            assert len(pids) >= 2, "both workers took sockets"  # (uvicorn spreads accepts)
            samples = scrape(server)
            assert value(samples, "parley_sockets_open") == 6
            assert value(samples, "parley_frames_in_total", stream="rooms", action="list") == 6
        finally:
            for socket in sockets:
                await socket.close()
