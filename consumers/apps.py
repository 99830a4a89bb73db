from django.apps import AppConfig


class ConsumersConfig(AppConfig):
    """The socket: transport only, no models. Installed so that every process that writes
    (web workers, the call clock, management commands) pushes what it writes."""

    name = "consumers"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.models import Session
        from django.db.models.signals import post_delete, post_save
        from rest_framework.authtoken.models import Token

        from consumers import routing  # noqa: F401 (defines the streams and their observers)
        from consumers.auth import session_deleted, token_deleted, user_saved
        from consumers.presence import announce
        from presence.signals import presence_changed

        presence_changed.connect(announce, dispatch_uid="consumers.presence")
        # Every way a sign-in ends (signing out deletes the token and the session) closes the
        # sockets it opened.
        post_delete.connect(session_deleted, sender=Session, dispatch_uid="consumers.session")
        post_delete.connect(token_deleted, sender=Token, dispatch_uid="consumers.token")
        post_save.connect(user_saved, sender=get_user_model(), dispatch_uid="consumers.user")
