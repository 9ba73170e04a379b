"""The webhook events of messages: what the sender and the tracker report, in one shape.

``data`` names the message and what happened, never its content (no subject, no body):
``message_id``, ``to``, ``from``, ``tags``, ``metadata``, and per type the provider's
reply (``sent``), the error (``deferred``, ``failed``), the attempt and the next retry
(``deferred``), or the reader's agent, classification and link (``open``, ``click``).
Each event's key is what caused it (the claim that recorded an outcome, the events
document of a deferral or an open), so a retried write reports it once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.db import Document
from mailpass_common.webhooks.outbox import WebhookEvent


def _message_fields(message: MessageDocument | Document) -> dict[str, Any]:
    return {
        "message_id": message["_id"],
        "to": message.get("to"),
        "from": message.get("from_email"),
        "tags": list(message.get("tags") or []),
        "metadata": dict(message.get("metadata") or {}),
    }


def _time(value: Any) -> str:
    """RFC 3339 in UTC with ``Z`` (``api_datetime``): when it happened, or now."""
    return api_datetime(value if isinstance(value, datetime) else datetime.now(UTC)) or ""


def outcome_event(
    message: MessageDocument, status: str, *, key: str, **fields: Any
) -> WebhookEvent:
    """``sent``, ``deferred`` or ``failed``, as the sender recorded it."""
    return WebhookEvent(
        account_id=message["account_id"],
        event_type=status,
        data={**_message_fields(message), **fields, "occurred_at": _time(None)},
        sandbox=bool(message.get("sandbox")),
        key=key,
    )


def tracking_event(event: Document, message: MessageDocument | Document) -> WebhookEvent:
    """``open`` or ``click`` from its ``events`` document (as the tracker wrote it)."""
    fields: dict[str, Any] = {
        "user_agent": event.get("user_agent"),
        "classification": event.get("classification"),
    }
    if event.get("url") is not None:
        fields["url"] = event["url"]
    return WebhookEvent(
        account_id=event["account_id"],
        event_type=str(event["event_type"]),
        data={
            **_message_fields(message),
            "message_id": event["message_id"],
            **fields,
            "occurred_at": _time(event.get("created_at")),
        },
        sandbox=bool(event.get("sandbox")),
        key=f"event:{event['_id']}",
    )
