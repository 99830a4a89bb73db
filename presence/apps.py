from django.apps import AppConfig


class PresenceConfig(AppConfig):
    """Who is online: which users have a socket open on which serving process."""

    name = "presence"
    default_auto_field = "django.db.models.BigAutoField"
