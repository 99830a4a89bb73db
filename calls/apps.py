from django.apps import AppConfig


class CallsConfig(AppConfig):
    """WebRTC calls between two users (the signaling issue fills this app in)."""

    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"
