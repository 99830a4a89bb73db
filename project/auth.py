"""Identity over HTTP: register, API tokens, guest sign-in, sign-out, who am I."""

import secrets
from typing import Any, cast

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from project.origins import origin_allowed
from rooms.serializers import UserSerializer

User = get_user_model()


class CredentialsSerializer(serializers.Serializer):
    """A username and a password."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class GuestSerializer(serializers.Serializer):
    """The name a guest wants to be shown as."""

    display_name = serializers.CharField(max_length=150)


class SessionSerializer(serializers.Serializer):
    """A signed-in user and their API token (for ``?token=`` on the socket)."""

    user = UserSerializer()
    token = serializers.CharField()


class AuthThrottle(AnonRateThrottle):
    """Slows password guessing and account floods from one address."""

    scope = "auth"


def signed_in(request: Request, user: Any, code: int = status.HTTP_200_OK) -> Response:
    """Start a session for ``user`` and answer with their token."""
    login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
    token, _ = Token.objects.get_or_create(user=user)
    return Response({"user": UserSerializer(user).data, "token": token.key}, status=code)


class FromOwnPages(BasePermission):
    """Refuses requests another site's page made a visitor's browser send.

    A sign-in starts a session: if another site could post one (login CSRF), it could sign a
    visitor into an account it controls and read what they do there. Such endpoints take JSON
    only (a cross-site form cannot send it without the browser asking first) and refuse an
    ``Origin`` other than Parley's own, and ``Sec-Fetch-Site: cross-site``. Clients that are not
    browsers send neither header and pass.
    """

    message = "Signing in is accepted only from Parley's own pages."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            return False
        origin = request.headers.get("Origin")
        return origin is None or origin_allowed(
            origin, host=request.get_host(), secure=request.is_secure()
        )


class OpenView(APIView):
    """An endpoint for people not signed in yet (no session, so no CSRF token to check:
    ``FromOwnPages`` and JSON-only stand in for it)."""

    authentication_classes: list[Any] = []
    permission_classes = [FromOwnPages]
    parser_classes = [JSONParser]
    throttle_classes = [AuthThrottle]


class RegisterView(OpenView):
    """Create an account and sign in."""

    @extend_schema(request=CredentialsSerializer, responses={201: SessionSerializer})
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        password = serializer.validated_data["password"]
        if User.objects.filter(username__iexact=username).exists():
            raise serializers.ValidationError({"username": ["This username is taken."]})
        candidate = User(username=username)
        try:
            validate_password(password, candidate)
        except Exception as exc:  # django ValidationError: report it as a field error
            raise serializers.ValidationError({"password": list(getattr(exc, "messages", []))})
        user = User.objects.create_user(username=username, password=password)
        return signed_in(request, user, status.HTTP_201_CREATED)


class TokenView(OpenView):
    """Exchange a username and password for an API token (and a session)."""

    @extend_schema(request=CredentialsSerializer, responses={200: SessionSerializer})
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request._request, **serializer.validated_data)
        if user is None:
            raise serializers.ValidationError({"non_field_errors": ["Wrong username or password."]})
        return signed_in(request, user)


class GuestView(OpenView):
    """Sign in as a new guest with just a display name."""

    @extend_schema(request=GuestSerializer, responses={201: SessionSerializer})
    def post(self, request: Request) -> Response:
        serializer = GuestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            user = User(
                username=f"guest-{secrets.token_hex(6)}",
                first_name=serializer.validated_data["display_name"].strip(),
            )
            user.set_unusable_password()
            user.save()
        return signed_in(request, user, status.HTTP_201_CREATED)


class SignOutView(APIView):
    """End the session and revoke the API token; close the sockets they signed in."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        Token.objects.filter(user_id=cast(int, request.user.pk)).delete()
        # Open sockets signed in by the revoked token or the ended session close (4401, told
        # when the token and the session are deleted); the user's other sessions' stay.
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(UserSerializer):
    """Me as others see me, plus whether I am staff (the call dashboard is for staff)."""

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "is_staff"]
        read_only_fields = fields


class MeView(APIView):
    """Who I am signed in as."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


urlpatterns = [
    path("register/", RegisterView.as_view(), name="auth-register"),
    path("token/", TokenView.as_view(), name="auth-token"),
    path("guest/", GuestView.as_view(), name="auth-guest"),
    path("logout/", SignOutView.as_view(), name="auth-logout"),
    path("me/", MeView.as_view(), name="auth-me"),
]
