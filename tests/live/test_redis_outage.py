"""Redis goes away and comes back: requests that need it answer 503 "try again", nothing is half
done, sockets stay open, pushes resume, and the log says it once, with how long it lasted.

The test runs its own ``redis-server`` on a free port: the shared one is never stopped.
"""

import asyncio
import json
import urllib.error
import urllib.request
from email.message import Message

import pytest

from tests.live.conftest import two_in_a_room
from tests.live.server import uvicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def rest_post(url: str, token: str, data: dict) -> tuple[int, Message, dict]:
    request = urllib.request.Request(
        url, json.dumps(data).encode(),
        {"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


async def test_a_redis_outage_is_a_503_then_everything_resumes(
    tmp_path, transactional_db, private_redis
):
    with uvicorn(tmp_path, "uvicorn", redis_url=private_redis.url) as server:
        async with two_in_a_room(server, "ops") as them:
            a, b, room_id = them.a, them.b, them.room_id
            await a.request("messages", "create", data={"room": room_id, "body": "before"})
            assert (await b.push("messages", "m"))["payload"]["data"]["body"] == "before"

            private_redis.stop()
            refused = await a.request("messages", "create", data={"room": room_id, "body": "x"})
            assert refused["payload"]["response_status"] == 503
            assert "try again" in refused["payload"]["errors"][0]
            status, headers, body = rest_post(
                server.url + "/api/messages/", them.alice["token"], {"room": room_id, "body": "y"}
            )
            assert (status, headers.get("Retry-After")) == (503, "5")
            assert "try again" in body["detail"]
            for _ in range(20):  # a client retrying hard meanwhile
                await a.request("messages", "create", data={"room": room_id, "body": "z"})
            # Nothing was half done: none of the refused posts was stored.
            history = await a.request("messages", "list", room=room_id)
            assert [m["body"] for m in history["payload"]["data"]] == ["before"]

            private_redis.start()
            await wait_for_log(server.log, "Redis is reachable again")
            # The same sockets: posts are taken again and their pushes reach Bob.
            after = await a.request("messages", "create", data={"room": room_id, "body": "after"})
            assert after["payload"]["response_status"] == 201
            assert (await b.push("messages", "m"))["payload"]["data"]["body"] == "after"
        log = server.log.read_text()
    assert log.count("Redis is unreachable") == 1
    assert log.count("Redis is reachable again after") == 1
    assert "Traceback" not in log


async def wait_for_log(log, line: str, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while line not in log.read_text():
            await asyncio.sleep(0.1)
