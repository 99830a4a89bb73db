"""``manage.py serve``: uvicorn for development (``make run``), saying plainly where it serves,
and only once it does; why it cannot; and stopping quietly on Ctrl-C."""

import errno
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser

APP = "project.asgi:application"
# The largest socket frame Parley takes (production starts uvicorn with the same flag).
WS_MAX_SIZE = 1_048_576
EVERY_ADDRESS = {"0.0.0.0", "::"}


class Stop(Exception):
    """Ctrl-C or SIGTERM: the person is done; stopping is success."""


def stop(signum: int, frame: FrameType | None) -> None:
    raise Stop


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``: binding first is how a taken port is told apart."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def cannot_listen(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"Port {port} is already in use, perhaps by another Parley: stop it, or set PORT to"
            f" serve on another one (make run PORT={port + 1})."
        )
    return f"Cannot listen on {host}:{port}: {error.strerror or error}."


def address(host: str, port: int) -> str:
    """Where to point a browser."""
    if host in EVERY_ADDRESS:
        return f"http://127.0.0.1:{port}/ (and port {port} of every address of this machine)"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class Server(uvicorn.Server):
    """uvicorn that says where it serves once the app has started on the bound socket."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the app and serve; then, only then, say so."""
        await super().startup(sockets)
        if self.started:
            self.announce()


class Command(BaseCommand):
    help = "Serve Parley (the browser app, the API and the socket) with uvicorn, for development."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        try:
            sock = listen(host, port)
        except OSError as error:
            self.stderr.write(cannot_listen(host, port, error))
            sys.exit(1)
        # uvicorn re-raises the signal it stopped on once it is done: ours ends the run as a
        # success, not as a process killed (make would print "*** Terminated").
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        # log_config=None: the settings' LOGGING stays in charge of uvicorn's loggers.
        config = uvicorn.Config(APP, host=host, port=port, ws_max_size=WS_MAX_SIZE, log_config=None)
        try:
            Server(config, lambda: self.say(f"Parley is serving on {address(host, port)}")).run(
                sockets=[sock]
            )
        except Stop:
            self.say("Parley has stopped.")

    def say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
