"""The webhook endpoint of the rolling upgrade: a plain HTTP/1.1 server on loopback that
answers 200 to every POST and keeps the ``data.message_id`` of each ``sent`` event."""

from __future__ import annotations

import asyncio
import contextlib
import json

from mailpass_dev.processes import free_port


class WebhookReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.sent: set[str] = set()  # messages whose sent event arrived
        self.requests = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one request after another on the connection
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                self._take(await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _take(self, body: bytes) -> None:
        self.requests += 1
        with contextlib.suppress(ValueError, AttributeError):
            event = json.loads(body)
            if event.get("type") == "sent":
                self.sent.add(str(event["data"]["message_id"]))
