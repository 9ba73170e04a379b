"""Typed results, one dataclass per schema of the API's ``/openapi.json`` (same names).

Fields a newer API adds are ignored when reading, so an older client keeps working; the
SDK's tests compare these classes with the gateway's ``/openapi.json`` field by field.
``from`` is a Python keyword: it is ``from_`` here.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

_RENAMED = {"from_": "from"}


def api_name(field_name: str) -> str:
    return _RENAMED.get(field_name, field_name)


def build(cls: type[T], data: Any) -> T:
    """``cls`` (a dataclass of this module) from the API's JSON object."""
    hints = typing.get_type_hints(cls, vars(sys.modules[__name__]))
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        values[f.name] = _convert(hints[f.name], data.get(api_name(f.name)))
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value)
    return value


@dataclass(frozen=True)
class SuppressedRecipient:
    address: str
    field: str
    reason: str


@dataclass(frozen=True)
class SendResult:
    message_id: str
    status: str
    to: str
    from_: str
    suppressed: list[SuppressedRecipient] | None = None
    scheduled_at: str | None = None


@dataclass(frozen=True)
class MessageError:
    code: str
    message: str
    details: Any = None


@dataclass(frozen=True)
class BatchItem:
    to: str | None
    status: str
    queue_id: int | None = None
    message_id: str | None = None
    error: MessageError | None = None
    suppressed: list[SuppressedRecipient] | None = None
    scheduled_at: str | None = None


@dataclass(frozen=True)
class BatchResult:
    total: int
    queued: int
    failed: int
    messages: list[BatchItem]


@dataclass(frozen=True)
class MessageView:
    message_id: str
    from_email: str
    to_email: str
    subject: str
    status: str
    error_message: str | None
    sent_at: str | None
    created_at: str
    body_purged_at: str | None
    scheduled_at: str | None = None


@dataclass(frozen=True)
class EventView:
    event_type: str
    ip_address: str | None
    user_agent: str | None
    created_at: str
    url: str | None = None
    classification: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class StatusResult:
    message: MessageView
    events: list[EventView]
    event_totals: dict[str, int]
    next_cursor: str | None


@dataclass(frozen=True)
class MessageSummary:
    message_id: str
    from_email: str
    to_email: str
    subject: str
    status: str
    error_message: str | None
    tags: list[str]
    sandbox: bool
    resent_from: str | None
    resent_as: str | None
    sent_at: str | None
    created_at: str
    body_purged_at: str | None


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageSummary]
    next_cursor: str | None


@dataclass(frozen=True)
class CancelResult:
    message_id: str
    status: str


@dataclass(frozen=True)
class ResendResult:
    message_id: str
    status: str
    to: str
    from_: str
    resent_from: str
    suppressed: list[SuppressedRecipient] | None = None


@dataclass(frozen=True)
class SuppressionView:
    address: str
    reason: str
    source: str
    message_id: str | None
    detail: str
    created_at: str


@dataclass(frozen=True)
class SuppressionPage:
    suppressions: list[SuppressionView]
    next_cursor: str | None


@dataclass(frozen=True)
class Removed:
    address: str
    removed: bool = True


@dataclass(frozen=True)
class WebhookView:
    id: str
    url: str
    events: list[str]
    enabled: bool
    sandbox: bool
    disabled_reason: str | None
    failing_since: str | None
    previous_secret_valid_until: str | None
    created_at: str


@dataclass(frozen=True)
class CreatedWebhook:
    """An endpoint as made (or its secret rotated): ``secret`` is shown this once."""

    id: str
    url: str
    events: list[str]
    enabled: bool
    sandbox: bool
    disabled_reason: str | None
    failing_since: str | None
    previous_secret_valid_until: str | None
    created_at: str
    secret: str


@dataclass(frozen=True)
class WebhookPage:
    webhooks: list[WebhookView]
    next_cursor: str | None


@dataclass(frozen=True)
class Attachment:
    """One attachment (``content`` base64); with ``content_id``, an inline image."""

    filename: str
    content: str
    content_type: str
    content_id: str | None = None


RESULT_TYPES: tuple[type[Any], ...] = (
    SuppressedRecipient,
    SendResult,
    MessageError,
    BatchItem,
    BatchResult,
    MessageView,
    EventView,
    StatusResult,
    MessageSummary,
    MessagePage,
    CancelResult,
    ResendResult,
    SuppressionView,
    SuppressionPage,
    Removed,
    WebhookView,
    CreatedWebhook,
    WebhookPage,
)
"""Every result type, each named as its schema in ``/openapi.json``."""
