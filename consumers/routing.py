from django.urls import path

from consumers.demultiplexer import Demultiplexer

websocket_urlpatterns = [
    path("ws/", Demultiplexer.as_asgi()),
]
