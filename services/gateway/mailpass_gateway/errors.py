"""One error envelope for every failure.

``{"success": false, "error": {"code": ..., "message": ..., "details": ...}}``

Validation errors name each bad field in ``details`` (``[{"field", "message"}]``, nested
fields dotted: ``cc.1``, ``metadata``). Anything unexpected becomes a generic 500
``INTERNAL_ERROR`` (logged with its traceback); no client input is meant to reach it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> JSONResponse:
        return error_response(self.status_code, self.code, self.message, self.details, self.headers)


class FieldError(ValueError):
    """A cross-field rule broken inside a model validator, naming the fields it is about.

    Pydantic reports model-level errors without a location; this carries one.
    """

    def __init__(self, fields: Sequence[str], message: str) -> None:
        super().__init__(message)
        self.fields = tuple(fields)
        self.message = message


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": code, "message": message, "details": details}},
        status_code=status_code,
        headers=headers,
    )


def _field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def validation_details(
    errors: Iterable[Any], prefix: Sequence[str | int] = ()
) -> list[dict[str, str]]:
    """``[{"field", "message"}]`` from pydantic's ``errors()``, fields relative to ``prefix``."""
    details = []
    for err in errors:
        loc = (*prefix, *tuple(err.get("loc", ())))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            for field in cause.fields:
                details.append({"field": _field_name((*loc, field)), "message": cause.message})
            continue
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        details.append({"field": _field_name(loc) or "body", "message": message})
    return details


def validation_error(details: list[dict[str, str]], what: str = "request") -> ApiError:
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    return ApiError(400, "VALIDATION_ERROR", f"Invalid {what}: {fields}", details)


def internal_error() -> JSONResponse:
    return error_response(500, "INTERNAL_ERROR", "Internal server error; it has been logged")


_HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(validation_details(exc.errors())).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Reached only by faults outside the request middleware (which logs and answers
        # the rest itself); Starlette re-raises after this so the server logs it too.
        return internal_error()
