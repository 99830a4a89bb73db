"""The reference deployment end to end: the shipped nginx site in front of two workers started
as the shipped unit starts them, over PostgreSQL and Redis; every request goes through nginx."""

import asyncio
from http.cookies import SimpleCookie

import pytest
import websockets
from asgiref.sync import sync_to_async
from websockets.typing import Origin

from presence.models import Presence
from tests.deploy.recipe import Deployment, fetch, stop
from tests.live.conftest import guest, two_in_a_room
from tests.live.peer import Peer
from tests.live.server import LiveServer
from tests.live.test_webrtc_call import callee_side, caller_side
from tests.live.wsclient import TIMEOUT, LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@sync_to_async
def presence_pids(session: dict) -> set[int]:
    """The processes holding the user's sockets: a worker's key is ``<host>-<pid>-<random>``
    (presence/tracker.py)."""
    presences = Presence.objects.filter(user_id=session["user"]["id"])
    return {int(key.rsplit("-", 2)[1]) for key in presences.values_list("worker__key", flat=True)}


async def worker_of(session: dict, workers: list[LiveServer]) -> LiveServer:
    """The running worker that holds the user's socket, once its presence is recorded."""
    running = {worker.process.pid: worker for worker in workers if worker.process.poll() is None}
    async with asyncio.timeout(TIMEOUT):
        while not (pids := running.keys() & await presence_pids(session)):
            await asyncio.sleep(0.05)
    return running[pids.pop()]


async def peer(socket: LiveSocket, session: dict) -> Peer:
    """An aiortc peer on this socket, ringing and rung through it."""
    servers = (await socket.request("calls", "ice_servers"))["payload"]["data"]["ice_servers"]
    party = Peer(session["user"]["id"], socket, servers)
    await party.expect_ok("calls", "subscribe_calls", request_id="calls")
    return party


async def test_a_chat_and_a_call_pass_through_nginx_between_two_workers(deployed: Deployment):
    async with two_in_a_room(deployed.proxy, "deploy") as them:
        # Apart (least_conn gives the second socket to the worker without one), so the push and
        # the call's signaling cross from one worker to the other through Redis.
        alice_on = await worker_of(them.alice, deployed.workers)
        bob_on = await worker_of(them.bob, deployed.workers)
        assert alice_on is not bob_on

        await them.a.request("messages", "create", data={"room": them.room_id, "body": "hello"})
        assert (await them.b.push("messages", "m"))["payload"]["data"]["body"] == "hello"

        alice, bob = await peer(them.a, them.alice), await peer(them.b, them.bob)
        try:
            await asyncio.wait_for(
                asyncio.gather(caller_side(alice, bob.user_id, {}), callee_side(bob)), 30
            )
        finally:
            await alice.pc.close()
            await bob.pc.close()


async def test_sign_in_and_socket_see_the_pages_https_origin_through_nginx(deployed: Deployment):
    page = deployed.proxy.url
    sign_in = page + "/api/auth/guest/"
    # The same host over http, and over https on another port: other sites.
    others = [page.replace("https:", "http:"), f"https://localhost:{deployed.proxy.http_port}"]
    for origin in others:
        refused = fetch(sign_in, {"display_name": "Mallory"}, {"Origin": origin})
        assert refused.status == 403, refused.body

    signed_in = fetch(sign_in, {"display_name": "Alice"}, {"Origin": page})
    assert signed_in.status == 201, signed_in.body
    session = SimpleCookie("; ".join(signed_in.headers.get_all("Set-Cookie") or []))["sessionid"]
    assert session["secure"]  # DEBUG off: the cookie goes over https only, as it came
    cookie = {"Cookie": f"sessionid={session.value}"}

    def browser_socket(origin: str) -> websockets.connect:
        """The socket as a browser on a page at ``origin`` opens it: Origin and cookie."""
        return websockets.connect(
            deployed.proxy.ws_url, origin=Origin(origin), additional_headers=cookie
        )

    async with browser_socket(page) as connection:
        listing = await LiveSocket(connection).request("rooms", "list")
        assert listing["payload"]["response_status"] == 200
    for origin in others:
        with pytest.raises(websockets.InvalidStatus) as handshake:
            await browser_socket(origin)
        assert handshake.value.response.status_code == 403


@pytest.mark.parametrize("deployed", [{"PARLEY_AUTH_RATE": "3/minute"}], indirect=True)
def test_the_sign_in_throttle_counts_each_client_not_the_address_it_claims(deployed: Deployment):
    sign_in = deployed.proxy.url + "/api/auth/guest/"
    statuses = [
        fetch(
            sign_in, {"display_name": f"Mallory {n}"}, {"X-Forwarded-For": f"203.0.113.{n}"},
            source="127.0.0.2",
        ).status
        for n in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    # Another client (not nginx's own address, which every request would share) has its own.
    assert fetch(sign_in, {"display_name": "Alice"}, source="127.0.0.3").status == 201


def test_plain_http_is_redirected_to_https(deployed: Deployment):
    answer = fetch(f"http://localhost:{deployed.proxy.http_port}/api/rooms/?after=3")
    assert answer.status == 301
    assert answer.headers["Location"] == "https://localhost/api/rooms/?after=3"


def test_https_answers_carry_hsts_and_static_files_come_from_the_workers(deployed: Deployment):
    health = fetch(deployed.proxy.url + "/healthz")
    assert (health.status, health.json()["status"]) == (200, "ok")
    assert health.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert health.headers["Server"] == "nginx"  # no version

    css = fetch(deployed.proxy.url + "/static/admin/css/base.css")
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["X-Content-Type-Options"] == "nosniff"  # WhiteNoise, through Django's


def test_nginx_refuses_large_bodies_and_does_not_pass_metrics_on(deployed: Deployment):
    too_large = fetch(deployed.proxy.url + "/api/auth/guest/", b"x" * 300_000)
    assert too_large.status == 413
    assert fetch(deployed.proxy.url + "/metrics").status == 404


async def test_sockets_of_a_stopped_worker_reconnect_through_nginx_to_the_other(
    deployed: Deployment,
):
    alice = guest(deployed.proxy, "Alice")
    socket = await LiveSocket.open(deployed.proxy.ws_url, alice["token"])
    stopped = await worker_of(alice, deployed.workers)
    stop(stopped.process)  # systemctl stop parley@<port>, as a release restarts them in turn
    await socket.connection.wait_closed()
    assert socket.connection.close_code == 1012  # service restart: clients reconnect

    # nginx finds the stopped worker refusing and passes every request to the other one.
    for name in ("Bob", "Carol", "Dan", "Erin"):
        assert guest(deployed.proxy, name)["user"]["display_name"] == name
    again = await LiveSocket.open(deployed.proxy.ws_url, alice["token"])
    try:
        assert (await again.request("rooms", "list"))["payload"]["response_status"] == 200
        assert await worker_of(alice, deployed.workers) is not stopped
    finally:
        await again.close()
