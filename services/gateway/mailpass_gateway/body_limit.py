"""Refuses request bodies over ``max_request_bytes`` with 413 before anything parses them.

Pure ASGI: it buffers the body while counting, whatever ``Content-Length`` says or whether
it is sent at all (chunked uploads). A body over the limit is read on and discarded up to
``DRAIN_FACTOR`` times the limit before the 413 goes out, so an ordinary client that is
still uploading sees the response rather than a reset connection; beyond that, or when the
client waits for ``100 Continue``, the 413 goes out at once and the connection closes.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailpass_common.errors import ErrorCode, error_response
from mailpass_gateway.errors import counted

DRAIN_FACTOR = 4


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

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, size)
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

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
