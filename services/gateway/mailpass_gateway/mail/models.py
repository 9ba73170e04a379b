"""Request bodies of the Mail Send API, validated strictly.

Anything that could corrupt a message is refused before it is stored: CR/LF or other
control characters in a header value (header injection), addresses email-validator
rejects, blank subjects, more than 50 recipients, oversized bodies, tags and metadata
beyond small flat shapes, numbers MongoDB cannot store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from mailpass_common.messages import attachments as rules
from mailpass_common.messages.labels import MAX_METADATA_KEYS, MAX_TAGS
from mailpass_common.messages.labels import metadata as _metadata
from mailpass_common.messages.labels import tag as _tag
from mailpass_common.messages.validation import DisplayName, EmailAddress, HeaderText
from mailpass_gateway.errors import FieldError
from mailpass_gateway.mail import examples

MAX_RECIPIENTS = 50
MAX_BODY_CHARS = 512 * 1024  # per part (html, text)
MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit
MAX_BATCH = 100
MAX_SCHEDULE_AHEAD = timedelta(days=30)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _content_type(value: str) -> str:
    value = value.strip().lower()
    if not rules.CONTENT_TYPE.match(value):
        raise ValueError("a MIME type such as application/pdf or image/png")
    return value


def _content_id(value: str) -> str:
    value = value.strip().removeprefix("<").removesuffix(">")
    if not rules.CONTENT_ID.match(value):
        raise ValueError("1-128 characters of letters, digits and . @ _ - (no spaces, no <>)")
    return value


class AttachmentIn(BaseModel):
    """One attachment; with ``content_id``, an inline image the HTML shows by ``cid:``."""

    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="Sanitised: the last path component, unsafe characters replaced"
    )
    content: str = Field(description="The file, standard base64 (RFC 4648)")
    content_type: Annotated[str, AfterValidator(_content_type)] = Field(
        description="MIME type, e.g. application/pdf or image/png"
    )
    content_id: Annotated[str, AfterValidator(_content_id)] | None = Field(
        None, description="Makes it inline: the HTML refers to it as cid:<content_id>"
    )


Tag = Annotated[str, AfterValidator(_tag)]
Metadata = Annotated[dict[str, Any], AfterValidator(_metadata)]


class SendRequest(BaseModel):
    """One message: ``POST /mail/send``, and each entry of a batch."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.SEND_REQUEST]}
    )

    to: EmailAddress = Field(description="Recipient email")
    subject: Annotated[
        HeaderText, AfterValidator(_not_blank), Field(min_length=1, max_length=MAX_SUBJECT_CHARS)
    ] = Field(description="Email subject (one line)")
    html: Annotated[str | None, Field(max_length=MAX_BODY_CHARS)] = Field(
        None, description="HTML body (either html or text is required)"
    )
    text: Annotated[str | None, Field(max_length=MAX_BODY_CHARS)] = Field(
        None, description="Text body (either html or text is required)"
    )
    from_email: EmailAddress | None = Field(
        None, description="Sender email (default: SMTP provider setting)"
    )
    from_name: DisplayName | None = Field(None, description="Sender name")
    reply_to: EmailAddress | None = Field(None, description="Reply-to address")
    cc: Annotated[list[EmailAddress], Field(max_length=MAX_RECIPIENTS)] = Field(
        [], description="CC email list"
    )
    bcc: Annotated[list[EmailAddress], Field(max_length=MAX_RECIPIENTS)] = Field(
        [], description=f"BCC email list (to + cc + bcc: at most {MAX_RECIPIENTS})"
    )
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = Field(
        [], description=f"Email tags (for categorization): at most {MAX_TAGS}, 1-64 chars each"
    )
    metadata: Metadata = Field(
        {},
        description=f"Custom metadata: a flat object of at most {MAX_METADATA_KEYS} keys "
        "with string, number or boolean values",
    )
    track_opens: bool | None = Field(None, description="Override the account's open tracking")
    track_clicks: bool | None = Field(None, description="Override the account's click tracking")
    attachments: Annotated[list[AttachmentIn], Field(max_length=rules.MAX_ATTACHMENTS)] = Field(
        [],
        description=f"Files and inline images, at most {rules.MAX_ATTACHMENTS}. "
        "Executables are refused (400 ATTACHMENT_REFUSED); the whole message once encoded "
        "is capped at MAX_MESSAGE_BYTES, 10 MiB by default (413 MESSAGE_TOO_LARGE).",
    )
    unsubscribe: bool | None = Field(
        None,
        description="Add one-click unsubscribe (RFC 8058): List-Unsubscribe and "
        "List-Unsubscribe-Post headers naming a signed link on the tracker. Default: the "
        "account's setting (off unless set).",
    )
    scheduled_at: AwareDatetime | None = Field(
        None,
        description="Send later: ISO 8601 with a UTC offset (e.g. 2026-02-01T09:00:00+01:00), "
        "at most 30 days ahead. The message stays `scheduled` until then (cancel it with "
        "POST /mail/messages/{id}/cancel); a time already past is sent now.",
    )

    @model_validator(mode="after")
    def _check_message(self) -> SendRequest:
        if not (self.html or self.text):
            raise FieldError(("html", "text"), "either html or text is required")
        if 1 + len(self.cc) + len(self.bcc) > MAX_RECIPIENTS:
            fields = [name for name in ("cc", "bcc") if getattr(self, name)]
            raise FieldError(
                fields, f"at most {MAX_RECIPIENTS} recipients in to, cc and bcc together"
            )
        if self.scheduled_at is not None:
            if self.scheduled_at - datetime.now(UTC) > MAX_SCHEDULE_AHEAD:
                raise FieldError(("scheduled_at",), "at most 30 days ahead")
            if self.scheduled_at <= datetime.now(UTC):
                self.scheduled_at = None  # due already: sent now, as if unscheduled
        return self


class BatchRequest(BaseModel):
    """``POST /mail/send-batch``. Messages are checked one by one (see ``batch``), so an
    invalid message fails alone instead of sinking the batch."""

    model_config = ConfigDict(extra="forbid")

    messages: Annotated[list[Any], Field(min_length=1, max_length=MAX_BATCH)] = Field(
        description=f"1 to {MAX_BATCH} messages, each as for /mail/send"
    )
    from_email: EmailAddress | None = Field(None, description="Default sender")
    from_name: DisplayName | None = Field(None, description="Default sender name")
    template_id: str | None = Field(
        None,
        max_length=128,
        description="A template (id or alias) for the messages that give no subject, html "
        "or text of their own; each gives its `variables`",
    )
