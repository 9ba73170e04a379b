"""Bounds of a public HTTP listener (the tracker's, the gateway's): how long a client may
take to send a request's headers, how many connections a process holds, how long an
idle kept-alive connection stays.

What uvicorn (0.54) offers, and what it does not. ``timeout_keep_alive`` closes a
connection idle *after* a response, and its timer is cancelled by the first byte of the
next request; ``limit_concurrency`` answers 503 once a request's headers are parsed;
``h11_max_incomplete_event_size`` caps the size of the headers. Nothing bounds the time a
client takes to send its headers: a connection that sends one header byte every few
seconds (slow-loris), or nothing at all, is held forever, and every such connection
costs the process a socket and memory. So the HTTP protocol class uvicorn builds for
each connection (h11 or httptools, whichever ``http`` resolves to) is wrapped here:

- **Header deadline**: from the moment a connection is made, and from the first byte of
  each later request on a kept-alive connection, its headers must be complete within
  ``HTTP_HEADER_TIMEOUT_SECONDS``, or the connection is closed. A request whose headers
  arrived is the application's (its body and response are not cut short here).
- **Connections**: a connection beyond ``HTTP_MAX_CONNECTIONS`` open in the process is
  closed as soon as it is made, before anything is read (ingresses retry elsewhere).
- **Keep-alive**: ``HTTP_KEEP_ALIVE_SECONDS``, uvicorn's own ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config

from mailpass_common.platform.settings import ServiceSettings


def bounded_protocol(base: Any, header_timeout: float, max_connections: int) -> Any:
    """``base`` (uvicorn's H11Protocol or HttpToolsProtocol) with the bounds above."""

    class BoundedProtocol(base):  # type: ignore[misc]
        _deadline: asyncio.TimerHandle | None = None
        _waiting_since_cycle: object = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self._idle():
                self._arm()  # the first byte of another request on a kept-alive connection
            super().data_received(data)
            if self._deadline is not None and self.cycle is not self._waiting_since_cycle:
                self._disarm()  # its headers are complete: the request is the app's now

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _idle(self) -> bool:
            return self.cycle is None or bool(self.cycle.response_complete)

        def _arm(self) -> None:
            self._waiting_since_cycle = self.cycle
            self._deadline = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            self._deadline = None
            if self.cycle is self._waiting_since_cycle and not self.transport.is_closing():
                self.transport.close()

    BoundedProtocol.__name__ = f"Bounded{base.__name__}"
    return BoundedProtocol


def listener_config(app: Any, settings: ServiceSettings, **options: Any) -> Config:
    """A uvicorn ``Config`` for a public listener, with the settings' bounds."""
    config = Config(app, timeout_keep_alive=settings.http_keep_alive_seconds, **options)
    config.load()
    config.http_protocol_class = bounded_protocol(
        config.http_protocol_class,
        settings.http_header_timeout_seconds,
        settings.http_max_connections,
    )
    return config
