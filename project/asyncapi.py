"""The AsyncAPI 3.0 document of the socket, ``GET /api/asyncapi.json``, made from the consumers.

Every stream of ``ParleySocket.streams`` and every action it offers (``available_actions``)
becomes a ``send`` operation whose ``reply`` is the action's reply or an error frame; every
subscription's pushes a ``receive`` operation. What an action takes and answers is what its
``@declare`` says (``consumers.contract``), and the objects' JSON Schemas are made by
drf-spectacular from the same serializers, as for the OpenAPI document at ``/api/schema/``
(in its JSON Schema dialect, OpenAPI 3.1's: ``"type": ["string", "null"]`` for nullable).
The document describes a client: it sends requests and receives replies and pushes.
``frontend/protocol.d.ts`` is made from the same description (``project.typescript``).
"""

import copy
import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.hooks import postprocess_schema_enums
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import patched_settings
from rest_framework.generics import GenericAPIView
from rest_framework.serializers import ListSerializer, Serializer

from consumers import socket
from consumers.contract import Argument, Contract, Own, Part, Shape, contract_of
from consumers.routing import ParleySocket
from consumers.stream import WRITE_ACTIONS
from project.version import PROTOCOL_VERSION

SCHEMAS = "#/components/schemas/"
CHANNEL = "socket"
Direction = Literal["request", "response"]
# drf-spectacular's JSON Schema dialect: nullable as a type list, which AsyncAPI reads.
JSON_SCHEMA_SETTINGS = {"OAS_VERSION": "3.1.0"}

DESCRIPTION = """\
Parley's real-time API: **one WebSocket, `/ws/`**, carrying JSON text frames for several
**streams** (rooms, messages, presence, calls and their signaling). Every frame, in both
directions, is an envelope `{"stream": <stream name>, "payload": {...}}`: `stream` picks the
consumer, `payload` is what it reads or writes — the framing of the `dcrf-client` library.

A request payload names an `action`, carries a `request_id` (a string or an integer) and gives
its arguments at the top level; the write actions (`create`, `update`, `patch`) take the
object's fields under `data`. Every request gets exactly one reply on the same stream, with
the same `request_id`: `{"errors": [], "data": ..., "action": ..., "response_status": 200,
"request_id": ...}`, or an error frame (`errors` not empty, a 4xx or 5xx status). A bad
request never closes the socket. A subscription (`subscribe_*`) is named by the `request_id`
of its subscribe request: each push it causes has the shape of a reply and echoes that id, and
the matching `unsubscribe_*` must carry the same id.

This document describes a client: `send` operations are the requests it sends (with the
`reply` it gets), `receive` operations the pushes it gets. Frames, with examples captured from
a running server, are in docs/protocol.md."""

# Every status an error frame may carry (docs/protocol.md, "Errors").
ERROR_STATUSES = {
    400: "the frame or its arguments are malformed, or a rule forbids it",
    403: "not allowed",
    404: "unknown stream, or no such object (or one you may not see)",
    405: "the stream has no such action",
    409: "the call is not in a state that allows this",
    413: "the frame is larger than the server reads",
    429: "too many of these too fast",
    500: "unexpected server failure",
    503: "a service the server needs did not answer: nothing was done, send it again",
}
# How the server may close the socket; every other failure is an error frame.
CLOSE_CODES = {
    socket.CLOSE_UNAUTHENTICATED: "not signed in, or its session or token was just signed out",
    1009: "a frame over 1 MiB (the server's WebSocket limit)",
    1007: "a text frame that is not UTF-8",
    socket.CLOSE_UNAVAILABLE: "the server could not set the socket up: reconnect later",
    socket.CLOSE_TOO_SLOW: "the client fell too far behind reading (reason 'too slow'): "
    "reconnect and catch up",
}
REQUEST_ID = {
    "type": ["string", "integer"],
    "description": "Chosen by the client, echoed by the reply; a push echoes the subscribe's.",
}
ERROR_ITEM = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "description": "A field's messages, by field name.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    ]
}


@dataclass
class PushDoc:
    """Frames of one push action of a subscription."""

    action: str
    data: dict[str, Any]
    status: int
    description: str


@dataclass
class ActionDoc:
    """One action of one stream, with JSON Schemas of what it takes, answers and pushes."""

    stream: str
    action: str
    summary: str
    arguments: dict[str, Any]
    reply: dict[str, Any]
    statuses: tuple[int, ...]
    pushes: list[PushDoc] = field(default_factory=list)


