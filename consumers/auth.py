"""Socket authentication: a session cookie (browsers) or ``?token=<api token>`` (other clients);
and the other end of it: signing out closes the sockets that sign-in opened."""

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.authtoken.models import Token

from consumers import groups, hub
from project.origins import origin_allowed


def users_for_tokens(keys: set[str]) -> dict[str, Any]:
    """The active users owning these API tokens, by token (unknown ones left out)."""
    tokens = Token.objects.select_related("user").filter(key__in=keys, user__is_active=True)
    return {token.key: token.user for token in tokens}


class TokenLookup:
    """Finds the users of the tokens of sockets opening at about the same time in one query.

    A reconnect storm (every client of a restarted server at once) would otherwise cost a query
    per socket, and on this stack the ORM's work per query outweighs the database's: while one
    lookup runs, the next gathers every token that arrives meanwhile.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self.task: asyncio.Task[None] | None = None

    async def user(self, key: str) -> Any:
        """The active user owning the token ``key``, or an anonymous user."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # tests run one event loop per test
            self.loop, self.waiting, self.task = loop, {}, None
        future: asyncio.Future[Any] = loop.create_future()
        self.waiting.setdefault(key, []).append(future)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self.look_up())
        return await future

    async def look_up(self) -> None:
        while self.waiting:
            waiting, self.waiting = self.waiting, {}
            try:
                users = await database_sync_to_async(users_for_tokens)(set(waiting))
            except Exception as exc:
                for futures in waiting.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for key, futures in waiting.items():
                for future in futures:
                    if not future.done():
                        future.set_result(users.get(key) or AnonymousUser())


tokens = TokenLookup()


class TokenOrSessionAuth(BaseMiddleware):
    """Sign the socket in with ``?token=``; without one, with the session cookie.

    A token decides alone, even if a cookie comes along, so its socket never loads a session.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.by_session = AuthMiddlewareStack(inner)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin1"))
        if keys := query.get("token"):
            # Remembered so that revoking the token (signing out) closes this socket.
            scope = {**scope, "user": await tokens.user(keys[0]), "token_auth": True}
            return await self.inner(scope, receive, send)
        return await self.by_session(scope, receive, send)


class OriginCheck:
    """Browsers may open the socket only from Parley's own pages; clients that send no Origin
    pass.

    The Origin must be exactly the socket's own origin, or a trusted one (``origin_allowed``).
    Cross-site WebSocket hijacking
    needs a browser, and browsers always send Origin, so a missing Origin means a non-browser
    client (dcrf-client in Node, scripts), which must authenticate with its own token or
    cookie anyway. A refused handshake is closed before it is accepted (HTTP 403).
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        if origin is None or origin_allowed(
            origin.decode("latin-1"), host=headers.get(b"host", b"").decode("latin-1"),
            secure=scope.get("scheme") in {"wss", "https"},
        ):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def ended_by(scope: dict, event: dict) -> bool:
    """Whether the sign-in of the socket of ``scope`` ended with ``event`` (``user.signed_out``):
    its session, its API token, a password change (the sessions signed in before it), or the
    user's whole account."""
    if event.get("everything"):
        return True
    if scope.get("token_auth"):
        return bool(event.get("token"))
    session = scope.get("session")
    if session is None or session.session_key is None:
        return False
    if event.get("session_key") == session.session_key:
        return True
    auth_hash = event.get("auth_hash")
    return auth_hash is not None and not constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), auth_hash
    )


class SignInEnded(Exception):
    """The session that signed a socket in ended while the socket was opening."""


def session_expiry(scope: dict) -> datetime:
    """When the session that signed the socket of ``scope`` in expires.

    Read from the database once the socket listens for its user's sign-outs, so a session
    that ended while the socket was opening is caught (``SignInEnded``), and the socket can
    close when its session expires.
    """
    key = getattr(scope.get("session"), "session_key", None)
    expires = (
        Session.objects.filter(session_key=key, expire_date__gt=timezone.now())
        .values_list("expire_date", flat=True)
        .first()
    )
    if expires is None:
        raise SignInEnded()
    return expires


def sign_in_ended(user_id: int, **event: Any) -> None:
    """Tell the user's sockets, once committed, that a sign-in of theirs ended."""
    message = {"type": "user.signed_out", **event}
    transaction.on_commit(lambda: hub.publish(groups.user_sockets(user_id), message))


def session_deleted(*, instance: Session, **kwargs: Any) -> None:
    """Receives ``post_delete`` of a session: signed out (``logout`` flushes it), replaced by
    another sign-in in that browser, deleted in the admin, or cleared once expired
    (``clearsessions``)."""
    user_id = instance.get_decoded().get(SESSION_KEY)
    if user_id is not None:
        sign_in_ended(int(user_id), session_key=instance.session_key)


def token_deleted(*, instance: Token, **kwargs: Any) -> None:
    """Receives ``post_delete`` of an API token (revoked at sign-out, or deleted in the
    admin)."""
    sign_in_ended(instance.user_id, token=True)


def user_saved(*, instance: Any, created: bool, **kwargs: Any) -> None:
    """Receives ``post_save`` of a user: deactivated, every socket closes; a new password ends
    the sessions signed in with the old one (as Django's session check does)."""
    if created:
        return
    if not instance.is_active:
        sign_in_ended(instance.pk, everything=True)
    elif getattr(instance, "_password", None) is not None:  # set_password() before this save
        sign_in_ended(instance.pk, auth_hash=instance.get_session_auth_hash())


def socket_stack(inner: Any) -> Any:
    """Origin check, then token or session auth, then the application."""
    return OriginCheck(TokenOrSessionAuth(inner))
