"""A 1:1 WebRTC call, and the signaling (SDP, ICE) its two parties exchange through Parley."""

from django.conf import settings
from django.db import models


class Call(models.Model):
    """One call attempt from a caller to a callee. Its state changes only through calls.services."""

    class State(models.TextChoices):
        RINGING = "ringing"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        MISSED = "missed"
        BUSY = "busy"
        UNAVAILABLE = "unavailable"
        ENDED = "ended"

    class EndReason(models.TextChoices):
        HANGUP = "hangup"
        PEER_GONE = "peer_gone"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        MISSED = "missed"
        BUSY = "busy"
        UNAVAILABLE = "unavailable"
        CALLER_GONE = "caller_gone"
        # What a party's client reports (Matrix VoIP's names): the peers could not connect,
        # or a party could not start its camera and microphone.
        ICE_FAILED = "ice_failed"
        USER_MEDIA_FAILED = "user_media_failed"

    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls_made"
    )
    callee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls_received"
    )
    room = models.ForeignKey(
        "rooms.Room", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.RINGING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    # When a party first reported its peer connection connected (media can flow).
    connected_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=24, choices=EndReason.choices, blank=True)
    # When each party's last socket closed during the call (None while connected): the call
    # ends with peer_gone once one of them has been gone for the grace period.
    caller_gone_at = models.DateTimeField(null=True, blank=True)
    callee_gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="call_state_expiry"),
            models.Index(fields=["caller", "state"], name="call_caller_state"),
            models.Index(fields=["callee", "state"], name="call_callee_state"),
            # The dashboard's figures count the calls created in a window.
            models.Index(fields=["created_at"], name="call_created_at"),
        ]

    def __str__(self) -> str:
        return f"call #{self.pk} {self.caller_id}→{self.callee_id} ({self.state})"

    @property
    def is_live(self) -> bool:
        """Ringing or accepted: signaling may still flow."""
        return self.state in {self.State.RINGING, self.State.ACCEPTED}

    def party_ids(self) -> tuple[int, int]:
        """The caller's and the callee's user ids."""
        return (self.caller_id, self.callee_id)


class Sdp(models.Model):
    """A session description sent by one party: the offer, the answer, or a renegotiation."""

    class Type(models.TextChoices):
        OFFER = "offer"
        ANSWER = "answer"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="sdps")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=8, choices=Type.choices)
    sdp = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} on call #{self.call_id}"


class Ice(models.Model):
    """A trickled ICE candidate; an empty ``candidate`` means end-of-candidates."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="ice_candidates")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    candidate = models.TextField(blank=True)
    sdp_mid = models.CharField(max_length=64, null=True, blank=True)
    sdp_mline_index = models.PositiveSmallIntegerField(null=True, blank=True)
    username_fragment = models.CharField(max_length=256, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "ICE candidate"

    def __str__(self) -> str:
        return f"candidate on call #{self.call_id}"


class QualitySample(models.Model):
    """What one party's client measured of the call's media at one moment (WebRTC getStats).

    Every figure is optional: a client reports what its browser measures. Parley keeps the
    last ``PARLEY_QUALITY_SAMPLES_KEPT`` samples of a call (calls.services.quality_report).
    """

    class CandidateType(models.TextChoices):
        HOST = "host"
        SRFLX = "srflx"
        PRFLX = "prflx"
        RELAY = "relay"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="quality_samples")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    rtt_ms = models.FloatField(null=True, blank=True)
    jitter_ms = models.FloatField(null=True, blank=True)
    # Inbound packets lost since the sender's previous sample, in percent of those expected.
    loss_percent = models.FloatField(null=True, blank=True)
    bitrate_in_kbps = models.FloatField(null=True, blank=True)
    bitrate_out_kbps = models.FloatField(null=True, blank=True)
    # Of the video received.
    frame_rate = models.FloatField(null=True, blank=True)
    frame_width = models.PositiveIntegerField(null=True, blank=True)
    frame_height = models.PositiveIntegerField(null=True, blank=True)
    # The selected candidate pair's local candidate: relay means the media goes through TURN.
    candidate_type = models.CharField(max_length=8, choices=CandidateType.choices, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["call", "id"], name="quality_call_id")]

    def __str__(self) -> str:
        return f"quality sample on call #{self.call_id}"
