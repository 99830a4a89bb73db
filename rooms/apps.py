from django.apps import AppConfig


class RoomsConfig(AppConfig):
    """Rooms, memberships, messages and who is online."""

    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"
