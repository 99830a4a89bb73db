"""The socket's AsyncAPI document (/api/asyncapi.json) and TypeScript declarations
(frontend/protocol.d.ts): made from the consumers, so they cannot drift from them."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from jsonschema import Draft7Validator

from consumers.routing import ParleySocket
from project.asyncapi import JSON_SCHEMA_SETTINGS, document, protocol
from project.typescript import declarations
from project.version import PROTOCOL_VERSION
from tests.conftest import service_missing
from tests.live.server import ROOT

FRONTEND = ROOT / "frontend"
VALIDATOR = FRONTEND / "scripts" / "validate-asyncapi.js"
DECLARATIONS = FRONTEND / "protocol.d.ts"
STREAM_ACTIONS = [
    (name, action)
    for name, stream in ParleySocket.streams.items()
    for action in sorted(stream.available_actions)
]


def message(doc: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    """The message an operation points at (through the channel, to the components)."""
    name = ref["$ref"].rsplit("/", 1)[-1]
    assert doc["channels"]["socket"]["messages"][name] == {"$ref": f"#/components/messages/{name}"}
    found: dict[str, Any] = doc["components"]["messages"][name]
    return found


def payload_of(frame_schema: dict[str, Any]) -> dict[str, Any]:
    """The ``payload`` schema of a frame's envelope, its parts merged (one level of allOf)."""
    payload = frame_schema["properties"]["payload"]
    merged: dict[str, Any] = {"properties": {}, "required": []}
    for part in payload.get("allOf", [payload]):
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


