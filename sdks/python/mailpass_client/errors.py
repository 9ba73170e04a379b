"""Typed exceptions: every API refusal is an :class:`ApiError` subclass chosen by status.

``code`` is the API's stable error code (``VALIDATION_ERROR``, ``RATE_LIMITED``, ...),
``details`` its structured details, ``retry_after`` the seconds the API asked to wait.
"""

from __future__ import annotations

from typing import Any


class MailPassError(Exception):
    """Anything this client raises."""


class ConnectionFailedError(MailPassError):
    """No answer from the API (connection refused or cut, DNS, TLS), after the retries."""


class RequestTimeoutError(ConnectionFailedError):
    """No answer within the client's timeout, after the retries."""


class ApiError(MailPassError):
    """The API answered with an error envelope ``{"success": false, "error": {...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.request_id = request_id


class ValidationError(ApiError):
    """400 VALIDATION_ERROR: ``details`` names each bad field."""


class AuthenticationError(ApiError):
    """401: a missing, invalid or revoked API key."""


class PermissionDeniedError(ApiError):
    """403: the key lacks the permission."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409 (IDEMPOTENCY_CONFLICT, NOT_RESENDABLE, NOT_CANCELLABLE, ...)."""


class UnprocessableError(ApiError):
    """422 (NO_SMTP_PROVIDER, ...)."""


class RateLimitError(ApiError):
    """429 RATE_LIMITED or SEND_LIMIT_EXCEEDED, once the retries are spent."""


class ServerError(ApiError):
    """5xx (SEND_FAILED carries the provider's reply)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
    429: RateLimitError,
}


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
