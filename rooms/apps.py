from django.apps import AppConfig


class RoomsConfig(AppConfig):
    """Rooms, memberships and messages."""

    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"
