"""Request and response bodies of the Mail Send API, validated strictly.

Anything that could corrupt a message is refused before it is stored: CR/LF in a header
value (header injection), addresses email-validator rejects, empty subjects, more than
50 recipients, oversized bodies, tags and metadata beyond small flat shapes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MAX_RECIPIENTS = 50
MAX_BODY_CHARS = 512 * 1024  # per part (html, text)
MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit
MAX_TAGS = 10
MAX_METADATA_KEYS = 20
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")

Scalar = str | int | float | bool


def _no_line_breaks(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks (CR or LF)")
    return value


def _email(value: str) -> str:
    _no_line_breaks(value)
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email address: {exc}") from exc


def _tag(value: str) -> str:
    if not TAG_PATTERN.match(value):
        raise ValueError("tags are 1-64 characters of letters, digits and _ . : / -")
    return value


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        if not 1 <= len(key) <= 64 or key.startswith("$") or "." in key:
            raise ValueError(f"key {key!r}: 1-64 characters, no '.' and no leading '$'")
        if not isinstance(item, Scalar) or (isinstance(item, str) and len(item) > 512):
            raise ValueError(
                f"key {key!r}: values are strings (up to 512 chars), numbers or booleans"
            )
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]
HeaderText = Annotated[str, AfterValidator(_no_line_breaks)]
Tag = Annotated[str, AfterValidator(_tag)]
Metadata = Annotated[dict[str, Any], AfterValidator(_metadata)]


class SendRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": "user@example.com",
                    "subject": "Order Confirmation",
                    "html": "<h1>Your order has been confirmed</h1>",
                    "text": "Your order has been confirmed",
                    "from_email": "support@yourdomain.com",
                    "from_name": "Your App",
                    "reply_to": "reply@yourdomain.com",
                    "cc": ["cc@example.com"],
                    "bcc": ["bcc@example.com"],
                    "tags": ["order", "confirmation"],
                    "metadata": {"order_id": "12345"},
                }
            ]
        },
    )

    to: EmailAddress
    subject: Annotated[HeaderText, Field(min_length=1, max_length=MAX_SUBJECT_CHARS)]
    html: Annotated[str | None, Field(max_length=MAX_BODY_CHARS)] = None
    text: Annotated[str | None, Field(max_length=MAX_BODY_CHARS)] = None
    from_email: EmailAddress | None = None
    from_name: Annotated[HeaderText, Field(max_length=256)] | None = None
    reply_to: EmailAddress | None = None
    cc: Annotated[list[EmailAddress], Field(max_length=MAX_RECIPIENTS)] = []
    bcc: Annotated[list[EmailAddress], Field(max_length=MAX_RECIPIENTS)] = []
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []
    metadata: Metadata = {}
    track_opens: bool | None = None
    track_clicks: bool | None = None

    @model_validator(mode="after")
    def _check_message(self) -> SendRequest:
        if not self.subject.strip():
            raise ValueError("subject must not be blank")
        if not (self.html or self.text):
            raise ValueError("either html or text is required")
        if 1 + len(self.cc) + len(self.bcc) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} recipients in to, cc and bcc together")
        return self


class SendResult(BaseModel):
    message_id: str
    status: str
    to: str
    from_: str = Field(serialization_alias="from")


class SendResponse(BaseModel):
    success: bool = True
    data: SendResult
