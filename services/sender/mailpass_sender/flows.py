"""Delivering one message: claim, send through its providers, record the outcome.

A function of (job, injected context): the database, the providers, the retry policy and
a :class:`JobRouter` that parks or dead-letters jobs. The broker adapter in ``consumer``
acks only after this has returned, i.e. after MongoDB holds the outcome and any retry or
dead-letter job has been confirmed by RabbitMQ.

Orders that make a crash at any point safe (at worst a duplicate, which the claim makes
harmless):
- deferred: record ``deferred`` first, then park the job. A crash in between redelivers
  the original job, which finds the message claimable and tries again at once.
- exhausted: dead-letter the job first, then record ``failed``. A crash in between leaves
  the message ``sending`` until its lease ends; the scheduler's recovery republishes it
  and it is dead-lettered (again) and failed: never a failure the operator cannot replay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from mailpass_common import messages
from mailpass_common.broker import SendJob
from mailpass_common.db import Database, Document
from mailpass_common.documents import Collections, EventType, MessageKind, MessageStatus
from mailpass_common.telemetry import log_fields
from mailpass_sender.failover import Accepted, Failover
from mailpass_sender.metrics import DEAD_LETTERED, RETRIES
from mailpass_sender.providers.base import OutgoingEmail
from mailpass_sender.retry import RetryDelay, RetryPolicy
from mailpass_sender.settings import SenderSettings
from mailpass_sender.tracking import track_email

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    message_id: str
    status: MessageStatus
    error_message: str | None = None
    # False when this job did nothing: the message was final already or leased elsewhere.
    attempted: bool = True


class JobRouter(Protocol):
    """Where a job goes when it is not done: both return once the broker confirmed."""

    async def retry_later(self, job: SendJob, kind: MessageKind, delay: RetryDelay) -> None: ...

    async def dead_letter(
        self, job: SendJob, kind: MessageKind, *, error: str, attempts: int
    ) -> None: ...


@dataclass(frozen=True)
class DeliveryContext:
    db: Database
    settings: SenderSettings
    failover: Failover
    policy: RetryPolicy
    router: JobRouter

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.sender_lease_seconds)


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


async def deliver(job: SendJob, kind: MessageKind, ctx: DeliveryContext) -> DeliveryOutcome:
    db = ctx.db
    doc = await messages.claim(db, job.message_id, ctx.lease)
    if doc is None:
        current = await db[Collections.MESSAGES].find_one(
            {"_id": job.message_id}, projection={"status": 1, "error_message": 1}
        )
        status = MessageStatus(current["status"]) if current else MessageStatus.FAILED
        error = current.get("error_message") if current else "message not found"
        log.info("job skipped", extra=log_fields(message_id=job.message_id, status=status.value))
        return DeliveryOutcome(job.message_id, status, error, attempted=False)

    # Tracking settings (key, tracker URL) are the sender's own.
    email = await track_email(db, doc, outgoing_email(doc), ctx.settings)
    attempt = await ctx.failover.send(doc, email)
    if attempt.accepted is not None:
        return await _record_sent(db, doc, attempt.accepted)
    error = attempt.error_message
    if attempt.permanent:
        return await _record_failed(db, doc, error)
    attempts = int(doc.get("attempts") or 1)
    if ctx.policy.exhausted(attempts):
        await ctx.router.dead_letter(job, kind, error=error, attempts=attempts)
        DEAD_LETTERED.labels(kind.value).inc()
        return await _record_failed(db, doc, error, attempts=attempts, dead_lettered=True)
    return await _defer(ctx, job, kind, doc, error, attempts)


async def _record_sent(db: Database, doc: Document, accepted: Accepted) -> DeliveryOutcome:
    recorded = await messages.mark_sent(
        db,
        doc["_id"],
        provider_id=accepted.provider_id,
        provider_type=accepted.provider_type,
        provider_message_id=accepted.result.provider_message_id,
    )
    if not recorded:
        _lost_lease(doc, MessageStatus.SENT)
    await messages.add_event(
        db,
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.SENT,
        detail=accepted.result.reply,
        provider_id=accepted.provider_id,
        provider_type=accepted.provider_type,
        provider_message_id=accepted.result.provider_message_id,
        fallback=accepted.fallback,
    )
    log.info(
        "delivered",
        extra=log_fields(
            message_id=doc["_id"], provider=accepted.provider_type, fallback=accepted.fallback
        ),
    )
    return DeliveryOutcome(doc["_id"], MessageStatus.SENT)


async def _record_failed(
    db: Database,
    doc: Document,
    error: str,
    *,
    attempts: int | None = None,
    dead_lettered: bool = False,
) -> DeliveryOutcome:
    if not await messages.mark_failed(db, doc["_id"], error):
        # Another sender holds the message now: its outcome is the one to record.
        _lost_lease(doc, MessageStatus.FAILED)
        return DeliveryOutcome(doc["_id"], MessageStatus.FAILED, error)
    extra = {"attempts": attempts, "dead_lettered": True} if dead_lettered else {}
    await messages.add_event(
        db,
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.FAILED,
        detail=error,
        **extra,
    )
    log.warning(
        "delivery failed",
        extra=log_fields(message_id=doc["_id"], error=error, dead_lettered=dead_lettered),
    )
    return DeliveryOutcome(doc["_id"], MessageStatus.FAILED, error)


async def _defer(
    ctx: DeliveryContext,
    job: SendJob,
    kind: MessageKind,
    doc: Document,
    error: str,
    attempts: int,
) -> DeliveryOutcome:
    delay = ctx.policy.delay_after(attempts)
    if not await messages.mark_deferred(ctx.db, doc["_id"], error):
        # Another sender holds the message now; its job carries the delivery on.
        _lost_lease(doc, MessageStatus.DEFERRED)
        return DeliveryOutcome(doc["_id"], MessageStatus.DEFERRED, error)
    await messages.add_event(
        ctx.db,
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.DEFERRED,
        detail=error,
        attempt=attempts,
        retry_in_seconds=round(delay.seconds, 3),
    )
    await ctx.router.retry_later(job, kind, delay)
    RETRIES.labels(kind.value).inc()
    log.warning(
        "delivery deferred",
        extra=log_fields(message_id=doc["_id"], reply=error, retry_in=round(delay.seconds, 3)),
    )
    return DeliveryOutcome(doc["_id"], MessageStatus.DEFERRED, error)


def _lost_lease(doc: Document, outcome: MessageStatus) -> None:
    log.warning(
        "outcome not recorded: the lease ran out and the message was claimed again",
        extra=log_fields(message_id=doc["_id"], outcome=outcome.value),
    )
