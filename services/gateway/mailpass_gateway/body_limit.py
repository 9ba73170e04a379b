"""Refuses request bodies over ``max_request_bytes`` with 413, reading them as a stream.

Pure ASGI, and it buffers nothing: the body reaches the route as the client sends it,
counted on the way, so a request refused for its key (401) or permission (403) is
answered before its body is read at all (routes read bodies after their key, see
:mod:`mailpass_gateway.bodies`), and uvicorn discards what the client still sends.

- A declared ``Content-Length`` over the limit is refused at once, unread.
- A body that grows past the limit while it is read (chunked uploads, or a wrong
  ``Content-Length``) stops the route: whatever it was about to answer is replaced by the
  413.

Before a 413 goes out the rest of the body is read on and discarded, up to
``DRAIN_FACTOR`` times the limit, so an ordinary client that is still uploading sees the
response rather than a reset connection; beyond that, or when the client waits for
``100 Continue``, the 413 goes out at once and the connection closes.
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import counted, error_response

DRAIN_FACTOR = 4


class BodyTooLarge(Exception):
    """Raised into the route reading a body that went past the limit."""


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = _int_or_none(headers.get(b"content-length"))
        if declared is not None and declared > self.max_bytes:
            if b"expect" not in headers and declared <= DRAIN_FACTOR * self.max_bytes:
                await self._drain(receive, 0)
            await self._refuse(scope, receive, send)
            return

        received = 0
        too_large = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    if message.get("more_body", False):
                        await self._drain(receive, received)
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:  # the route's answer to a body cut short is replaced below
                await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counted_receive, guarded_send)
        if too_large:
            await self._refuse(scope, receive, send)

    async def _drain(self, receive: Receive, already: int) -> None:
        size = already
        while size <= DRAIN_FACTOR * self.max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted(ErrorCode.PAYLOAD_TOO_LARGE)
        response = error_response(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"Request body exceeds {self.max_bytes} bytes",
            {"max_bytes": self.max_bytes},
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _int_or_none(raw: bytes | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
