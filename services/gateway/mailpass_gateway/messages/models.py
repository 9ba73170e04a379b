"""Query parameters and bodies of ``GET /mail/messages`` and ``POST /mail/messages/{id}/resend``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from mailpass_common.messages.search import MAX_PAGE
from mailpass_common.messages.validation import email_address, header_text
from mailpass_gateway.mail.responses import SuppressedRecipient

Status = Literal[
    "scheduled", "queued", "sending", "deferred", "sent", "failed", "cancelled", "bounced"
]


def _utc(value: datetime | None) -> datetime | None:
    """A date without an offset is UTC, as every date of this API."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class MessageQuery(BaseModel):
    """Filters of the list; each narrows it, and all apply together."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = Field(None, description="Only messages in this status")
    tag: Annotated[str, AfterValidator(header_text), Field(min_length=1, max_length=100)] | None = (
        Field(None, description="Only messages carrying this tag")
    )
    to: Annotated[str, AfterValidator(email_address)] | None = Field(
        None, description="Only messages to this recipient (the `to` address)"
    )
    created_after: datetime | None = Field(
        None, description="Accepted at or after this time (ISO 8601; UTC when no offset)"
    )
    created_before: datetime | None = Field(
        None, description="Accepted before this time (ISO 8601; UTC when no offset)"
    )
    sandbox: bool | None = Field(
        None,
        description="true: messages sent with test keys (the sandbox); false: live "
        "messages. Default: live for a live key; a test key sees only test messages.",
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(50, description="Page size")
    cursor: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="`next_cursor` of the previous page"
    )

    _as_utc = field_validator("created_after", "created_before")(_utc)


class MessageSummary(BaseModel):
    message_id: str
    from_email: str
    to_email: str
    subject: str
    status: Status
    error_message: str | None
    tags: list[str]
    sandbox: bool = Field(description="Sent with a test key: delivered to the sandbox only")
    resent_from: str | None = Field(description="The failed message this one resends")
    resent_as: str | None = Field(description="The message that resent this one")
    sent_at: str | None = Field(description="RFC 3339, UTC: 2026-01-30T12:00:00.000Z")
    created_at: str = Field(description="RFC 3339, UTC: 2026-01-30T12:00:00.000Z")
    body_purged_at: str | None = Field(
        description="When the retention sweep removed the message's body (UTC), or null"
    )


class MessagePage(BaseModel):
    messages: list[MessageSummary] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class MessageListResponse(BaseModel):
    success: bool = True
    data: MessagePage


class ResendResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    message_id: str = Field(description="The new message")
    status: Literal["queued"]
    to: str
    from_: str = Field(alias="from")
    resent_from: str = Field(description="The failed message it resends")
    suppressed: list[SuppressedRecipient] | None = Field(
        None,
        description="cc/bcc addresses on the account's suppression list, dropped from the "
        "new message (present only when some were)",
    )


class ResendResponse(BaseModel):
    success: bool = True
    data: ResendResult


class CancelResult(BaseModel):
    message_id: str
    status: Literal["cancelled"]


class CancelResponse(BaseModel):
    success: bool = True
    data: CancelResult
