"""One serializer per model: the same JSON shape on the socket, in pushes and over REST."""

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import serializers

from project.serializers import FieldsBuiltOnce
from rooms.models import Membership, Message, Room

User = get_user_model()


class UserSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A user as others see them: never an email or a password."""

    display_name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name"]
        read_only_fields = fields

    def get_display_name(self, user: object) -> str:
        """The name people chose (guests), falling back to the username."""
        return getattr(user, "first_name", "") or getattr(user, "username", "")


class RoomSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A room; the owner is set by the server."""

    owner = UserSerializer(read_only=True)

    class Meta:
        model = Room
        fields = ["id", "name", "title", "owner", "is_private", "created_at"]
        read_only_fields = ["id", "owner", "created_at"]


class MembershipSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """Who is in a room, and as what."""

    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "room", "user", "role", "joined_at"]
        read_only_fields = fields


class MessageSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A message. ``room`` and ``client_id`` are written once, at creation."""

    author = UserSerializer(read_only=True)
    body = serializers.CharField(
        max_length=settings.PARLEY["MESSAGE_MAX_LENGTH"], trim_whitespace=False
    )
    room: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Message
        fields = ["id", "seq", "room", "author", "body", "client_id", "created_at", "edited_at"]
        read_only_fields = ["id", "seq", "room", "author", "client_id", "created_at", "edited_at"]


class MessageCreateSerializer(serializers.Serializer):
    """What a new message needs. The room is looked up as the author sees it (404 if hidden)."""

    room = serializers.IntegerField(min_value=1)
    body = serializers.CharField(trim_whitespace=False, allow_blank=True)
    client_id = serializers.UUIDField(required=False, allow_null=True)


class MessageEditSerializer(serializers.Serializer):
    """The only thing an author can change about a message."""

    body = serializers.CharField(
        max_length=settings.PARLEY["MESSAGE_MAX_LENGTH"], trim_whitespace=False
    )


class RoomInviteSerializer(serializers.Serializer):
    """Whom the owner adds to (or removes from) a room."""

    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())


class MessagePageSerializer(serializers.Serializer):
    """Arguments of a history page: a room, an optional id cursor and a limit."""

    room = serializers.IntegerField(min_value=1)
    before = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    after = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    limit = serializers.IntegerField(
        min_value=1, max_value=settings.PARLEY["LIST_MAX_LIMIT"], default=50
    )

    def validate(self, attrs: dict) -> dict:
        """``before`` and ``after`` page in opposite directions: one at a time."""
        if attrs.get("before") is not None and attrs.get("after") is not None:
            raise serializers.ValidationError("Give either before or after, not both.")
        return attrs