@dataclass
class Protocol:
    """Every action of every stream, and the component schemas they point at."""

    streams: dict[str, str]
    actions: list[ActionDoc]
    schemas: dict[str, Any]


class Schemas:
    """JSON Schemas of serializers by drf-spectacular, as components; and of ``Shape``s."""

    def __init__(self) -> None:
        self.generator = SchemaGenerator()
        self.inspector = AutoSchema()
        self.inspector.registry = self.generator.registry
        self.inspector.method, self.inspector.path = "POST", "/ws/"
        view: Any = GenericAPIView()  # the context serializers get: none
        view.request, view.format_kwarg = None, None
        self.inspector.view = view
        self.shapes: dict[str, dict[str, Any]] = {}

    def of(self, part: Part, direction: Direction, stream: type) -> dict[str, Any]:
        """The schema of ``part``: a reference to its component, an array of them, or null."""
        if part is None:
            return {"type": "null"}
        if isinstance(part, Own):
            own = stream.serializer_class  # type: ignore[attr-defined]
            return self.of(own(many=True) if part.many else own, direction, stream)
        if isinstance(part, Shape):
            return self.shape(part)
        if isinstance(part, ListSerializer):
            child: Any = part.child  # a serializer (typed as any field)
            return {"type": "array", "items": self.of(child, direction, stream)}
        component = self.inspector.resolve_serializer(part, direction)
        return dict(component.ref)

    def shape(self, shape: Shape) -> dict[str, Any]:
        if shape.name not in self.shapes:
            self.shapes[shape.name] = self.resolved(shape.schema)
        return {"$ref": SCHEMAS + shape.name}

    def resolved(self, schema: Any) -> Any:
        """``schema`` with its ``{"$ref": <serializer or Shape>}`` made component references."""
        if isinstance(schema, list):
            return [self.resolved(item) for item in schema]
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if isinstance(ref, Shape):
            return self.shape(ref)
        if isinstance(ref, type) and issubclass(ref, Serializer):
            return dict(self.inspector.resolve_serializer(ref, "response").ref)
        return {key: self.resolved(value) for key, value in schema.items()}

    def components(self) -> dict[str, Any]:
        """Every component, enums split out and named as in the OpenAPI document."""
        result = {"components": self.generator.registry.build({})}
        result = postprocess_schema_enums(result, self.generator)
        schemas: dict[str, Any] = result["components"].get("schemas", {})
        clash = sorted(schemas.keys() & self.shapes.keys())
        assert not clash, f"Shapes named like serializer components: {clash}"
        return dict(sorted({**schemas, **self.shapes}.items()))


def arguments_schema(
    parts: tuple[Argument | Part, ...],
    schemas: Schemas,
    stream: type,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One object of ``parts`` (the Arguments' properties and the serializers' fields), with
    a write's ``data`` object."""
    plain: list[Argument] = []
    others: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Argument):
            plain.append(part)
        else:
            others.append(schemas.of(part, "request", stream))
    properties = {a.name: {**a.schema, "description": a.description} for a in plain}
    required = [argument.name for argument in plain if argument.required]
    if data is not None:
        properties["data"] = data
        required.append("data")
    if properties:
        own: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            own["required"] = required
        others.insert(0, own)
    if not others:
        return {"type": "object"}
    return others[0] if len(others) == 1 else {"allOf": others}


def describe(name: str, stream: type, action: str, schemas: Schemas) -> ActionDoc:
    """What ``action`` of ``stream`` takes, answers and pushes, from its declaration."""
    contract = contract_of(stream, action)
    if contract is None:
        raise LookupError(f"{name} {action} has no @declare (consumers.contract)")
    method = getattr(stream, stream.available_actions[action])  # type: ignore[attr-defined]
    data = None
    if contract.data is not None:
        data = arguments_schema(contract.data, schemas, stream)
    return ActionDoc(
        stream=name,
        action=action,
        summary=(method.__doc__ or "").strip(),
        arguments=arguments_schema(contract.arguments, schemas, stream, data),
        reply=schemas.of(contract.reply, "response", stream),
        statuses=contract.statuses,
        pushes=pushes_of(contract, schemas, stream),
    )


def pushes_of(contract: Contract, schemas: Schemas, stream: type) -> list[PushDoc]:
    """The push actions of a subscription, each with its data's schema."""
    return [
        PushDoc(action, schemas.of(push.data, "response", stream), push.status, push.description)
        for push in contract.pushes
        for action in push.actions
    ]