@pytest.mark.django_db
def test_it_is_served_as_json_without_signing_in(client):
    response = client.get("/api/asyncapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    served = response.json()
    assert served["asyncapi"] == "3.0.0"
    assert served["info"]["version"] == PROTOCOL_VERSION
    assert served["channels"]["socket"]["address"] == "/ws/"
    assert {server["protocol"] for server in served["servers"].values()} == {"ws", "wss"}
    assert served["servers"]["ws"]["variables"]["host"]["default"] == "testserver"


def test_it_says_how_frames_are_enveloped_and_multiplexed():
    description = document()["info"]["description"]

    assert '{"stream": <stream name>, "payload": {...}}' in description
    assert "request_id" in description


@pytest.mark.parametrize(("stream", "action"), STREAM_ACTIONS)
def test_every_action_of_every_stream_is_an_operation(stream: str, action: str):
    doc = document()
    operation = doc["operations"].get(f"{stream}.{action}")

    assert operation, f"{stream} {action} is not in the AsyncAPI document"
    assert operation["action"] == "send"
    request = message(doc, operation["messages"][0])["payload"]
    assert request["properties"]["stream"] == {"const": stream}
    assert payload_of(request)["properties"]["action"] == {"const": action}
    replies = [message(doc, ref) for ref in operation["reply"]["messages"]]
    assert [reply["name"] for reply in replies] == [f"{stream}.{action}.reply", "error"]


def test_the_operations_are_the_consumers_actions_and_their_pushes_only():
    sends = {name for name, op in document()["operations"].items() if op["action"] == "send"}

    assert sends == {f"{stream}.{action}" for stream, action in STREAM_ACTIONS}


@pytest.mark.parametrize(
    ("stream", "action"), [pair for pair in STREAM_ACTIONS if pair[1].startswith("subscribe_")]
)
def test_every_subscription_says_what_it_pushes(stream: str, action: str):
    doc = document()
    operation = doc["operations"].get(f"{stream}.{action}.pushes")

    assert operation and operation["action"] == "receive"
    pushes = [message(doc, ref) for ref in operation["messages"]]
    assert pushes, f"{stream} {action} declares no pushes"
    for push in pushes:
        payload = payload_of(push["payload"])["properties"]
        assert push["name"] == f"{stream}.{action}.{payload['action']['const']}"
        assert payload["request_id"] == {"$ref": "#/components/schemas/RequestId"}
    unsubscribe = action.replace("subscribe_", "unsubscribe_", 1)
    assert f"{stream}.{unsubscribe}" in doc["operations"]


def pushes_in_the_protocol_document() -> set[tuple[str, str, str]]:
    """(stream, subscription, push action) of each row of docs/protocol.md's Pushes table."""
    text = (ROOT / "docs" / "protocol.md").read_text().split("\n## Pushes\n", 1)[1]
    rows = [line for line in text.split("\n### ", 1)[0].splitlines() if line.startswith("| ")]
    found, streams, subscription = set(), [], ""
    for row in rows[1:]:  # past the header (its rule starts "|-")
        subscribed, actions = (re.findall(r"`(\w+)`", cell) for cell in row.split("|")[1:3])
        if subscribed:
            streams = [word for word in subscribed if word in ParleySocket.streams]
            subscription = next(word for word in subscribed if word.startswith("subscribe_"))
        found |= {(stream, subscription, action) for stream in streams for action in actions}
    return found


def test_every_push_in_the_protocol_document_is_in_it():
    documented = pushes_in_the_protocol_document()
    described = {
        (doc.stream, doc.action, push.action) for doc in protocol().actions for push in doc.pushes
    }

    assert len(documented) > 20
    assert sorted(documented - described) == []


def test_error_frames_carry_every_error_status_and_the_close_codes_are_listed():
    doc = document()
    error = doc["components"]["messages"]["error"]["payload"]
    statuses = error["properties"]["payload"]["properties"]["response_status"]["enum"]
    closes = {entry["code"] for entry in doc["channels"]["socket"]["x-close-codes"]}

    assert {400, 403, 404, 405, 409, 413, 429, 500, 503} <= set(statuses)
    assert {4401, 4408, 1009, 1011} <= closes
    assert doc["operations"]["errors"]["action"] == "receive"


def frames_received_in_the_protocol_document() -> list[dict[str, Any]]:
    """Every frame docs/protocol.md shows a client receiving (``who ← {...}``, captured from a
    running server by docs/capture.py), as JSON."""
    frames: list[str] = []
    text = (ROOT / "docs" / "protocol.md").read_text()
    for block in re.findall(r"```text\n(.*?)```", text, re.DOTALL):
        reading = False  # a received frame, continued on the indented lines after it
        for line in block.splitlines():
            received = re.match(r"\S.*? ← (\{.*)$", line)
            if received:
                frames.append(received.group(1))
            elif reading and line.startswith(" "):
                frames[-1] += " " + line.strip()
            reading = bool(received) or (reading and line.startswith(" "))
    return [json.loads(frame) for frame in frames]


def messages_for(doc: dict[str, Any], frame: dict[str, Any]) -> list[str]:
    """The messages of the document a received frame may be: its action's reply or a push of
    its stream named like its action; an error frame (``revoked`` is a push)."""
    payload, stream = frame["payload"], frame["stream"]
    if payload["response_status"] >= 400 and payload["action"] != "revoked":
        return ["error"]
    names = doc["components"]["messages"]
    head, tail = f"{stream}.", f".{payload['action']}"
    pushes = [name for name in names if name.startswith(head) and name.endswith(tail)]
    return [name for name in [f"{head}{payload['action']}.reply", *pushes] if name in names]


def errors_of(doc: dict[str, Any], name: str, frame: dict[str, Any]) -> list[str]:
    """What in ``frame`` does not match the document's message ``name``."""
    schema = {**doc["components"]["messages"][name]["payload"], "components": doc["components"]}
    return [error.message for error in Draft7Validator(schema).iter_errors(frame)]


def test_every_frame_captured_from_the_server_matches_its_message():
    """The frames of docs/protocol.md, replies, pushes and errors, each validate against a
    message of the document: the schemas say what the server really sends."""
    doc = document()
    frames = frames_received_in_the_protocol_document()
    mismatched = []
    for frame in frames:
        candidates = messages_for(doc, frame)
        problems = [errors_of(doc, name, frame) for name in candidates]
        if not candidates or all(problems):
            mismatched.append((frame, candidates, problems[:1]))

    assert len(frames) > 250
    assert mismatched == []


def test_objects_have_the_schemas_of_the_openapi_document():
    """Serializers shared with the REST twin give the same component, name and schema."""
    with patched_settings(JSON_SCHEMA_SETTINGS):
        openapi = SchemaGenerator().get_schema(request=None, public=True)
    rest = openapi["components"]["schemas"]
    socket = document()["components"]["schemas"]
    shared = sorted(rest.keys() & socket.keys())

    assert {"Room", "Message", "Membership", "Call", "Sdp", "Ice", "QualitySample"} <= set(shared)
    assert [name for name in shared if rest[name] != socket[name]] == []


def test_the_document_is_valid_for_the_asyncapi_parser(tmp_path: Path):
    """The parser of the AsyncAPI initiative (npm @asyncapi/parser) finds no error in it."""
    node = shutil.which("node")
    if node is None or not (FRONTEND / "node_modules" / "@asyncapi" / "parser").is_dir():
        service_missing("node and frontend/node_modules (cd frontend && npm ci) are needed")
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document()))

    result = subprocess.run(
        [str(node), str(VALIDATOR), str(path)],
        cwd=FRONTEND, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s)" in result.stdout


def test_the_committed_typescript_declarations_are_current():
    assert DECLARATIONS.read_text() == declarations(protocol()), (
        "frontend/protocol.d.ts is stale: python manage.py asyncapi --typescript "
        "frontend/protocol.d.ts"
    )


def test_the_declarations_name_every_action_and_push():
    text = DECLARATIONS.read_text()

    for stream, action in STREAM_ACTIONS:
        assert f"\n    {action}: {{\n      arguments:" in text.split(f"\n  {stream}: {{\n", 1)[1]
    for frame in ("export interface Envelope<", "export interface ErrorPayload", "OnPush<"):
        assert frame in text


@pytest.mark.django_db
def test_the_rest_documents_link_to_it(client):
    info = client.get("/api/schema/?format=json").json()["info"]

    assert "[/api/asyncapi.json](/api/asyncapi.json)" in info["description"]
