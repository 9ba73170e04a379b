"""Every error code the platform answers with, its HTTP status, and the envelope's body.

``{"success": false, "error": {"code": ..., "message": ..., "details": ...}}``

The codes of the Mail Send API are the spec's (VALIDATION_ERROR, NO_SMTP_PROVIDER,
SEND_LIMIT_EXCEEDED, SEND_FAILED); the others complete them for what the spec leaves
implicit (authentication, idempotency, body size). Each has one example, which the
OpenAPI document shows. The HTTP side (responses, the ``ApiError`` a route raises) belongs
to the web services: ``mailpass_gateway.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NO_SMTP_PROVIDER = "NO_SMTP_PROVIDER"
    SEND_LIMIT_EXCEEDED = "SEND_LIMIT_EXCEEDED"
    SEND_FAILED = "SEND_FAILED"
    NOT_RESENDABLE = "NOT_RESENDABLE"
    RECIPIENT_SUPPRESSED = "RECIPIENT_SUPPRESSED"
    DOMAIN_NOT_VERIFIED = "DOMAIN_NOT_VERIFIED"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    ATTACHMENT_REFUSED = "ATTACHMENT_REFUSED"
    WEBHOOK_SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"
    RATE_LIMITED = "RATE_LIMITED"
    CSRF_INVALID = "CSRF_INVALID"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    WEBHOOK_ENDPOINT_LIMIT = "WEBHOOK_ENDPOINT_LIMIT"
    DOMAIN_EXISTS = "DOMAIN_EXISTS"
    DOMAIN_LIMIT_REACHED = "DOMAIN_LIMIT_REACHED"
    ACCOUNT_SUSPENDED = "ACCOUNT_SUSPENDED"
    MEMBER_EXISTS = "MEMBER_EXISTS"
    LAST_OWNER = "LAST_OWNER"
    INTERNAL_ERROR = "INTERNAL_ERROR"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    example_message: str
    example_details: Any = None


ERRORS: dict[ErrorCode, ErrorSpec] = {
    ErrorCode.VALIDATION_ERROR: ErrorSpec(
        400, "Invalid request: to", [{"field": "to", "message": "invalid email address: ..."}]
    ),
    ErrorCode.UNAUTHORIZED: ErrorSpec(401, "Invalid or revoked API key"),
    ErrorCode.FORBIDDEN: ErrorSpec(403, "This API key lacks the 'mail' permission"),
    ErrorCode.NOT_FOUND: ErrorSpec(404, "Message not found"),
    ErrorCode.METHOD_NOT_ALLOWED: ErrorSpec(405, "Method Not Allowed"),
    ErrorCode.IDEMPOTENCY_CONFLICT: ErrorSpec(
        409,
        "This Idempotency-Key was used with a different request body",
        {"reason": "different_request"},
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: ErrorSpec(
        413, "Request body exceeds 10485760 bytes", {"max_bytes": 10485760}
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(
        415,
        "Request bodies must be JSON: send 'Content-Type: application/json'",
        {"content_type": "text/plain"},
    ),
    ErrorCode.NO_SMTP_PROVIDER: ErrorSpec(
        422,
        "No default SMTP provider is configured for this account: add one and set it as default",
    ),
    ErrorCode.SEND_LIMIT_EXCEEDED: ErrorSpec(
        429,
        "The provider's hourly sending limit (100) is reached",
        {"window": "hourly", "limit": 100, "retry_after_seconds": 1800},
    ),
    ErrorCode.SEND_FAILED: ErrorSpec(
        500,
        "Email sending failed: 550 5.1.1 <user@example.com>: Recipient address rejected",
        {"message_id": "<abc123.1706600000@mailpass.im>"},
    ),
    ErrorCode.NOT_RESENDABLE: ErrorSpec(
        409,
        "Only failed messages can be resent; this one is sent",
        {"message_id": "<abc123.1706600000@mailpass.im>", "status": "sent"},
    ),
    ErrorCode.RECIPIENT_SUPPRESSED: ErrorSpec(
        422,
        "user@example.com is on this account's suppression list (bounce): not sent",
        {"address": "user@example.com", "reason": "bounce"},
    ),
    ErrorCode.DOMAIN_NOT_VERIFIED: ErrorSpec(
        422,
        "shop.example.com is not a verified sending domain of this account: MailPass SMTP "
        "sends only from verified domains (POST /api/v1/domains, then verify)",
        {"domain": "shop.example.com"},
    ),
    ErrorCode.NOT_CANCELLABLE: ErrorSpec(
        409,
        "Only scheduled messages can be cancelled; this one is queued",
        {"message_id": "<abc123.1706600000@mailpass.im>", "status": "queued"},
    ),
    ErrorCode.MESSAGE_TOO_LARGE: ErrorSpec(
        413,
        "The message would be 12582912 bytes once encoded; the limit is 10485760",
        {"size_bytes": 12582912, "max_bytes": 10485760},
    ),
    ErrorCode.ATTACHMENT_REFUSED: ErrorSpec(
        400,
        "Attachment setup.exe: executable files are refused",
        {"filename": "setup.exe", "reason": "executable"},
    ),
    ErrorCode.WEBHOOK_SIGNATURE_INVALID: ErrorSpec(
        401, "The notification's signature does not verify"
    ),
    ErrorCode.RATE_LIMITED: ErrorSpec(
        429, "Too many notifications for this hook; retry in 1 s", {"retry_after_seconds": 1}
    ),
    ErrorCode.CSRF_INVALID: ErrorSpec(
        403, "The form's security token is missing or stale: reload the page and try again"
    ),
    ErrorCode.TOO_MANY_ATTEMPTS: ErrorSpec(
        429,
        "Too many sign-in attempts from this address; retry in 240 s",
        {"retry_after_seconds": 240},
    ),
    ErrorCode.WEBHOOK_DISABLED: ErrorSpec(
        409,
        "This webhook endpoint is disabled: enable it (PATCH enabled=true) before replaying",
        {"endpoint_id": "ep_6f1c2a9b3d4e5f60718293a4"},
    ),
    ErrorCode.WEBHOOK_ENDPOINT_LIMIT: ErrorSpec(
        409,
        "This account has 20 webhook endpoints, the most it may have: delete one first",
        {"limit": 20},
    ),
    ErrorCode.DOMAIN_EXISTS: ErrorSpec(
        409,
        "example.com is already a sending domain of this account",
        {"domain": "example.com", "id": "dom_6f1c2a9b3d4e5f60718293a4"},
    ),
    ErrorCode.DOMAIN_LIMIT_REACHED: ErrorSpec(
        409,
        "This account has 100 sending domains, the most it may have: remove one first",
        {"limit": 100},
    ),
    ErrorCode.ACCOUNT_SUSPENDED: ErrorSpec(
        403,
        "This account is suspended by the platform's operators: its keys and console "
        "sessions do not work, and its queued mail is held until it is unsuspended",
    ),
    ErrorCode.MEMBER_EXISTS: ErrorSpec(
        409,
        "ada@example.com is a member of this account already",
        {"user_id": "usr_6f1c2a9b3d4e5f60"},
    ),
    ErrorCode.LAST_OWNER: ErrorSpec(
        409, "The account's last owner stays an owner: make another member owner first"
    ),
    ErrorCode.INTERNAL_ERROR: ErrorSpec(500, "Internal server error; it has been logged"),
}

# The code a bare HTTP error of the framework (no route, wrong method...) is reported as.
CODE_OF_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"success": False, "error": {"code": str(code), "message": message, "details": details}}


def error_example(code: ErrorCode) -> dict[str, Any]:
    spec = ERRORS[code]
    return error_body(code, spec.example_message, spec.example_details)
