"""JSON request bodies read only after the API key is checked.

FastAPI reads a body declared as a model parameter before it resolves any dependency,
so a caller without a valid key could make the gateway take in up to 10 MiB before
being told 401. Routes here declare their body as a dependency listed after their key
(:func:`after_key`): dependencies resolve in order, so the 401 or 403 comes first and
the body is never read for it. The OpenAPI document still describes the body
(:func:`openapi_json_body`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel

from mailpass_gateway.mail.parsing import parse_json_object, validate

Model = TypeVar("Model", bound=BaseModel)


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
