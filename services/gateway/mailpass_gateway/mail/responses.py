"""Response bodies of the Mail Send API and their OpenAPI description.

The views build these bodies themselves (status codes vary per outcome); the models here
describe them in ``/openapi.json`` with the spec's examples.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from mailpass_common.platform.errors import ERRORS, ErrorCode, error_example
from mailpass_gateway.mail import examples


class SuppressedRecipient(BaseModel):
    address: str
    field: Literal["cc", "bcc"]
    reason: str = Field(description="bounce, complaint or manual")


class SendResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    message_id: str
    status: Literal["sent", "queued", "scheduled"]
    to: str
    from_: str = Field(alias="from")
    suppressed: list[SuppressedRecipient] | None = Field(
        None,
        description="cc/bcc addresses on the account's suppression list, dropped from the "
        "message (present only when some were)",
    )
    scheduled_at: str | None = Field(
        None, description="Scheduled messages: when they are due (UTC, YYYY-MM-DDTHH:MM:SS)"
    )


class SendResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEND_RESPONSE]})

    success: bool = True
    data: SendResult


def send_body(
    message_id: str,
    status: Literal["sent", "queued", "scheduled"],
    to: str,
    from_email: str,
    suppressed: list[dict[str, Any]],
    scheduled_at: str | None = None,
) -> dict[str, Any]:
    """A ``/send`` answer's body, as :class:`SendResponse` describes it (by alias, without
    its unset fields). Built directly: a model built, validated and dumped on every
    request cost more than the rest of the answer."""
    data: dict[str, Any] = {
        "message_id": message_id,
        "status": status,
        "to": to,
        "from": from_email,
    }
    if suppressed:
        data["suppressed"] = [
            {"address": item["address"], "field": item["field"], "reason": item["reason"]}
            for item in suppressed
        ]
    if scheduled_at is not None:
        data["scheduled_at"] = scheduled_at
    return {"success": True, "data": data}


class FieldProblem(BaseModel):
    field: str
    message: str


class MessageError(BaseModel):
    code: str
    message: str
    details: list[FieldProblem] | dict[str, Any] | None = None


class BatchItem(BaseModel):
    to: str | None = Field(description="The message's `to`, as sent")
    status: Literal["queued", "scheduled", "failed"] = Field(
        description="scheduled: accepted with a scheduled_at, counted in `queued`"
    )
    queue_id: int | None = Field(
        None, description="Queue position (queued messages): numeric, increasing per account"
    )
    message_id: str | None = Field(
        None, description="For GET /mail/status/{message_id} (queued messages)"
    )
    error: MessageError | None = Field(None, description="Why the message failed (failed only)")
    suppressed: list[SuppressedRecipient] | None = Field(
        None, description="Suppressed cc/bcc addresses dropped from it (only when some were)"
    )
    scheduled_at: str | None = Field(None, description="Scheduled messages: when they are due")


class BatchResult(BaseModel):
    total: int
    queued: int
    failed: int
    messages: list[BatchItem] = Field(description="One entry per message, in input order")


class BatchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BATCH_RESPONSE]})

    success: bool = True
    data: BatchResult


class MessageView(BaseModel):
    message_id: str
    from_email: str
    to_email: str
    subject: str
    status: Literal[
        "scheduled", "queued", "sending", "deferred", "sent", "failed", "cancelled", "bounced"
    ] = Field(
        description="scheduled: waiting for its scheduled_at; cancelled: cancelled while "
        "scheduled (final); queued: accepted, waiting for a sender; sending: being delivered; "
        "deferred: a temporary failure, retried later; sent: the provider accepted it; "
        "failed: refused for good (see error_message); bounced: sent, then reported "
        "undeliverable by the recipient's side (see error_message and the bounce event)"
    )
    error_message: str | None
    sent_at: str | None = Field(description="UTC, YYYY-MM-DDTHH:MM:SS")
    created_at: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS")
    scheduled_at: str | None = Field(
        None, description="Scheduled messages only: when it is (or was) due; UTC"
    )
    body_purged_at: str | None = Field(
        description="When the html and text were removed under the retention policy "
        "(MESSAGE_RETENTION_DAYS after created_at; UTC); null while the message has them"
    )


class EventView(BaseModel):
    event_type: str = Field(
        description="open, click (tracking); queued, sent, deferred, failed (delivery); "
        "tracking_skipped (tracking was asked for, but the HTML could not be rewritten in "
        "budget: the message went out untracked, `detail` says why); bounce, delayed, "
        "complaint (reports that came back later: `detail` is the remote server's diagnostic)"
    )
    ip_address: str | None
    user_agent: str | None
    created_at: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS")
    url: str | None = Field(None, description="Clicked link (click events only)")
    classification: str | None = Field(
        None, description="Who opened or clicked, e.g. human or a machine (tracking events)"
    )
    detail: str | None = Field(None, description="The provider's reply (delivery events)")


class StatusResult(BaseModel):
    message: MessageView
    events: list[EventView] = Field(
        description="The newest `limit` events (default 100), oldest first"
    )
    event_totals: dict[str, int] = Field(
        description="Every event of the message, counted by type (not only this page's)"
    )
    next_cursor: str | None = Field(
        description="Pass as `before` for the events just older than these; null when none"
    )


class StatusResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.STATUS_RESPONSE]})

    success: bool = True
    data: StatusResult


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    success: Literal[False] = False
    error: ErrorBody


def error_responses(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error codes, grouped by HTTP status, each with
    the registry's example (``mailpass_common.platform.errors``)."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code].status, []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, status_codes in sorted(by_status.items()):
        responses[status] = {
            "model": ErrorResponse,
            "description": " or ".join(status_codes),
            "content": {
                "application/json": {
                    "examples": {
                        code.value: {"summary": code.value, "value": error_example(code)}
                        for code in status_codes
                    }
                }
            },
        }
    return responses


_EXAMPLED_MODELS = {
    "SendResponse": examples.SEND_RESPONSE,
    "BatchResponse": examples.BATCH_RESPONSE,
    "StatusResponse": examples.STATUS_RESPONSE,
}


def restore_null_examples(spec: dict[str, Any]) -> None:
    """Put the spec's examples back as written into a generated OpenAPI document.

    FastAPI renders the document without ``None`` values, which also strips the nulls of
    the examples (``"error_message": null``, ``"details": null``).
    """
    schemas = spec.get("components", {}).get("schemas", {})
    for name, example in _EXAMPLED_MODELS.items():
        if name in schemas:
            schemas[name]["examples"] = [example]
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {}).get("application/json", {})
                for code, named in content.get("examples", {}).items():
                    if code in ErrorCode.__members__:
                        named["value"] = error_example(ErrorCode(code))


_FRAMEWORK_VALIDATION = "#/components/schemas/HTTPValidationError"


def drop_framework_validation_responses(spec: dict[str, Any]) -> None:
    """Remove the 422 "Validation Error" FastAPI documents on every route with parameters:
    this API answers invalid input with 400 VALIDATION_ERROR (documented per route), and
    422 means NO_SMTP_PROVIDER where it is documented."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            schema = responses.get("422", {}).get("content", {}).get("application/json", {})
            if schema.get("schema", {}).get("$ref") == _FRAMEWORK_VALIDATION:
                del responses["422"]
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def resource_router(prefix: str, tag: str) -> APIRouter:
    """A router of an administered resource (keys, providers, webhooks): every route of
    the group answers these in the error envelope (bodies are refused over 10 MiB, a
    missing or foreign id is 404)."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        responses=error_responses(
            ErrorCode.VALIDATION_ERROR,
            ErrorCode.UNAUTHORIZED,
            ErrorCode.FORBIDDEN,
            ErrorCode.NOT_FOUND,
            ErrorCode.PAYLOAD_TOO_LARGE,
        ),
    )
