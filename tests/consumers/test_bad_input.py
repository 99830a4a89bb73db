"""Bad input never kills the socket: every malformed frame gets an error frame."""

import json

import pytest
from asgiref.sync import sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms import services
from rooms.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS = ["rooms", "messages", "presence"]
ACTIONS = [
    "list", "retrieve", "create", "update", "patch", "delete", "join", "leave", "invite",
    "remove_member", "members", "subscribe_instance", "unsubscribe_instance", "subscribe_rooms",
    "unsubscribe_rooms", "subscribe_room", "unsubscribe_room", "typing", "nope",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
hostile_payloads = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(ACTIONS) | json_values,
        "request_id": json_values,
        "pk": json_values,
        "room": json_values,
        "data": json_values,
        "user": json_values,
        "before": json_values,
        "after": json_values,
        "limit": json_values,
        "self": json_values,
    },
)
hostile_frames = st.one_of(
    json_values,
    st.fixed_dictionaries({"stream": st.sampled_from(STREAMS) | json_values}, optional={
        "payload": hostile_payloads | json_values
    }),
)


@pytest.mark.parametrize(
    "text, status",
    [
        ("not json", 400),
        ("[1, 2]", 400),
        ('{"payload": {}}', 400),
        ('{"stream": "nope", "payload": {"action": "list", "request_id": 1}}', 404),
        ('{"stream": "rooms", "payload": "list"}', 400),
        ('{"stream": "rooms", "payload": {"request_id": 1}}', 400),
        ('{"stream": "rooms", "payload": {"action": "list"}}', 400),
        ('{"stream": "rooms", "payload": {"action": "nope", "request_id": 1}}', 405),
        ('{"stream": "rooms", "payload": {"action": "retrieve", "request_id": 1}}', 400),
        ('{"stream": "rooms", "payload": {"action": "retrieve", "request_id": 1, "pk": "x"}}', 400),
        ('{"stream": "rooms", "payload": {"action": "retrieve", "request_id": 1, "pk": 99}}', 404),
        ('{"stream": "rooms", "payload": {"action": "create", "request_id": 1}}', 400),
        ('{"stream": "messages", "payload": {"action": "create", "request_id": 1,'
         ' "data": {"room": 1, "body": ["x"]}}}', 400),
        ('{"stream": "rooms", "payload": {"action": "list", "request_id": 1, "self": 1}}', 400),
    ],
)
async def test_malformed_frame_gets_error_frame_and_socket_stays_open(
    connected, alice, text, status
):
    async with connected(alice) as a:
        await a.send_text(text)
        error = await a.next_frame()
        assert error["payload"]["response_status"] == status
        if status >= 400:
            assert error["payload"]["errors"]
        assert (await a.request("rooms", "list"))["payload"]["response_status"] == 200


async def test_binary_frame_gets_400(connected, alice):
    async with connected(alice) as a:
        await a.communicator.send_to(bytes_data=b"\x00\x01")
        assert (await a.next_frame())["payload"]["response_status"] == 400
        assert (await a.request("rooms", "list"))["payload"]["response_status"] == 200


async def test_frame_over_size_cap_gets_413(connected, alice, settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_FRAME_BYTES": 1024}
    async with connected(alice) as a:
        await a.send_text(json.dumps({"stream": "rooms", "payload": {"pad": "x" * 2000}}))
        assert (await a.next_frame())["payload"]["response_status"] == 413
        assert (await a.request("rooms", "list"))["payload"]["response_status"] == 200


async def test_message_body_over_limit_is_refused_and_not_stored(connected, alice):
    room = await sync_to_async(services.room_create)(owner=alice, name="general", title="G")
    async with connected(alice) as a:
        reply = await a.request(
            "messages", "create", data={"room": room.pk, "body": "x" * 4001}
        )
        assert reply["payload"]["response_status"] == 400
    assert not await sync_to_async(Message.objects.exists)()


async def test_hostile_frames_never_kill_the_socket(connected, alice):
    """Hundreds of generated malformed frames, then a valid request still gets its answer."""
    frames = []

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(frame=hostile_frames)
    def collect(frame):
        frames.append(frame)

    collect()
    async with connected(alice) as a:
        for frame in frames:
            await a.send_frame(frame)
        answers = [await a.next_frame() for _ in frames]
        assert all("stream" in f and "payload" in f for f in answers)
        reply = await a.request("rooms", "list")
        assert reply["payload"]["response_status"] == 200


@pytest.mark.parametrize("name", ["self", "action", "request_id"])
async def test_reserved_argument_nested_under_data_gets_400(connected, alice, name):
    async with connected(alice) as a:
        reply = await a.request("rooms", "list", data={name: 1})
        assert reply["payload"]["response_status"] == 400


async def test_a_stream_that_fails_to_start_answers_503_and_the_others_go_on(
    connected, alice, monkeypatch, caplog
):
    from consumers.calls import SdpStream

    def broken_init(self, **kwargs):
        raise RuntimeError("injected: the sdp stream cannot start")

    monkeypatch.setattr(SdpStream, "__init__", broken_init)
    async with connected(alice) as ws:
        request_id = await ws.send("sdp", action="list", call=1)
        reply = await ws.reply("sdp", request_id)
        assert reply["payload"]["response_status"] == 503
        request_id = await ws.send("sdp", action="list", call=1)  # refused for good
        assert (await ws.reply("sdp", request_id))["payload"]["response_status"] == 503
        rooms = await ws.request("rooms", "list")
        assert rooms["payload"]["response_status"] == 200
    assert "Stream sdp failed to start" in caplog.text
