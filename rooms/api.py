"""The REST twin of the ``rooms`` and ``messages`` streams: same serializers, services, rules."""

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from rooms import selectors, services
from rooms.models import Membership, Message, Room
from rooms.serializers import (
    MembershipSerializer,
    MessageCreateSerializer,
    MessageEditSerializer,
    MessagePageSerializer,
    MessageSerializer,
    RoomInviteSerializer,
    RoomSerializer,
)

# Objects are named by id in URLs: anything else is no object (404), and the schema says integer.
ID = r"\d+"


def me(request: Request) -> User:
    """The signed-in user (every view here requires one)."""
    assert isinstance(request.user, User)
    return request.user


class RoomViewSet(viewsets.ModelViewSet):
    """Rooms I can see; writes go through the room services."""

    serializer_class = RoomSerializer
    lookup_value_regex = ID

    def get_queryset(self) -> QuerySet[Room]:
        return selectors.rooms_visible_to(user=me(self.request))

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.room_create(
            owner=me(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.room_update(
            room=cast(Room, serializer.instance),
            user=me(self.request),
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Room) -> None:
        services.room_delete(room=instance, user=me(self.request))

    @extend_schema(request=None, responses={200: MembershipSerializer})
    @action(detail=True, methods=["post"])
    def join(self, request: Request, pk: Any = None) -> Response:
        """Join a public room."""
        membership = services.room_join(room=self.get_object(), user=me(request))
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk: Any = None) -> Response:
        """Leave a room."""
        services.room_leave(room=self.get_object(), user=me(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RoomInviteSerializer, responses={200: MembershipSerializer})
    @action(detail=True, methods=["post"])
    def invite(self, request: Request, pk: Any = None) -> Response:
        """Add a user to my room (owner only)."""
        room = self.get_object()
        serializer = RoomInviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.room_invite(
            room=room, by=me(request), user=serializer.validated_data["user"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=RoomInviteSerializer, responses={204: None})
    @action(detail=True, methods=["post"], url_path="remove-member")
    def remove_member(self, request: Request, pk: Any = None) -> Response:
        """Remove a user from my room (owner only)."""
        room = self.get_object()
        serializer = RoomInviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.room_remove_member(
            room=room, by=me(request), user=serializer.validated_data["user"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipViewSet(viewsets.ReadOnlyModelViewSet):
    """My memberships, or with ``?room=`` the members of a room I can see."""

    serializer_class = MembershipSerializer
    lookup_value_regex = ID

    @extend_schema(parameters=[OpenApiParameter("room", OpenApiTypes.INT)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Membership]:
        room_id = self.request.query_params.get("room")
        if room_id is None:
            return Membership.objects.filter(user=me(self.request)).select_related("user")
        room = selectors.room_get_visible(user=me(self.request), pk=room_id)
        return selectors.room_members(room=room)


class MessageViewSet(
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Messages of rooms I can see: history by cursor, post, edit and delete my own."""

    serializer_class = MessageSerializer
    lookup_value_regex = ID
    # History pages by its own cursor (``before``/``after``), in a plain list.
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Message]:
        visible = selectors.rooms_visible_to(user=me(self.request)).values("pk")
        return Message.objects.filter(room__in=visible).select_related("author")

    @extend_schema(
        parameters=[MessagePageSerializer], responses={200: MessageSerializer(many=True)}
    )
    def list(self, request: Request) -> Response:
        """A page of a room's history, oldest first; ``before``/``after`` take a message id."""
        page = MessagePageSerializer(data=request.query_params)
        page.is_valid(raise_exception=True)
        args = dict(page.validated_data)
        room = selectors.room_get_visible(user=me(request), pk=args.pop("room"))
        messages = selectors.messages_page(room=room, **args)
        return Response(MessageSerializer(messages, many=True).data)

    @extend_schema(request=MessageCreateSerializer, responses={201: MessageSerializer})
    def create(self, request: Request) -> Response:
        """Post a message; a retry with the same client_id returns the first one (200)."""
        args = MessageCreateSerializer(data=request.data)
        args.is_valid(raise_exception=True)
        message, created = services.message_create(
            author=me(request),
            room_id=args.validated_data["room"],
            body=args.validated_data["body"],
            client_id=args.validated_data.get("client_id"),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(MessageSerializer(message).data, status=code)

    @extend_schema(request=MessageEditSerializer, responses={200: MessageSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Edit my message's body."""
        edit = MessageEditSerializer(data=request.data)
        edit.is_valid(raise_exception=True)
        message = services.message_edit(
            message=self.get_object(), user=me(request), body=edit.validated_data["body"]
        )
        return Response(MessageSerializer(message).data)

    def perform_destroy(self, instance: Message) -> None:
        services.message_delete(message=instance, user=me(self.request))
