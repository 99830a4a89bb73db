"""A TCP proxy in front of the live server that a test can cut, to drop a page's socket for real.

While cut, open connections are aborted (the browser sees its WebSocket fail, the server sees
the client vanish) and new ones are closed at once, until the proxy is restored.
"""

import asyncio
import contextlib

CHUNK = 65536


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the server's port; ``cut()`` and ``restore()`` the link."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> "CuttableProxy":
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self.server
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Drop every open connection, and refuse new ones until ``restore()``."""
        self.up = False
        for client, upstream in list(self.links):
            client.transport.abort()
            upstream.transport.abort()
        self.links.clear()

    def restore(self) -> None:
        self.up = True

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self.links.add(link)
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self.links.discard(link)
            for end in link:
                end.transport.abort()


async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
    sink.transport.abort()
