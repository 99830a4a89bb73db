"""Each stream and action the browser app sends (frontend/src/protocol.js) is on the server."""

import json
import re

import pytest

from consumers.routing import ParleySocket
from tests.live.server import ROOT

PROTOCOL_JS = ROOT / "frontend" / "src" / "protocol.js"
# protocol.js keeps its STREAMS as a JSON object literal: {"stream": ["action", ...], ...}.
STREAMS_LITERAL = re.compile(r"export const STREAMS = \w+\((\{.*?\n\})\);", re.DOTALL)


def app_streams() -> dict[str, list[str]]:
    """The streams and actions protocol.js names."""
    found = STREAMS_LITERAL.search(PROTOCOL_JS.read_text())
    assert found, f"no `export const STREAMS = …({{…}});` in {PROTOCOL_JS}"
    streams: dict[str, list[str]] = json.loads(found.group(1))
    return streams


def test_the_streams_literal_is_read():
    streams = app_streams()
    assert {"rooms", "messages", "calls"} <= set(streams)
    assert all(actions and all(isinstance(a, str) for a in actions) for actions in streams.values())


@pytest.mark.parametrize("stream", sorted(app_streams()))
def test_each_action_the_app_sends_is_offered_by_the_stream(stream: str):
    consumer = ParleySocket.streams.get(stream)
    assert consumer, f"the socket has no stream {stream!r}"
    offered = set(consumer.available_actions)
    assert sorted(set(app_streams()[stream]) - offered) == []


@pytest.mark.parametrize("stream", sorted(app_streams()))
def test_each_subscription_the_app_makes_can_be_ended(stream: str):
    """The app's cancel() sends unsubscribe_* for subscribe_* (frontend/src/subscriptions.js)."""
    subscribes = [action for action in app_streams()[stream] if action.startswith("subscribe_")]
    offered = set(ParleySocket.streams[stream].available_actions)
    ends = {action.replace("subscribe_", "unsubscribe_", 1) for action in subscribes}
    assert sorted(ends - offered) == []
