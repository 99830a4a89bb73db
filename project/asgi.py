"""ASGI entry point: HTTP to Django; ``/ws/`` through origin check and auth to the socket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Set up Django before importing consumers: they import models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from consumers.auth import socket_stack  # noqa: E402
from consumers.routing import websocket_urlpatterns  # noqa: E402
from project.lifespan import Lifespan  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": socket_stack(URLRouter(websocket_urlpatterns)),
        "lifespan": Lifespan(),
    }
)