@functools.cache
def protocol() -> Protocol:
    """The socket's streams and actions, read from the consumers once per process."""
    with patched_settings(JSON_SCHEMA_SETTINGS):
        schemas = Schemas()
        actions = [
            describe(name, stream, action, schemas)
            for name, stream in ParleySocket.streams.items()
            for action in sorted(stream.available_actions)
        ]
        components = schemas.components()
    streams = {
        name: (stream.__doc__ or "").strip() for name, stream in ParleySocket.streams.items()
    }
    return Protocol(streams=streams, actions=actions, schemas=components)


# The AsyncAPI document ------------------------------------------------------------------------


def envelope(stream: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"stream": ..., "payload": ...}``: every frame."""
    return {
        "type": "object",
        "properties": {"stream": stream, "payload": payload},
        "required": ["stream", "payload"],
    }


def reply_payload(
    *, action: Any, data: Any, status: Any, errors: Any = None, request_id: Any = None
) -> dict[str, Any]:
    """A reply's payload (a push has the same shape)."""
    return {
        "type": "object",
        "properties": {
            "errors": errors or {"type": "array", "maxItems": 0},
            "data": data,
            "action": action,
            "response_status": status,
            "request_id": request_id or {"$ref": SCHEMAS + "RequestId"},
        },
        "required": ["errors", "data", "action", "response_status", "request_id"],
    }


def request_message(doc: ActionDoc) -> dict[str, Any]:
    head = {
        "type": "object",
        "properties": {
            "action": {"const": doc.action},
            "request_id": {"$ref": SCHEMAS + "RequestId"},
        },
        "required": ["action", "request_id"],
    }
    note = " Its fields go under `data`." if doc.action in WRITE_ACTIONS else ""
    return {
        "name": f"{doc.stream}.{doc.action}.request",
        "title": f"{doc.stream} {doc.action}",
        "summary": doc.summary.splitlines()[0] if doc.summary else doc.action,
        "description": doc.summary + note,
        "payload": envelope({"const": doc.stream}, {"allOf": [head, doc.arguments]}),
    }


def reply_message(doc: ActionDoc) -> dict[str, Any]:
    statuses = list(doc.statuses)
    status = {"const": statuses[0]} if len(statuses) == 1 else {"enum": statuses}
    return {
        "name": f"{doc.stream}.{doc.action}.reply",
        "title": f"{doc.stream} {doc.action}: reply",
        "summary": f"The reply to {doc.action}: status {' or '.join(map(str, statuses))}.",
        "payload": envelope(
            {"const": doc.stream},
            reply_payload(action={"const": doc.action}, data=doc.reply, status=status),
        ),
    }


def push_message(doc: ActionDoc, push: PushDoc) -> dict[str, Any]:
    errors = None
    if push.status >= 400:  # the reason in words
        errors = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    return {
        "name": f"{doc.stream}.{doc.action}.{push.action}",
        "title": f"{doc.stream} {doc.action}: {push.action}",
        "summary": push.description,
        "payload": envelope(
            {"const": doc.stream},
            reply_payload(
                action={"const": push.action},
                data=push.data,
                status={"const": push.status},
                errors=errors,
            ),
        ),
    }


def error_message() -> dict[str, Any]:
    statuses = "\n".join(f"* {code}: {meaning}" for code, meaning in ERROR_STATUSES.items())
    return {
        "name": "error",
        "title": "Error frame",
        "summary": "A request that failed, or a frame that could not be read as one.",
        "description": "The stream, action and request_id are the request's, or null when "
        f"the frame could not be read that far. Statuses:\n\n{statuses}",
        "payload": envelope(
            {"type": ["string", "null"]},
            reply_payload(
                action={"type": ["string", "null"]},
                data={"type": "null"},
                status={"enum": list(ERROR_STATUSES)},
                errors={"type": "array", "items": {"$ref": SCHEMAS + "ErrorItem"}, "minItems": 1},
                request_id={"oneOf": [{"$ref": SCHEMAS + "RequestId"}, {"type": "null"}]},
            ),
        ),
    }


def message_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{CHANNEL}/messages/{name}"}


