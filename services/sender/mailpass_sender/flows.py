"""Delivering one message: claim, send through its provider, record the outcome.

A pure function of (job, database, providers): the broker adapter in ``consumer`` acks
only after this has returned, i.e. after MongoDB holds the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from mailpass_common import messages
from mailpass_common.accounts import get_default_provider, get_provider
from mailpass_common.broker import SendJob
from mailpass_common.db import Database, Document
from mailpass_common.documents import Collections, EventType, MessageStatus
from mailpass_common.telemetry import log_fields
from mailpass_sender.metrics import DELIVERIES, DELIVERY_SECONDS
from mailpass_sender.providers.base import (
    DeliveryError,
    OutgoingEmail,
    PermanentDeliveryError,
    Provider,
)
from mailpass_sender.providers.registry import SANDBOX_ID, ProviderPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    message_id: str
    status: MessageStatus
    error_message: str | None = None
    # False when this job did nothing: the message was final already or leased elsewhere.
    attempted: bool = True


def outgoing_email(doc: Document) -> OutgoingEmail:
    return OutgoingEmail(
        message_id=doc["_id"],
        from_email=doc["from_email"],
        from_name=doc.get("from_name"),
        to=doc["to"],
        subject=doc["subject"],
        html=doc.get("html"),
        text=doc.get("text"),
        cc=tuple(doc.get("cc") or ()),
        bcc=tuple(doc.get("bcc") or ()),
        reply_to=doc.get("reply_to"),
        tags=tuple(doc.get("tags") or ()),
        metadata=dict(doc.get("metadata") or {}),
    )


async def _provider_for(
    db: Database, pool: ProviderPool, doc: Document
) -> tuple[str, Provider] | None:
    if doc.get("sandbox"):
        return SANDBOX_ID, pool.sandbox
    provider_doc = None
    if doc.get("provider_id"):
        provider_doc = await get_provider(db, doc["account_id"], doc["provider_id"])
    if provider_doc is None:
        provider_doc = await get_default_provider(db, doc["account_id"])
    if provider_doc is None:
        return None
    return provider_doc["_id"], await pool.get(provider_doc)


async def deliver(
    job: SendJob, db: Database, pool: ProviderPool, lease: timedelta
) -> DeliveryOutcome:
    doc = await messages.claim(db, job.message_id, lease)
    if doc is None:
        current = await db[Collections.MESSAGES].find_one(
            {"_id": job.message_id}, projection={"status": 1, "error_message": 1}
        )
        status = MessageStatus(current["status"]) if current else MessageStatus.FAILED
        error = current.get("error_message") if current else "message not found"
        log.info("job skipped", extra=log_fields(message_id=job.message_id, status=status.value))
        return DeliveryOutcome(job.message_id, status, error, attempted=False)

    account_id = doc["account_id"]
    chosen = await _provider_for(db, pool, doc)
    if chosen is None:
        return await _fail(db, doc, "the account has no default provider", "none")
    provider_id, provider = chosen
    email = outgoing_email(doc)
    try:
        with DELIVERY_SECONDS.labels(provider.type).time():
            result = await provider.send(email)
    except PermanentDeliveryError as exc:
        return await _fail(db, doc, exc.reply, provider.type)
    except DeliveryError as exc:
        # Temporary: recorded as deferred; retry scheduling belongs to the consumer.
        DELIVERIES.labels(provider.type, "deferred").inc()
        await messages.mark_deferred(db, doc["_id"], exc.reply)
        await messages.add_event(
            db,
            message_id=doc["_id"],
            account_id=account_id,
            event_type=EventType.DEFERRED,
            detail=exc.reply,
            provider_id=provider_id,
        )
        log.warning("delivery deferred", extra=log_fields(message_id=doc["_id"], reply=exc.reply))
        return DeliveryOutcome(doc["_id"], MessageStatus.DEFERRED, exc.reply)

    DELIVERIES.labels(provider.type, "sent").inc()
    await messages.mark_sent(
        db,
        doc["_id"],
        provider_id=provider_id,
        provider_type=provider.type,
        provider_message_id=result.provider_message_id,
    )
    await messages.add_event(
        db,
        message_id=doc["_id"],
        account_id=account_id,
        event_type=EventType.SENT,
        detail=result.reply,
        provider_id=provider_id,
    )
    log.info("delivered", extra=log_fields(message_id=doc["_id"], provider=provider.type))
    return DeliveryOutcome(doc["_id"], MessageStatus.SENT)


async def _fail(db: Database, doc: Document, error: str, provider_type: str) -> DeliveryOutcome:
    DELIVERIES.labels(provider_type, "failed").inc()
    await messages.mark_failed(db, doc["_id"], error)
    await messages.add_event(
        db,
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.FAILED,
        detail=error,
    )
    log.warning("delivery failed", extra=log_fields(message_id=doc["_id"], error=error))
    return DeliveryOutcome(doc["_id"], MessageStatus.FAILED, error)
