"""STUN/TURN servers for clients, with coturn REST API (use-auth-secret) credentials.

username = "<expiry unix time>:<user id>", password = base64(HMAC-SHA1(secret, username)).
Such credentials cannot be revoked before they expire: keep the TTL short enough.
"""

import base64
import hashlib
import hmac
import time
from typing import Any

from django.conf import settings


def turn_credential(*, secret: str, user_id: int, expires_at: int) -> tuple[str, str]:
    """The (username, password) pair coturn accepts until ``expires_at``."""
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(*, user_id: int, now: float | None = None) -> dict[str, Any]:
    """The RTCPeerConnection ``iceServers`` for this user, and how long they stay valid."""
    conf = settings.PARLEY
    servers: list[dict[str, Any]] = []
    if conf["STUN_URLS"]:
        servers.append({"urls": list(conf["STUN_URLS"])})
    ttl = conf["TURN_TTL_SECONDS"]
    if conf["TURN_URLS"] and conf["TURN_SECRET"]:
        expires_at = int(now if now is not None else time.time()) + ttl
        username, password = turn_credential(
            secret=conf["TURN_SECRET"], user_id=user_id, expires_at=expires_at
        )
        servers.append(
            {"urls": list(conf["TURN_URLS"]), "username": username, "credential": password}
        )
    elif conf["TURN_URLS"]:
        servers.append({"urls": list(conf["TURN_URLS"])})
    return {"ice_servers": servers, "ttl": ttl}
