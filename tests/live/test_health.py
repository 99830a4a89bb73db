"""/healthz and /readyz as a load balancer sees them: the process answers; the database and the
channel layer answer a round trip, or the 503 names the one that does not."""

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.live.server import free_port, uvicorn
from tests.live.wsclient import LiveSocket

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def get(url: str) -> tuple[int, dict, dict]:
    """Status, JSON body and headers (names in lower case) of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, json.loads(reply.read()), lower(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), lower(error.headers)


def lower(headers) -> dict:
    return {name.lower(): value for name, value in headers.items()}


def test_health_and_readiness_answer_json_without_signing_in(uvicorn_server):
    status, body, headers = get(uvicorn_server.url + "/healthz")
    assert (status, body["status"]) == (200, "ok")
    assert headers["parley-protocol"] == body["protocol_version"]
    status, body, headers = get(uvicorn_server.url + "/readyz")
    assert (status, body["status"]) == (200, "ready"), body
    assert body["checks"]["database"]["ok"] and body["checks"]["channel_layer"]["ok"]
    assert all(check["ms"] >= 0 for check in body["checks"].values())
    assert headers["cache-control"].startswith("max-age=0")  # never a cached answer


def test_readiness_is_not_throttled(uvicorn_server):
    statuses = {get(uvicorn_server.url + "/readyz")[0] for _ in range(100)}
    assert statuses == {200}


async def test_the_socket_handshake_states_the_protocol_version(uvicorn_server):
    from tests.live.conftest import guest

    session = guest(uvicorn_server, "Alice")
    socket = await LiveSocket.open(uvicorn_server.ws_url, session["token"])
    try:
        headers = socket.connection.response.headers
        assert headers["Parley-Protocol"] == get(uvicorn_server.url + "/healthz")[1][
            "protocol_version"
        ]
    finally:
        await socket.close()


def test_a_stopped_redis_makes_the_worker_unready_naming_the_channel_layer(
    tmp_path, private_redis
):
    with uvicorn(tmp_path, "uvicorn", redis_url=private_redis.url) as server:
        for _ in range(30):
            assert get(server.url + "/readyz")[0] == 200
        # One probe channel per worker, not one per check left subscribed in Redis.
        channels = subprocess.run(
            ["redis-cli", "-p", str(private_redis.port), "PUBSUB", "CHANNELS", "*readyz*"],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        assert len(channels) <= 1, channels
        private_redis.stop()
        status, body, _ = get(server.url + "/readyz")
        assert (status, body["status"]) == (503, "unavailable")
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["channel_layer"]["ok"] is False
        assert body["checks"]["channel_layer"]["error"]
        assert get(server.url + "/healthz")[0] == 200  # the process itself is fine
        private_redis.start()
        assert get(server.url + "/readyz")[0] == 200


def test_why_a_check_failed_is_told_to_operators_only(tmp_path):
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/parley"
    outsiders = {"DATABASE_URL": nowhere, "PARLEY_METRICS_ALLOW": "10.0.0.0/8"}
    with uvicorn(tmp_path, "uvicorn", extra_env=outsiders) as server:
        status, body, _ = get(server.url + "/readyz")
        assert (status, body["checks"]["database"]["ok"]) == (503, False)
        assert "error" not in body["checks"]["database"]  # no host, port or user


def test_an_unreachable_database_makes_the_worker_unready_naming_it(tmp_path):
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/parley"
    with uvicorn(tmp_path, "uvicorn", extra_env={"DATABASE_URL": nowhere}) as server:
        status, body, _ = get(server.url + "/readyz")
        assert (status, body["checks"]["database"]["ok"]) == (503, False)
        assert "OperationalError" in body["checks"]["database"]["error"]
        assert body["checks"]["channel_layer"]["ok"] is True
