"""Turning a validated request into a stored message document (the outbox), within limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailpass_common import limits
from mailpass_common.accounts import ApiKeyRecord, get_default_provider
from mailpass_common.db import Database, Document
from mailpass_common.documents import MessageKind, MessageStatus
from mailpass_common.ids import new_message_id
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.models import SendRequest


async def default_provider(db: Database, account_id: str) -> Document:
    provider = await get_default_provider(db, account_id)
    if provider is None:
        raise ApiError(
            422,
            "NO_SMTP_PROVIDER",
            "No default SMTP provider is configured for this account: "
            "add one and set it as default",
        )
    return provider


async def reserve_send(db: Database, key: ApiKeyRecord, provider: Document) -> None:
    """Count one send against the provider's hourly and daily limits, or refuse it (429).

    Test keys deliver to the sandbox capture, never through the provider, so they do not
    use up its quota.
    """
    if key.test:
        return
    exceeded = await limits.reserve(db, provider)
    if exceeded is not None:
        raise ApiError(
            429,
            "SEND_LIMIT_EXCEEDED",
            f"The provider's {exceeded.window} sending limit ({exceeded.limit}) is reached; "
            f"retry in {exceeded.retry_after_seconds} s",
            {
                "window": exceeded.window,
                "limit": exceeded.limit,
                "retry_after_seconds": exceeded.retry_after_seconds,
            },
            headers={"Retry-After": str(exceeded.retry_after_seconds)},
        )


def message_document(
    request: SendRequest,
    *,
    key: ApiKeyRecord,
    provider: Document,
    kind: MessageKind,
    domain: str,
) -> Document:
    from_email = request.from_email or provider.get("from_email")
    if not from_email:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "Invalid request: from_email",
            [
                {
                    "field": "from_email",
                    "message": "required: the default provider has no from address",
                }
            ],
        )
    now = datetime.now(UTC)
    doc: dict[str, Any] = {
        "_id": new_message_id(domain),
        "account_id": key.account_id,
        "kind": kind.value,
        "status": MessageStatus.QUEUED.value,
        "provider_id": provider["_id"],
        "sandbox": key.test,
        "from_email": from_email,
        "from_name": request.from_name
        if request.from_name is not None
        else provider.get("from_name"),
        "to": request.to,
        "cc": request.cc,
        "bcc": request.bcc,
        "reply_to": request.reply_to,
        "subject": request.subject,
        "html": request.html,
        "text": request.text,
        "tags": request.tags,
        "metadata": request.metadata,
        "track_opens": request.track_opens,
        "track_clicks": request.track_clicks,
        "error_message": None,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        "sent_at": None,
        # Immediate messages are published right after this insert; a batch message waits
        # for the scheduler. If the publish is lost, the scheduler republishes the message
        # once this stamp is old enough (the outbox).
        "published_at": now if kind is MessageKind.IMMEDIATE else None,
    }
    return doc