def operations(protocol: Protocol) -> dict[str, Any]:
    channel = {"$ref": f"#/channels/{CHANNEL}"}
    found: dict[str, Any] = {}
    for doc in protocol.actions:
        name = f"{doc.stream}.{doc.action}"
        found[name] = {
            "action": "send",
            "channel": channel,
            "title": f"{doc.stream} {doc.action}",
            "summary": doc.summary.splitlines()[0] if doc.summary else doc.action,
            "tags": [{"name": doc.stream}],
            "messages": [message_ref(f"{name}.request")],
            "reply": {
                "channel": channel,
                "messages": [message_ref(f"{name}.reply"), message_ref("error")],
            },
        }
        if doc.pushes:
            found[f"{name}.pushes"] = {
                "action": "receive",
                "channel": channel,
                "title": f"{doc.stream} {doc.action}: pushes",
                "summary": f"What a {doc.action} subscription pushes, until unsubscribed.",
                "tags": [{"name": doc.stream}],
                "messages": [message_ref(f"{name}.{push.action}") for push in doc.pushes],
            }
    found["errors"] = {
        "action": "receive",
        "channel": channel,
        "title": "Frames that could not be read",
        "summary": "Error frames answering frames that are not a request (not JSON, binary, "
        "too large, no stream): stream and request_id null.",
        "messages": [message_ref("error")],
    }
    return found


def messages(protocol: Protocol) -> dict[str, Any]:
    found = {"error": error_message()}
    for doc in protocol.actions:
        found[f"{doc.stream}.{doc.action}.request"] = request_message(doc)
        found[f"{doc.stream}.{doc.action}.reply"] = reply_message(doc)
        for push in doc.pushes:
            found[f"{doc.stream}.{doc.action}.{push.action}"] = push_message(doc, push)
    return found


def servers() -> dict[str, Any]:
    security = [{"$ref": "#/components/securitySchemes/token"},
                {"$ref": "#/components/securitySchemes/session"}]
    host = {"host": {"default": "127.0.0.1:8000", "description": "Where Parley serves."}}
    return {
        name: {
            "host": "{host}",
            "protocol": name,
            "description": description,
            "variables": copy.deepcopy(host),
            "security": security,
        }
        for name, description in (
            ("ws", "Plain WebSocket (development)."),
            ("wss", "WebSocket over TLS (behind the deploy/ nginx)."),
        )
    }


def channel(all_messages: dict[str, Any]) -> dict[str, Any]:
    closes = "\n".join(f"* {code}: {meaning}" for code, meaning in CLOSE_CODES.items())
    return {
        "address": "/ws/",
        "title": "The socket",
        "description": "One socket carries every stream; each frame's `stream` says whose it "
        "is. A socket that is not signed in is accepted, then closed with 4401. The server "
        f"closes the socket only with these codes:\n\n{closes}",
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in all_messages},
        "bindings": {
            "ws": {
                "method": "GET",
                "query": {
                    "type": "object",
                    "properties": {
                        "token": {
                            "type": "string",
                            "description": "An API token (/api/auth/): for clients without "
                            "the session cookie.",
                        }
                    },
                },
                "bindingVersion": "0.1.0",
            }
        },
        "x-close-codes": [
            {"code": code, "meaning": meaning} for code, meaning in CLOSE_CODES.items()
        ],
    }


@functools.cache
def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document (its servers' host is the default one)."""
    described = protocol()
    all_messages = messages(described)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Parley socket",
            "version": PROTOCOL_VERSION,
            "description": DESCRIPTION,
            "license": {"name": "MIT"},
            "tags": [
                {"name": name, "description": doc} for name, doc in described.streams.items()
            ],
        },
        "defaultContentType": "application/json",
        "servers": servers(),
        "channels": {CHANNEL: channel(all_messages)},
        "operations": operations(described),
        "components": {
            "schemas": {
                "RequestId": REQUEST_ID,
                "ErrorItem": ERROR_ITEM,
                **described.schemas,
            },
            "messages": all_messages,
            "securitySchemes": {
                "token": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "`?token=<API token>` (from /api/auth/token/ or guest/).",
                },
                "session": {
                    "type": "httpApiKey",
                    "name": "sessionid",
                    "in": "cookie",
                    "description": "The session cookie a browser got from /api/auth/; the "
                    "handshake's Origin must be Parley's own.",
                },
            },
        },
    }


@require_safe
def asyncapi_json(request: HttpRequest) -> JsonResponse:
    """The document, its servers pointing at the host that was asked (no sign-in needed)."""
    served = dict(document())
    served["servers"] = copy.deepcopy(served["servers"])
    for server in served["servers"].values():
        server["variables"]["host"]["default"] = request.get_host()
    return JsonResponse(served, json_dumps_params={"indent": 2})
