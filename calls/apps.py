from typing import Any

from django.apps import AppConfig


class CallsConfig(AppConfig):
    """WebRTC calls between two users: the call state machine and its signaling."""

    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from presence.signals import presence_changed

        presence_changed.connect(parties_came_and_went, dispatch_uid="calls.presence")


def parties_came_and_went(*, online: list[int], offline: list[int], **kwargs: Any) -> None:
    """A party whose last socket closed leaves their calls; one who is back resumes them."""
    from calls import services

    if offline:
        services.calls_parties_left(user_ids=offline)
    if online:
        services.calls_parties_returned(user_ids=online)
