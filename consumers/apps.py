from django.apps import AppConfig


class ConsumersConfig(AppConfig):
    """The socket: transport only, no models. Installed so that every process that writes
    (web workers, the call clock, management commands) pushes what it writes."""

    name = "consumers"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from consumers import routing  # noqa: F401 (defines the streams and their observers)
        from consumers.auth import signed_out
        from consumers.presence import announce
        from presence.signals import presence_changed

        presence_changed.connect(announce, dispatch_uid="consumers.presence")
        user_logged_out.connect(signed_out, dispatch_uid="consumers.signed_out")
