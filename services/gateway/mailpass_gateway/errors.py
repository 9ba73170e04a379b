"""How the gateway answers every failure in the one envelope
(codes: ``mailpass_common.platform.errors``).

Validation errors name each bad field in ``details`` (``[{"field", "message"}]``, nested
fields dotted: ``cc.1``, ``metadata``). Anything unexpected becomes a generic 500
``INTERNAL_ERROR`` (logged with its traceback); no client input is meant to reach it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mailpass_common.acceptance.refusals import Refused
from mailpass_common.platform.errors import CODE_OF_STATUS, ERRORS, ErrorCode, error_body
from mailpass_common.providers.plugin import AcceptanceRefused
from mailpass_gateway.metrics import ERRORS as ERRORS_BY_CODE

log = logging.getLogger(__name__)


def error_response(
    code: ErrorCode,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=ERRORS[code].status, headers=headers
    )


def http_error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A bare HTTP error of the framework (unknown path, wrong method...) in the envelope."""
    body = error_body(CODE_OF_STATUS.get(status, "HTTP_ERROR"), message)
    return JSONResponse(body, status_code=status, headers=headers)


class ApiError(Exception):
    """A refusal with a stable code; raised anywhere below a route, answered in the envelope."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    @property
    def status_code(self) -> int:
        return ERRORS[self.code].status

    def response(self) -> JSONResponse:
        return error_response(self.code, self.message, self.details, self.headers)


def api_error(refused: AcceptanceRefused) -> ApiError:
    """A refusal of the library's acceptance steps or of a provider type, answered in the
    envelope (with Retry-After when it says when to try again)."""
    headers = None
    if isinstance(refused, Refused) and refused.retry_after_seconds is not None:
        headers = {"Retry-After": str(refused.retry_after_seconds)}
    return ApiError(refused.code, refused.message, refused.details, headers)


@contextlib.contextmanager
def refusals_answered() -> Iterator[None]:
    """Inside, a refusal of the acceptance steps becomes the :class:`ApiError` every route
    and the idempotency wrapper know."""
    try:
        yield
    except AcceptanceRefused as exc:
        raise api_error(exc) from None


class FieldError(ValueError):
    """A cross-field rule broken inside a model validator, naming the fields it is about.

    Pydantic reports model-level errors without a location; this carries one.
    """

    def __init__(self, fields: Sequence[str], message: str) -> None:
        super().__init__(message)
        self.fields = tuple(fields)
        self.message = message


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
    return ApiError(ErrorCode.VALIDATION_ERROR, f"Invalid {what}: {fields}", details)


def counted(code: str) -> None:
    """Every error the gateway answers is counted here, by its code."""
    ERRORS_BY_CODE.labels(code).inc()


def internal_error() -> JSONResponse:
    code = ErrorCode.INTERNAL_ERROR
    counted(code)
    return error_response(code, ERRORS[code].example_message)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        counted(exc.code)
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        counted(ErrorCode.VALIDATION_ERROR)
        return validation_error(validation_details(exc.errors())).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        response = http_error_response(exc.status_code, str(exc.detail), headers)
        counted(CODE_OF_STATUS.get(exc.status_code, "HTTP_ERROR"))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Reached only by faults outside the request middleware (which logs and answers
        # the rest itself); Starlette re-raises after this so the server logs it too.
        return internal_error()
