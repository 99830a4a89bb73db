"""``/ws/``: one socket, its streams by name."""

from django.urls import path

from consumers.calls import CallStream, IceStream, QualityStream, SdpStream
from consumers.messages import MessageStream
from consumers.presence import PresenceStream
from consumers.rooms import RoomStream
from consumers.socket import SocketConsumer


class ParleySocket(SocketConsumer):
    """Parley's streams; a new stream is one more entry."""

    streams = {
        "rooms": RoomStream,
        "messages": MessageStream,
        "presence": PresenceStream,
        "calls": CallStream,
        "sdp": SdpStream,
        "ice": IceStream,
        "quality": QualityStream,
    }


websocket_urlpatterns = [
    path("ws/", ParleySocket.as_asgi()),
]
