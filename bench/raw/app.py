"""The stack's limit: a raw ASGI app on the same uvicorn, no Django, no channels (~100 lines).

A dict of rooms to sockets; each push is encoded once and awaited ``send`` to each subscriber.
It speaks the frames the load client sends Parley (``rooms`` ``create``, ``messages``
``subscribe_room`` / ``create``; ``rooms`` ``join`` and any other action answer 200), and its
pushes carry a message shaped like Parley's (id, room, author, body, client_id, created_at,
edited_at), so frames are the same size: ``uvicorn bench.raw.app:app``.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from typing import Any

rooms: dict[int, dict[Any, Any]] = {}  # room id -> {send: subscribe request_id}
room_ids = itertools.count(1)
message_ids = itertools.count(1)
encode = json.JSONEncoder(separators=(",", ":")).encode
AUTHOR = {"id": 1, "username": "guest-0123456789ab", "display_name": "bench sender"}


def frame(stream: str, action: Any, data: Any, status: int, request_id: Any) -> str:
    return encode({"stream": stream, "payload": {"errors": [], "data": data, "action": action,
                                                 "response_status": status,
                                                 "request_id": request_id}})


async def app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    followed: list[int] = []
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif message["type"] == "websocket.disconnect":
                return
            elif message["type"] == "websocket.receive":
                await handle(json.loads(message["text"]), send, followed)
    finally:
        for room in followed:
            rooms.get(room, {}).pop(send, None)


async def handle(request: dict, send: Any, followed: list[int]) -> None:
    stream, payload = request["stream"], request["payload"]
    action, request_id = payload.get("action"), payload.get("request_id")
    data = payload.get("data") or {}
    if stream == "rooms" and action == "create":
        room = next(room_ids)
        rooms[room] = {}
        reply = {"id": room, "name": data.get("name"), "title": data.get("title")}
        await send({"type": "websocket.send", "text": frame(stream, action, reply, 201,
                                                            request_id)})
    elif stream == "messages" and action == "subscribe_room":
        room = int(payload["room"])
        rooms.setdefault(room, {})[send] = request_id
        followed.append(room)
        await send({"type": "websocket.send", "text": frame(stream, action, None, 201,
                                                            request_id)})
    elif stream == "messages" and action == "create":
        room = int(data["room"])
        message = {"id": next(message_ids), "room": room, "author": AUTHOR, "body": data["body"],
                   "client_id": None, "created_at": datetime.now(timezone.utc).isoformat(),
                   "edited_at": None}
        await send({"type": "websocket.send", "text": frame(stream, action, message, 201,
                                                            request_id)})
        # Encoded once; each subscriber's frame differs only by its subscribe request_id.
        head = encode({"stream": stream, "payload": {"errors": [], "data": message,
                                                     "action": "create",
                                                     "response_status": 200}})[:-2]
        for subscriber, subscribed_id in list(rooms.get(room, {}).items()):
            text = head + ',"request_id":' + encode(subscribed_id) + "}}"
            try:
                await subscriber({"type": "websocket.send", "text": text})
            except Exception:  # closed meanwhile
                rooms[room].pop(subscriber, None)
    else:  # join, list, ...: answered, nothing kept
        await send({"type": "websocket.send", "text": frame(stream, action, [], 200,
                                                            request_id)})
