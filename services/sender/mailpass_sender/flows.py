"""Delivering messages: attempt one claimed message, record a batch of outcomes.

Functions of (input, injected context): the database, the providers, the retry policy
and a :class:`JobRouter` that parks or dead-letters jobs. The broker adapter
(:mod:`mailpass_sender.pipeline`) claims jobs in batches, runs :func:`attempt` for each
claimed message concurrently, and :func:`record` for each batch of decisions; it acks a
job only after ``record`` has returned, i.e. after MongoDB holds the outcome and any
retry or dead-letter job has been confirmed by RabbitMQ.

Orders that make a crash at any point safe (at worst a duplicate job, which the claim
makes harmless):
- deferred: record ``deferred`` first, then park the job. A crash in between redelivers
  the original job, which finds the message claimable and tries again at once.
- exhausted: dead-letter the job first, then record ``failed``. A crash in between leaves
  the message ``sending`` until its lease ends; the scheduler's recovery republishes it
  and it is dead-lettered (again) and failed: never a failure the operator cannot replay.
- bounces: the refused addresses go on the suppression list before anything else is
  recorded. A bounce is a fact whatever becomes of the claim, and the insert is
  idempotent, so a crash at any point after it only repeats it harmlessly.
- :func:`record` can be run again on the same decisions (the pipeline retries it while
  the database is unreachable): outcomes match their claim token again, events keep the
  ids they were given, and a job parked twice is claimed once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bson import ObjectId

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import events
from mailpass_common.messages import service as messages
from mailpass_common.messages import webhook_events as producers
from mailpass_common.messages.attachments import Attachment
from mailpass_common.messages.models import (
    MESSAGE_FORMAT,
    EventType,
    MessageDocument,
    MessageStatus,
)
from mailpass_common.platform.db import Document
from mailpass_common.platform.formats import format_version
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.platform.tracing import run_in
from mailpass_common.providers.delivery.base import Bounce, OutgoingEmail
from mailpass_common.providers.delivery.mime import render
from mailpass_common.webhooks import outbox
from mailpass_sender.backoff_wait import not_attempted, wait_for_backoff
from mailpass_sender.bounces import suppress_bounced
from mailpass_sender.lease import Lease
from mailpass_sender.link_rewriter import track_email, tracking_choice
from mailpass_sender.metrics import ACCEPTANCE_TO_DELIVERY, DEAD_LETTERED, RETRIES
from mailpass_sender.models import Claimed, Decision, DeliveryContext, DeliveryOutcome
from mailpass_sender.unsubscribe import wants_unsubscribe, with_unsubscribe

log = logging.getLogger(__name__)


def outgoing_email(doc: MessageDocument, files: tuple[Attachment, ...] = ()) -> OutgoingEmail:
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
        attachments=files,
        account_id=doc["account_id"],
    )


async def _prepare(
    doc: MessageDocument,
    ctx: DeliveryContext,
    files: tuple[Attachment, ...],
    submitted: bytes | None,
) -> tuple[OutgoingEmail, bytes, Document | None]:
    """The email as it goes out, its MIME, and a ``tracking_skipped`` event when tracking
    was asked for but the HTML could not be rewritten in budget (it goes out untracked).
    A message submitted over SMTP goes out as it came (its stored bytes)."""
    if submitted is not None:
        return replace(outgoing_email(doc), as_submitted=True), submitted, None
    defaults = await ctx.tracking_defaults(doc["account_id"])
    choice = tracking_choice(doc, defaults)
    email = outgoing_email(doc, files)
    if wants_unsubscribe(doc, defaults):
        email = with_unsubscribe(email, doc, ctx.settings)
    tracked = await track_email(
        email,
        choice,
        secret=ctx.settings.secret_key.get_secret_value(),
        tracker_base_url=ctx.settings.tracker_base_url,
        budget_seconds=ctx.settings.sender_tracking_budget_seconds,
    )
    skipped = None
    if tracked.skipped is not None:
        skipped = events.event_document(
            message_id=doc["_id"],
            account_id=doc["account_id"],
            event_type=EventType.TRACKING_SKIPPED,
            sandbox=bool(doc.get("sandbox")),
            _id=ObjectId(),  # fixed now, so a retried record never writes it twice
            detail=tracked.skipped,
            attempt=int(doc.get("attempts") or 1),
        )
    return tracked.email, render(tracked.email), skipped


async def attempt(claimed: Claimed, ctx: DeliveryContext) -> Decision:
    """Build the message and offer it to its providers; decide what happens next."""
    doc = claimed.message
    token = doc["claim_token"]
    try:
        format_version(doc, MESSAGE_FORMAT, what="message document")
    except ValueError as exc:  # a newer release's (mid-upgrade): never sent from fields
        return _retry_later(claimed, ctx, str(exc))  # this one does not know; retried later
    try:  # a database error propagates: the pipeline gives the job back
        files = await bodies.load_attachments(ctx.db, doc)
        submitted = await bodies.load_submitted(ctx.db, doc)
    except LookupError as exc:  # purged under the retention policy: nothing left to send
        error = f"the message could not be built: {exc}"
        return Decision(claimed, messages.Failed(doc["_id"], token, error))
    try:
        email, mime, skipped = await _prepare(doc, ctx, files, submitted)
    except Exception as exc:
        # The message itself cannot be built: it fails alone, at once. Retrying would
        # fail the same way, and no provider is to blame.
        log.exception("message could not be built", extra=log_fields(message_id=doc["_id"]))
        error = f"the message could not be built: {type(exc).__name__}: {exc}"
        return Decision(claimed, messages.Failed(doc["_id"], token, error))
    notes = () if skipped is None else (skipped,)
    lease = Lease(ctx.db, doc["_id"], token, ctx.lease, claimed.taken_at)
    result = await ctx.failover.send(doc, email, mime, lease)
    if lease.token != token:  # renewed as a new token (a claim given at acceptance)
        claimed = replace(claimed, message={**doc, "claim_token": (token := lease.token)})
        doc = claimed.message
    if result.lease_lost:
        # Another sender holds the message now and delivers it; nothing of this attempt
        # can be recorded (the outcome's token no longer matches), so it ends here.
        error = "the lease ran out during failover; another sender took the message over"
        return Decision(claimed, messages.Deferred(doc["_id"], token, error))
    if result.accepted is not None:
        accepted = result.accepted
        return Decision(
            claimed,
            messages.Sent(
                doc["_id"],
                token,
                provider_id=accepted.provider_id,
                provider_type=accepted.provider_type,
                provider_message_id=accepted.result.provider_message_id,
                reply=accepted.result.reply,
                fallback=accepted.fallback,
            ),
            events=notes,
            bounced=result.bounced,
        )
    error = result.error_message
    if result.backed_off is not None:  # nothing was tried: no attempt spent
        return wait_for_backoff(claimed, ctx, error, result.backed_off, notes)
    if result.permanent:
        failed = messages.Failed(doc["_id"], token, error)
        return Decision(claimed, failed, events=notes, bounced=result.bounced)
    return _retry_later(claimed, ctx, error, notes, result.bounced)


def _retry_later(
    claimed: Claimed,
    ctx: DeliveryContext,
    error: str,
    notes: tuple[Document, ...] = (),
    bounced: tuple[Bounce, ...] = (),
) -> Decision:
    """Deferred with ``error`` and retried after the policy's delay; failed and
    dead-lettered once its attempts are exhausted."""
    doc = claimed.message
    token = doc["claim_token"]
    attempts = int(doc.get("attempts") or 1)
    if ctx.policy.exhausted(attempts):
        failed = messages.Failed(doc["_id"], token, error, dead_lettered=True)
        return Decision(claimed, failed, dead_letter=True, events=notes, bounced=bounced)
    delay = ctx.policy.delay_after(attempts)
    event = events.event_document(
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.DEFERRED,
        sandbox=bool(doc.get("sandbox")),
        _id=ObjectId(),  # fixed now, so a retried record never writes it twice
        detail=error,
        attempt=attempts,
        retry_in_seconds=round(delay.seconds, 3),
    )
    deferred = messages.Deferred(doc["_id"], token, error)
    return Decision(claimed, deferred, delay=delay, events=(*notes, event), bounced=bounced)


async def record(decisions: Sequence[Decision], ctx: DeliveryContext) -> list[DeliveryOutcome]:
    """Record a batch of decisions in crash-safe order (module docstring)."""
    await suppress_bounced(ctx.db, ((d.claimed.message, b) for d in decisions for b in d.bounced))
    exhausted = [d for d in decisions if d.dead_letter]
    await asyncio.gather(
        *(
            run_in(d.claimed.trace, ctx.router.dead_letter(d.claimed.own_job, error=d.error or ""))
            for d in exhausted
        )
    )
    # The webhook outbox first (mailpass_common.webhooks.outbox; one insert_many for the
    # batch, nothing for accounts without endpoints): a sender dying after the status
    # change would leave a job that finds its message final and reports nothing. Keys
    # name the claim, so a record retried after this point does not report twice.
    await _report_to_webhooks(decisions, ctx)
    recorded = await messages.record(ctx.db, [d.outcome for d in decisions])
    await events.insert_events(
        ctx.db, [e for d in decisions if d.claimed.message["_id"] in recorded for e in d.events]
    )
    parked = [d for d in decisions if d.delay is not None and d.claimed.message["_id"] in recorded]
    await asyncio.gather(
        *(
            run_in(
                d.claimed.trace, ctx.router.retry_later(d.claimed.own_job, d.claimed.kind, d.delay)
            )
            for d in parked
            if d.delay
        )
    )
    now = datetime.now(UTC)
    for d in decisions:
        if isinstance(d.outcome, messages.Sent) and d.claimed.message["_id"] in recorded:
            accepted = d.claimed.message["created_at"]
            waited = (
                now - (accepted if accepted.tzinfo else accepted.replace(tzinfo=UTC))
            ).total_seconds()
            ACCEPTANCE_TO_DELIVERY.labels(d.claimed.kind.value).observe(max(0.0, waited))
    for d in exhausted:
        DEAD_LETTERED.labels(d.claimed.kind.value).inc()
    for d in parked:
        RETRIES.labels(d.claimed.kind.value).inc()
    return [_logged(d, d.claimed.message["_id"] in recorded) for d in decisions]


async def _report_to_webhooks(decisions: Sequence[Decision], ctx: DeliveryContext) -> None:
    if ctx.webhooks is not None:
        await outbox.emit_many(ctx.db, ctx.webhooks, [_webhook_event(d) for d in decisions])


def _webhook_event(decision: Decision) -> outbox.WebhookEvent:
    message, outcome = decision.claimed.message, decision.outcome
    key = f"{message['_id']}:{outcome.claim_token}:{decision.status.value}"
    attempt = int(message.get("attempts") or 1)
    skipped = not_attempted(outcome)  # a wait on a backed-off destination, no attempt
    if skipped:
        attempt = max(0, attempt - 1)
    if isinstance(outcome, messages.Sent):
        fields: dict[str, object] = {"provider_reply": outcome.reply, "attempt": attempt}
    else:
        fields = {"error": outcome.error, "attempt": attempt}
        if skipped:
            fields["attempted"] = False
        if decision.delay is not None:
            fields["retry_in_seconds"] = round(decision.delay.seconds, 3)
    return producers.outcome_event(message, decision.status.value, key=key, **fields)


def _logged(decision: Decision, recorded: bool) -> DeliveryOutcome:
    message_id = decision.claimed.message["_id"]
    status = decision.status
    if not recorded:
        log.warning(
            "outcome not recorded: the lease ran out and the message was claimed again",
            extra=log_fields(message_id=message_id, outcome=status.value),
        )
    elif status is MessageStatus.SENT:
        assert isinstance(decision.outcome, messages.Sent)
        log.info(
            "delivered",
            extra=log_fields(
                message_id=message_id,
                provider=decision.outcome.provider_type,
                fallback=decision.outcome.fallback,
            ),
        )
    else:
        retry_in = round(decision.delay.seconds, 3) if decision.delay else None
        log.warning(
            "delivery deferred" if status is MessageStatus.DEFERRED else "delivery failed",
            extra=log_fields(message_id=message_id, reply=decision.error, retry_in=retry_in),
        )
    return DeliveryOutcome(message_id, status, decision.error)
