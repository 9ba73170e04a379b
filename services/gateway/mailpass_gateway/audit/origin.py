"""Each web request's origin for the audit log: the client's address and user agent, in
a context that lasts exactly the request (:func:`mailpass_common.audit.record.request_origin`).
Its authentication (an API key, a console session) then names the actor, so the
resource services record who changed what without taking it as an argument."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mailpass_common.audit.record import request_origin


class AuditOrigin:
    """Pure ASGI: the address is uvicorn's (X-Forwarded-For applied only from
    FORWARDED_ALLOW_IPS, e.g. the ingress)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else None
        with request_origin(ip, Headers(scope=scope).get("user-agent")):
            await self.app(scope, receive, send)
