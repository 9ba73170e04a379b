"""A local TCP service that is not a mail server: it greets with a banner and counts
connections, to show what providers connect to and what they repeat."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tests.support.services import free_port


@dataclass
class Listener:
    port: int
    connections: int = 0


@contextlib.asynccontextmanager
async def listener(
    banner: bytes = b"", host: str = "127.0.0.1", port: int | None = None
) -> AsyncIterator[Listener]:
    """Serves in the test's event loop until the block ends."""
    seen = Listener(port or free_port())

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        writer.write(banner)
        with contextlib.suppress(Exception):
            await writer.drain()
            await asyncio.wait_for(reader.read(1024), 2)
        writer.close()

    server = await asyncio.start_server(handle, host, seen.port)
    try:
        yield seen
    finally:
        server.close()
