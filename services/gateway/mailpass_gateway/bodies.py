"""Request bodies, from the first byte to a validated model, in three steps:

1. **Size** (:class:`BodySizeLimit`, pure ASGI, buffers nothing): bodies over
   ``max_request_bytes`` are refused with 413 as a stream is read. A declared
   ``Content-Length`` over the limit is refused at once, unread; a body that grows past
   the limit while it is read (chunked uploads, or a wrong ``Content-Length``) stops the
   route, whose answer is replaced by the 413. Before a 413 goes out the rest of the body
   is read on and discarded, up to ``DRAIN_FACTOR`` times the limit, so an ordinary client
   still uploading sees the response rather than a reset connection; beyond that, or when
   the client waits for ``100 Continue``, the 413 goes out at once and the connection
   closes.
2. **After the key** (:func:`after_key`): FastAPI reads a body declared as a model
   parameter before it resolves any dependency, so a caller without a valid key could make
   the gateway take in up to 10 MiB before being told 401. Routes here declare their body
   as a dependency listed after their key: dependencies resolve in order, so the 401 or
   403 comes first and the body is never read for it. The OpenAPI document still
   describes the body (:func:`openapi_json_body`).
3. **Parsing** (:func:`parse_json_object`, :func:`validate`): JSON text to validated
   models, every failure a VALIDATION_ERROR. Bodies are parsed here rather than by FastAPI
   so that nothing a client sends can reach a 500: pydantic-core's JSON parser refuses
   NaN/Infinity, lone UTF-16 surrogates (which MongoDB could not store) and nesting deeper
   than its recursion limit, with an error instead of an exception.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pydantic_core
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import (
    ApiError,
    counted,
    error_response,
    validation_details,
    validation_error,
)

Model = TypeVar("Model", bound=BaseModel)

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


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise validation_error(
            [{"field": "body", "message": "a JSON object is required"}], "request body"
        )
    try:
        data = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise validation_error(
            [{"field": "body", "message": f"malformed JSON: {exc}"}], "request body"
        ) from exc
    if not isinstance(data, dict):
        raise validation_error(
            [{"field": "body", "message": "must be a JSON object"}], "request body"
        )
    return data


def validate(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(validation_details(exc.errors())) from exc


def message_errors(model: type[Model], data: Any) -> tuple[Model | None, ApiError | None]:
    """Validate one batch entry; its error instead of raising it."""
    if not isinstance(data, dict):
        details = [{"field": "message", "message": "must be a JSON object"}]
        return None, validation_error(details, "message")
    try:
        return model.model_validate(data), None
    except ValidationError as exc:
        return None, validation_error(validation_details(exc.errors()), "message")


def after_key(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency that reads and validates the body as ``model`` (list it after the key)."""

    async def read(request: Request) -> Model:
        return validate(model, parse_json_object(await request.body()))

    return read


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """``schema`` with its local ``$defs`` references replaced by the definitions."""
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inlined(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {k: _inlined(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    return schema


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, self-contained (no ``$defs``), for an OpenAPI body."""
    schema = model.model_json_schema()
    inlined: dict[str, Any] = _inlined(schema, schema.get("$defs", {}))
    return inlined


def openapi_json_body(
    schema: dict[str, Any], named_examples: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``openapi_extra`` describing a body the route reads itself."""
    content: dict[str, Any] = {"schema": schema}
    if named_examples:
        content["examples"] = {
            name: {"summary": name, "value": value} for name, value in named_examples.items()
        }
    return {"requestBody": {"required": True, "content": {"application/json": content}}}
