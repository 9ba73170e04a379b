"""What a report that came back does to its message, through the paths every other
bounce takes (:mod:`mailpass_common.messages.events`, :mod:`mailpass_common.suppressions`, the
webhook outbox).

A delivery status notification, per recipient of the message it names:

- ``failed``: a ``bounce`` event with the remote server's diagnostic; a ``sent``
  message moves to ``bounced`` (one conditional update: any other status stays); a
  permanent failure (5.x.x) puts the address on the account's suppression list, which
  emits the ``bounced`` webhook (:func:`mailpass_common.suppressions.service.on_suppressed`); a
  temporary one that the remote server gave up on (4.x.x) emits ``bounced`` here, in
  the same shape, without suppressing;
- ``delayed``: a ``delayed`` event, nothing more;
- ``delivered``, ``relayed``, ``expanded``: nothing (counted by the metrics).

An abuse report (``abuse``, ``fraud``, ``virus``, ``other``) is a ``complaint`` event and
a suppression of reason ``complaint`` (hence the ``complained`` webhook); the message
keeps its status (it was delivered).

Idempotent, so a report sent twice (or retried after a 4xx) records once: event ids are
derived from (message, address, what happened), and a delay's from its report too, so
each delay notice counts; suppressions keep the first entry; webhook keys name the same.
Every step is written again on a retry, so a crash between two steps loses nothing.

The report's addresses are taken only when the message was sent to them (a report may
name the final address of a forward: with a single recipient, that one is meant);
sandbox messages are recorded but suppress nothing, as in the sender.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bson import ObjectId

from mailpass_common.messages import events
from mailpass_common.messages.bounces import event_id, mark_bounced, recipients_of
from mailpass_common.messages.models import EventType, MessageDocument
from mailpass_common.platform.db import Database, Document
from mailpass_common.suppressions import service as suppressions
from mailpass_common.webhooks import outbox
from mailpass_common.webhooks.endpoints import EndpointDirectory, WebhookEventType
from mailpass_inbound.reports import DeliveryReport, FeedbackReport, RecipientStatus

DSN_SOURCE = "dsn"
ARF_SOURCE = "arf"


@dataclass
class Recorded:
    """What a report changed (for the metrics and the logs)."""

    actions: list[str] = field(default_factory=list)  # per recipient block taken
    unmatched: int = 0  # blocks naming an address the message was not sent to
    bounced: bool = False  # the message moved to bounced
    suppressed: int = 0


def _attribute(candidates: Iterable[str | None], sent_to: list[str]) -> str | None:
    for candidate in candidates:
        if candidate and suppressions.normalized(candidate) in sent_to:
            return suppressions.normalized(candidate)
    return sent_to[0] if len(sent_to) == 1 else None


def _event(
    message: MessageDocument, kind: EventType, key: ObjectId, address: str, **fields: str
) -> Document:
    doc = events.event_document(
        _id=key,
        message_id=message["_id"],
        account_id=message["account_id"],
        event_type=kind,
        sandbox=bool(message.get("sandbox")),
        address=address,
    )
    doc.update(fields)
    return doc


async def record_delivery_report(
    db: Database, message: MessageDocument, report: DeliveryReport
) -> Recorded:
    recorded = Recorded()
    sent_to = recipients_of(message)
    docs: list[Document] = []
    hard: list[suppressions.Suppression] = []
    soft: list[outbox.WebhookEvent] = []
    first_failure: RecipientStatus | None = None
    for status in report.recipients:
        recorded.actions.append(status.action)
        if status.action not in ("failed", "delayed"):
            continue
        address = _attribute([status.original_recipient, status.final_recipient], sent_to)
        if address is None:
            recorded.unmatched += 1
            continue
        details = {
            "detail": status.diagnostic,
            "status": status.status,
            "remote_mta": status.remote_mta,
            "reporting_mta": report.reporting_mta,
        }
        if status.action == "delayed":
            key = event_id(message["_id"], address, "delayed", report.report_id)
            docs.append(_event(message, EventType.DELAYED, key, address, **details))
            continue
        key = event_id(message["_id"], address, "bounce")
        docs.append(_event(message, EventType.BOUNCE, key, address, **details))
        first_failure = first_failure or status
        if message.get("sandbox"):
            continue
        if status.hard:
            hard.append(
                _suppression(
                    message,
                    address,
                    suppressions.SuppressionReason.BOUNCE,
                    status.diagnostic,
                    DSN_SOURCE,
                )
            )
        else:
            soft.append(_bounce_webhook(message, address, status.diagnostic, key))
    await events.insert_events(db, docs)
    recorded.suppressed = len(await suppressions.add_many(db, hard))
    if soft:
        await outbox.emit_many(db, EndpointDirectory(db, 0), soft)
    if first_failure is not None:
        recorded.bounced = await mark_bounced(db, message, first_failure.diagnostic)
    return recorded


async def record_feedback_report(
    db: Database, message: MessageDocument, report: FeedbackReport
) -> Recorded:
    recorded = Recorded(actions=[report.feedback_type])
    if not report.complaint:
        return recorded
    address = _attribute(report.original_recipients, recipients_of(message))
    if address is None:
        recorded.unmatched = 1
        return recorded
    detail = " ".join(filter(None, [f"{report.feedback_type} report", report.user_agent]))
    key = event_id(message["_id"], address, "complaint")
    await events.insert_events(
        db, [_event(message, EventType.COMPLAINT, key, address, detail=detail)]
    )
    if not message.get("sandbox"):
        entry = _suppression(
            message, address, suppressions.SuppressionReason.COMPLAINT, detail, ARF_SOURCE
        )
        recorded.suppressed = len(await suppressions.add_many(db, [entry]))
    return recorded


def _suppression(
    message: MessageDocument,
    address: str,
    reason: suppressions.SuppressionReason,
    detail: str,
    source: str,
) -> suppressions.Suppression:
    return suppressions.Suppression(
        account_id=message["account_id"],
        address=address,
        reason=reason,
        source=source,
        message_id=message["_id"],
        detail=detail,
    )


def _bounce_webhook(
    message: MessageDocument, address: str, detail: str, key: ObjectId
) -> outbox.WebhookEvent:
    """``bounced`` for a failure the address is not suppressed for: the shape
    :func:`mailpass_common.suppressions.service.on_suppressed` gives the suppressed ones."""
    return outbox.WebhookEvent(
        account_id=message["account_id"],
        event_type=WebhookEventType.BOUNCED.value,
        data={
            "address": address,
            "message_id": message["_id"],
            "source": DSN_SOURCE,
            "detail": detail[: suppressions.MAX_DETAIL_CHARS],
        },
        sandbox=bool(message.get("sandbox")),
        key=f"bounce:{key}",
    )
