"""What every answer of the API has in common, as two pure-ASGI middlewares.

:class:`RequestIds` (outermost): the request's ``X-Request-Id`` — the caller's when it
sent a usable one (1-128 of ``A-Z a-z 0-9 . _ : @ / + = -``), else a new ``req_…`` — is
echoed on the answer and carried by every log line written meanwhile
(``mailpass_common.platform.telemetry.request_scope``), so a client's report finds its lines.

:class:`ApiConventions` (inside the measuring, so its refusals are counted): on
``/api/`` paths, a request body that is not JSON is refused with 415
``UNSUPPORTED_MEDIA_TYPE`` when the route first reads it — after the key is checked, so
a request without a valid key is still 401, and before a byte of it is taken (the
provider event hooks excepted: SNS posts ``text/plain``) — and every answer carries
``RateLimit-Policy`` and, once the key is known, ``RateLimit``
(:mod:`mailpass_gateway.rate_limit`).
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.telemetry import request_scope
from mailpass_gateway.errors import ApiError
from mailpass_gateway.rate_limit import RateLimitPolicy, RateLimitState

REQUEST_ID_HEADER = "X-Request-Id"
_USABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
API_PREFIX = "/api/"
# Where the JSON rule does not hold: providers post their own formats.
NOT_JSON_PREFIXES = ("/api/v1/provider-events/",)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def request_id_of(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER, "")
    if _USABLE_REQUEST_ID.fullmatch(given):
        return given
    return f"req_{uuid.uuid4().hex}"


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with request_scope(request_id):
            await self.app(scope, receive, send_with_id)


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


class ApiConventions:
    def __init__(self, app: ASGIApp, policy: RateLimitPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and self.policy.enabled:
                out = MutableHeaders(scope=message)
                out["RateLimit-Policy"] = self.policy.header()
                counted_state: RateLimitState | None = state.get("rate_limit")
                if counted_state is not None:
                    out["RateLimit"] = counted_state.header()
            await send(message)

        if (
            scope["method"] in BODY_METHODS
            and not path.startswith(NOT_JSON_PREFIXES)
            and has_body(headers)
            and not is_json(headers.get("content-type", ""))
        ):
            given = (headers.get("content-type") or "none")[:100]

            async def refuse_body() -> Message:
                # Raised where the route reads the body; answered by the ApiError handler.
                raise ApiError(
                    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "Request bodies must be JSON: send 'Content-Type: application/json'",
                    {"content_type": given},
                )

            await self.app(scope, refuse_body, send_with_limits)
            return
        await self.app(scope, receive, send_with_limits)
