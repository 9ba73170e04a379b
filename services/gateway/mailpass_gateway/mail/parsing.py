"""Reading request bodies: JSON text to validated models, every failure a VALIDATION_ERROR.

Bodies are parsed here rather than by FastAPI so that nothing a client sends can reach a
500: pydantic-core's JSON parser refuses NaN/Infinity, lone UTF-16 surrogates (which
MongoDB could not store) and nesting deeper than its recursion limit, with an error
instead of an exception. The OpenAPI document still describes the bodies (see views).
"""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from mailpass_gateway.errors import ApiError, validation_details, validation_error

Model = TypeVar("Model", bound=BaseModel)


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
