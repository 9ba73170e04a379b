"""The MailPass Mail Send API client: ``MailPass`` (sync) and ``AsyncMailPass`` (asyncio)."""

from mailpass_client._version import __version__
from mailpass_client.async_client import AsyncMailPass
from mailpass_client.client import MailPass
from mailpass_client.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    MailPassError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableError,
    ValidationError,
)
from mailpass_client.webhook import Webhook, WebhookVerificationError

__all__ = [
    "ApiError",
    "AsyncMailPass",
    "AuthenticationError",
    "ConflictError",
    "ConnectionFailedError",
    "MailPass",
    "MailPassError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ServerError",
    "UnprocessableError",
    "ValidationError",
    "Webhook",
    "WebhookVerificationError",
    "__version__",
]
