"""PARLEY_LOG_FORMAT=json: the server's log is one JSON object per line, with a line per
socket action naming the socket, user, stream, action, status and time taken."""

import asyncio
import json

import pytest

from tests.live.conftest import two_in_a_room
from tests.live.server import uvicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def json_lines(path) -> list[dict]:
    """The log's lines from the first JSON one on (uvicorn prints its first lines before
    Django's logging is set up)."""
    lines = path.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("{"))
    return [json.loads(line) for line in lines[first:] if line.strip()]


async def test_each_socket_action_is_one_json_line(tmp_path):
    with uvicorn(tmp_path, "json", extra_env={"PARLEY_LOG_FORMAT": "json"}) as server:
        async with two_in_a_room(server, "logged") as two:
            await two.a.request("messages", "create", data={"room": two.room_id, "body": "hi"})
            await two.a.request("messages", "create", data={"room": two.room_id})  # 400
            alice = two.alice["user"]["id"]

            def logged() -> list[dict]:
                return [
                    entry for entry in json_lines(server.log)
                    if entry.get("logger") == "parley.actions" and entry.get("user") == alice
                ]

            async with asyncio.timeout(5):
                while len([e for e in logged() if e["stream"] == "messages"]) < 2:
                    await asyncio.sleep(0.05)
        posted, refused = [e for e in logged() if e["stream"] == "messages"]
        assert (posted["action"], posted["status"]) == ("create", 201)
        assert (refused["action"], refused["status"]) == ("create", 400)
        assert posted["level"] == "INFO" and posted["socket"] == refused["socket"]
        assert isinstance(posted["duration_ms"], float) and posted["time"]
        assert json_lines(server.log)  # every line from there on parsed as JSON


def test_a_bad_log_format_stops_the_start_naming_the_variable(tmp_path):
    with pytest.raises(RuntimeError) as failed:
        with uvicorn(tmp_path, "bad", extra_env={"PARLEY_LOG_FORMAT": "xml"}):
            pass
    assert "PARLEY_LOG_FORMAT must be one of text, json" in str(failed.value)
