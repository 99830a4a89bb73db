"""SDP and ICE: only between the two parties, never echoed, never dropped, only while live."""

import base64
import hashlib
import hmac

import pytest
from asgiref.sync import sync_to_async

from calls import services, turn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("acquainted")]

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"


@pytest.fixture
def call(alice, bob):
    call, _ = services.call_invite(caller=alice, callee=bob)
    return call


async def test_offer_reaches_the_other_party_and_is_not_echoed(connected, alice, bob, call):
    async with connected(alice) as a, connected(bob) as b:
        await a.request("sdp", "subscribe_call", call=call.pk, request_id="sa")
        await b.request("sdp", "subscribe_call", call=call.pk, request_id="sb")
        sent = await a.request(
            "sdp", "create", data={"call": call.pk, "type": "offer", "sdp": OFFER}
        )
        assert sent["payload"]["response_status"] == 201
        push = await b.push("sdp", "sb")
        assert (push["payload"]["data"]["type"], push["payload"]["data"]["sdp"]) == ("offer", OFFER)
        assert push["payload"]["data"]["sender"] == alice.pk
        await a.assert_silent()


async def test_strangers_get_404_on_a_calls_signaling(connected, carol, call):
    async with connected(carol) as c:
        for stream in ("sdp", "ice"):
            for action in ("list", "subscribe_call"):
                reply = await c.request(stream, action, call=call.pk)
                assert reply["payload"]["response_status"] == 404, (stream, action)
        sent = await c.request(
            "sdp", "create", data={"call": call.pk, "type": "offer", "sdp": OFFER}
        )
        assert sent["payload"]["response_status"] == 404


async def test_candidates_sent_before_anyone_listens_are_kept_in_order(connected, alice, bob, call):
    async with connected(alice) as a:
        for port in (50000, 50001, 50002):
            line = CANDIDATE.replace("50000", str(port))
            data = {"call": call.pk, "candidate": line, "sdp_mid": "0", "sdp_mline_index": 0}
            assert (await a.request("ice", "create", data=data))["payload"][
                "response_status"
            ] == 201
        await a.request("ice", "create", data={"call": call.pk, "candidate": ""})
    async with connected(bob) as b:
        listing = await b.request("ice", "list", call=call.pk)
        candidates = [c["candidate"] for c in listing["payload"]["data"]]
        assert [c.split()[5] if c else "" for c in candidates] == ["50000", "50001", "50002", ""]


async def test_trickled_candidate_is_pushed_to_the_other_party_only(connected, alice, bob, call):
    async with connected(alice) as a, connected(bob) as b:
        await a.request("ice", "subscribe_call", call=call.pk, request_id="ia")
        await b.request("ice", "subscribe_call", call=call.pk, request_id="ib")
        await b.request(
            "ice",
            "create",
            data={"call": call.pk, "candidate": CANDIDATE, "sdp_mid": "0", "sdp_mline_index": 0},
        )
        push = await a.push("ice", "ia")
        assert push["payload"]["data"]["candidate"] == CANDIDATE
        await b.assert_silent()


async def test_signaling_on_an_ended_call_is_409(connected, alice, bob, call):
    await sync_to_async(services.call_hangup)(call=call, user=alice)
    async with connected(alice) as a:
        sdp = await a.request(
            "sdp", "create", data={"call": call.pk, "type": "offer", "sdp": OFFER}
        )
        ice = await a.request("ice", "create", data={"call": call.pk, "candidate": CANDIDATE})
        assert sdp["payload"]["response_status"] == ice["payload"]["response_status"] == 409


async def test_signals_sent_at_once_are_each_stored_and_pushed_and_a_refused_one_fails_alone(
    connected, alice, bob, carol, staff, call
):
    other, _ = await sync_to_async(services.call_invite)(caller=carol, callee=staff)
    await sync_to_async(services.call_hangup)(call=other, user=carol)

    def candidate(call_id, port):
        line = CANDIDATE.replace("50000", str(port))
        return {"call": call_id, "candidate": line, "sdp_mid": "0", "sdp_mline_index": 0}

    async with connected(alice) as a, connected(bob) as b, connected(carol) as c:
        await a.request("ice", "subscribe_call", call=call.pk, request_id="ia")
        await b.request("ice", "subscribe_call", call=call.pk, request_id="ib")
        # Sent without waiting for replies: the writes travel to the database together.
        sent = {
            (a, await a.send("ice", action="create", data=candidate(call.pk, port))): 201
            for port in (50001, 50002, 50003)
        }
        sent |= {
            (b, await b.send("ice", action="create", data=candidate(call.pk, port))): 201
            for port in (50004, 50005)
        }
        sent[c, await c.send("ice", action="create", data=candidate(other.pk, 50006))] = 409
        for (socket, request_id), status in sent.items():
            reply = await socket.reply("ice", request_id, "create")
            assert reply["payload"]["response_status"] == status, reply
        to_bob = [(await b.push("ice", "ib"))["payload"]["data"]["candidate"] for _ in range(3)]
        to_alice = [(await a.push("ice", "ia"))["payload"]["data"]["candidate"] for _ in range(2)]
        assert [line.split()[5] for line in to_bob] == ["50001", "50002", "50003"]
        assert [line.split()[5] for line in to_alice] == ["50004", "50005"]
        listing = await a.request("ice", "list", call=call.pk)
        assert len(listing["payload"]["data"]) == 5


@pytest.mark.parametrize("sdp", ["", "   ", "hello", "v=0" + "x" * 40000, "v=0\x00"])
async def test_invalid_sdp_is_refused(connected, alice, call, sdp):
    async with connected(alice) as a:
        reply = await a.request(
            "sdp", "create", data={"call": call.pk, "type": "offer", "sdp": sdp}
        )
        assert reply["payload"]["response_status"] == 400


async def test_ice_servers_carry_coturn_rest_credentials(connected, alice, settings):
    settings.PARLEY = {
        **settings.PARLEY,
        "STUN_URLS": ["stun:stun.example.org:3478"],
        "TURN_URLS": ["turn:turn.example.org:3478?transport=udp"],
        "TURN_SECRET": "s3cret",
        "TURN_TTL_SECONDS": 600,
    }
    async with connected(alice) as a:
        reply = await a.request("calls", "ice_servers")
    payload = reply["payload"]["data"]
    stun, relay = payload["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    expiry, user_id = relay["username"].split(":")
    assert user_id == str(alice.pk)
    expected = base64.b64encode(
        hmac.new(b"s3cret", relay["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert relay["credential"] == expected
    assert payload["ttl"] == 600
    import time

    assert 590 <= int(expiry) - time.time() <= 600


def test_turn_credential_expires_after_the_ttl():
    username, password = turn.turn_credential(secret="k", user_id=7, expires_at=1_000_600)
    assert username == "1000600:7"
    assert (
        password == base64.b64encode(hmac.new(b"k", b"1000600:7", hashlib.sha1).digest()).decode()
    )
