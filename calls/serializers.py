"""One serializer per model: the same JSON on the socket, in pushes, on the dashboard, in REST."""

from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from calls import quality
from calls.figures import Window
from calls.models import Call, Ice, QualitySample, Sdp
from project.serializers import FieldsBuiltOnce
from rooms.serializers import UserSerializer


class CallSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A call's parties, state and times (never its SDP or candidates)."""

    caller = UserSerializer(read_only=True)
    callee = UserSerializer(read_only=True)
    # Said explicitly for the schemas (OpenAPI, AsyncAPI): a call may have no room, and has no
    # end reason ("") until it ends.
    room: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    end_reason = serializers.ChoiceField(
        choices=Call.EndReason.choices, allow_blank=True, read_only=True
    )
    duration = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id", "caller", "callee", "room", "state", "end_reason", "created_at",
            "expires_at", "answered_at", "connected_at", "ended_at", "duration",
        ]
        read_only_fields = fields

    def get_duration(self, call: Call) -> float | None:
        """Seconds from answer to end, once both are known."""
        if call.answered_at and call.ended_at:
            return round((call.ended_at - call.answered_at).total_seconds(), 3)
        return None


class CallMediaSerializer(serializers.Serializer):
    """What a party's client says of its media: connected, or failed and why."""

    state = serializers.ChoiceField(choices=["connected", "failed"])
    reason = serializers.ChoiceField(
        choices=[Call.EndReason.ICE_FAILED, Call.EndReason.USER_MEDIA_FAILED], required=False
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["state"] == "failed" and "reason" not in attrs:
            raise serializers.ValidationError(
                {"reason": "Say why: ice_failed or user_media_failed."}
            )
        return attrs


class FiguresWindowSerializer(serializers.Serializer):
    """The window of the dashboard's figures: calls created from ``since`` to ``until``
    (ISO 8601; by default today, from midnight UTC; without ``until``, to now)."""

    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            return {"window": None}  # today, as everyone sees it
        today = Window.today()
        # Without ``until`` the window stays open: each count (and each push) runs to its moment.
        since, until = attrs.get("since", today.since), attrs.get("until")
        if since >= (until or timezone.now()):
            raise serializers.ValidationError({"until": "The window must end after it starts."})
        return {"window": Window(since=since, until=until)}


class CallCreateSerializer(serializers.Serializer):
    """Whom to call (a user id, as for message authors and presence), and from which room."""

    callee = serializers.IntegerField(min_value=1)
    room = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class SdpSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A session description as the other party receives it."""

    sender = serializers.IntegerField(source="sender_id", read_only=True)
    call: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    sdp = serializers.CharField(trim_whitespace=False, max_length=settings.PARLEY["SDP_MAX_BYTES"])

    class Meta:
        model = Sdp
        fields = ["id", "call", "sender", "type", "sdp", "created_at"]
        read_only_fields = ["id", "call", "sender", "created_at"]


class IceSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A trickled candidate, in the field names of RTCIceCandidateInit (snake_cased)."""

    sender = serializers.IntegerField(source="sender_id", read_only=True)
    call: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    candidate = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=2048)

    class Meta:
        model = Ice
        fields = [
            "id", "call", "sender", "candidate", "sdp_mid", "sdp_mline_index",
            "username_fragment", "created_at",
        ]
        read_only_fields = ["id", "call", "sender", "created_at"]


# The range each measure may take: anything outside is a client bug, refused with a 400.
MEASURE_LIMITS: dict[str, tuple[float, float]] = {
    "rtt_ms": (0, 60_000),
    "jitter_ms": (0, 60_000),
    "loss_percent": (0, 100),
    "bitrate_in_kbps": (0, 1_000_000),
    "bitrate_out_kbps": (0, 1_000_000),
    "frame_rate": (0, 1_000),
    "frame_width": (0, 16_384),
    "frame_height": (0, 16_384),
}


class QualitySampleSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A party's measures of the call's media (from WebRTC ``getStats``), and Parley's
    ``rating`` of them (good, fair, poor: calls.quality). Every measure is optional; a report
    needs at least one. Unknown fields are ignored, so a client may send more than this
    server knows."""

    sender = serializers.IntegerField(source="sender_id", read_only=True)
    call: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    rating = serializers.SerializerMethodField()

    class Meta:
        model = QualitySample
        fields = ["id", "call", "sender", "created_at", *MEASURE_LIMITS, "candidate_type", "rating"]
        read_only_fields = ["id", "call", "sender", "created_at"]
        extra_kwargs = {
            name: {"min_value": low, "max_value": high}
            for name, (low, high) in MEASURE_LIMITS.items()
        }

    def get_rating(self, sample: QualitySample) -> str | None:
        return quality.rating(sample)

    def to_internal_value(self, data: Any) -> Any:
        # DRF reads true as 1: a measure sent as a boolean is a client bug, not a number.
        if isinstance(data, dict):
            flags = [name for name in MEASURE_LIMITS if isinstance(data.get(name), bool)]
            if flags:
                raise serializers.ValidationError(
                    {name: ["A number is required, not true or false."] for name in flags}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        if not any(attrs.get(name) is not None for name in MEASURE_LIMITS):
            raise serializers.ValidationError(
                f"A report needs at least one measure: {', '.join(MEASURE_LIMITS)}."
            )
        return attrs


class QualityListSerializer(serializers.Serializer):
    """Which samples of a call to read: all kept, or only the ``last`` few."""

    last = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
