"""Socket authentication: a session cookie (browsers) or ``?token=<api token>`` (other clients);
and the other end of it: signing out closes the sockets that sign-in opened."""

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from consumers import groups, hub


@database_sync_to_async
def user_for_token(key: str) -> Any:
    """The active user owning the API token, or an anonymous user."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


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
            scope = {**scope, "user": await user_for_token(keys[0]), "token_auth": True}
            return await self.inner(scope, receive, send)
        return await self.by_session(scope, receive, send)


class OriginCheck:
    """``AllowedHostsOriginValidator`` for browsers; clients that send no Origin pass.

    Cross-site WebSocket hijacking needs a browser, and browsers always send Origin, so a
    missing Origin means a non-browser client (dcrf-client in Node, scripts), which must
    authenticate with its own token or cookie anyway.
    """

    def __init__(self, application: Any) -> None:
        self.application = application
        self.validated = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if any(name == b"origin" for name, _ in scope.get("headers", [])):
            return await self.validated(scope, receive, send)
        return await self.application(scope, receive, send)


def signed_in_by(scope: dict, *, session_key: str | None, token: bool) -> bool:
    """Whether the socket of ``scope`` stands on this session, or on the revoked API token."""
    if scope.get("token_auth"):
        return token
    session = scope.get("session")
    return bool(session_key) and session is not None and session.session_key == session_key


def signed_out(*, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Receives ``user_logged_out``: close the user's sockets opened with the ending session,
    and those opened with their API token if it was revoked (e.g. by Parley's sign-out)."""
    if user is None or request is None:
        return
    session = getattr(request, "session", None)
    event = {
        "type": "user.signed_out",
        "session_key": getattr(session, "session_key", None),
        "token": not Token.objects.filter(user_id=user.pk).exists(),
    }
    hub.publish(groups.user_sockets(user.pk), event)


def socket_stack(inner: Any) -> Any:
    """Origin check, then token or session auth, then the application."""
    return OriginCheck(TokenOrSessionAuth(inner))
