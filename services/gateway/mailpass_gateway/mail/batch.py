"""``POST /mail/send-batch``: validate each message alone, queue the valid ones in one insert.

Each queued message gets the next value of the account's ``queue_id`` sequence, the
whole batch's range taken in one atomic step, so ids increase in input order.

When the provider has hourly or daily limits, the messages wait (``published_at:
None``) for the scheduler, which publishes them in queue order as the limits allow; the
gateway reserves nothing. When it has none (and for test keys, which only reach the
sandbox), there is nothing to wait for: the gateway publishes the batch at once, as one
job of up to a hundred messages, stored holding the claim the job carries (given at
acceptance, :mod:`mailpass_common.messages.claims`), which the sender reads and records
together. If that publish fails, the messages are in the outbox all the same and the
scheduler's recovery publishes them.

Under an ``Idempotency-Key``, a batch run again after an interrupted first run names the
same message ids (one per entry of the request): entries the first run stored keep their
document and ``queue_id``, and only the others are inserted (their attachment chunks,
named after the message, are skipped where stored, see
:func:`mailpass_common.messages.attachment_store.store`).
"""

from __future__ import annotations

import logging
from typing import Any

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import claims
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument, MessageStatus
from mailpass_common.messages.sequences import queue_id_sequence, reserve_range
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import limits
from mailpass_common.providers.service import ProviderCache
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_gateway.bodies import message_errors
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail import suppressed
from mailpass_gateway.mail.files import AttachmentPolicy, attach, prepare
from mailpass_gateway.mail.models import BatchRequest, SendRequest
from mailpass_gateway.mail.provider_check import refusals
from mailpass_gateway.mail.service import MessageIds, build_message, default_provider
from mailpass_gateway.mail.status import spec_datetime
from mailpass_gateway.metrics import ACCEPTED
from mailpass_gateway.templates.sending import prepare_batch
from mailpass_gateway.templates.service import UnsubscribeLinks

log = logging.getLogger(__name__)

DEFAULTED_FIELDS = ("from_email", "from_name")


def _with_batch_defaults(raw: Any, batch: BatchRequest) -> Any:
    """The message with the batch's from_email/from_name where it sets none of its own."""
    if not isinstance(raw, dict):
        return raw
    entry = dict(raw)
    for field in DEFAULTED_FIELDS:
        default = getattr(batch, field)
        if entry.get(field) is None and default is not None:
            entry[field] = default
    return entry


def _failed_item(raw: Any, error: ApiError) -> dict[str, Any]:
    to = raw.get("to") if isinstance(raw, dict) else None
    return {
        "to": to if isinstance(to, str) else None,
        "status": MessageStatus.FAILED.value,
        "error": {"code": error.code, "message": error.message, "details": error.details},
    }


def _queued_item(item: dict[str, Any]) -> dict[str, Any]:
    doc = item["doc"]
    queued = {
        "to": doc["to"],
        "status": doc["status"],  # queued, or scheduled
        "queue_id": doc["queue_id"],
        "message_id": doc["_id"],
    }
    if doc.get("scheduled_at") is not None:
        queued["scheduled_at"] = spec_datetime(doc["scheduled_at"])
    if item["suppressed"]:
        queued["suppressed"] = item["suppressed"]
    return queued


async def queue_batch(
    db: Database,
    batch: BatchRequest,
    *,
    key: ApiKeyRecord,
    providers: ProviderCache,
    publisher: JobPublisher,
    ids: MessageIds,
    policy: AttachmentPolicy,
    links: UnsubscribeLinks,
) -> dict[str, Any]:
    """Store the batch's valid messages as ``queued``; the response's ``data``."""
    provider = await default_provider(providers, key.account_id)
    publish_now = key.test or not limits.windows(provider)
    items: list[dict[str, Any]] = []
    docs: list[MessageDocument] = []
    chunk_docs: list[dict[str, object]] = []
    prepared = await prepare_batch(
        db,
        key.account_id,
        batch.messages,
        default=batch.template_id,
        message_ids=[ids.of(index) for index in range(len(batch.messages))],
        links=links,
    )
    checked = [
        (None, entry.error)
        if entry.error is not None
        else message_errors(SendRequest, _with_batch_defaults(entry.raw, batch))
        for entry in prepared
    ]
    # One suppression lookup for the whole batch's recipients.
    found = await suppressed.lookup(
        db,
        key.account_id,
        (
            a
            for request, _ in checked
            if request is not None
            for a in suppressed.recipients(request)
        ),
    )
    # The provider type's own refusals (MailPass SMTP: From domains not verified), checked
    # once for the batch's senders.
    refused = await refusals(
        db,
        key,
        provider,
        (r.from_email or provider.get("from_email") or "" for r, _ in checked if r is not None),
    )
    for index, (raw, (request, error)) in enumerate(zip(batch.messages, checked, strict=True)):
        if request is not None:
            try:
                sender = request.from_email or provider.get("from_email") or ""
                if sender in refused:
                    raise refused[sender]
                files = prepare(request, policy)
                request, dropped = suppressed.screen(request, found)
                doc = build_message(
                    request,
                    key=key,
                    provider=provider,
                    kind=MessageKind.BATCH,
                    domain=ids.domain,
                    published=publish_now,
                    message_id=ids.of(index),
                    template=prepared[index].template,
                )
            except ApiError as exc:
                error = exc
            else:
                chunk_docs += attach(doc, files)
                docs.append(doc)
                items.append({"doc": doc, "suppressed": dropped})
                continue
        assert error is not None
        items.append(_failed_item(raw, error))

    claim = None
    if docs and publish_now and not ids.keyed:
        claim = claims.give_at_acceptance(
            [doc for doc in docs if doc["status"] == MessageStatus.QUEUED.value]
        )
    if docs:
        first = await reserve_range(db, queue_id_sequence(key.account_id), len(docs))
        for offset, doc in enumerate(docs):
            doc["queue_id"] = first + offset
        await bodies.store(db, chunk_docs)
        if ids.keyed:
            await _insert_new(db, docs)
        else:
            await messages.insert_messages(db, docs)
            ACCEPTED("send_batch").inc(len(docs))
        # Scheduled messages wait for the scheduler whatever the limits.
        now = [doc["_id"] for doc in docs if doc["status"] == MessageStatus.QUEUED.value]
        if publish_now and now:
            await _publish(publisher, key.account_id, now, claim)

    results = [_queued_item(item) if "doc" in item else item for item in items]
    return {
        "total": len(results),
        "queued": len(docs),
        "failed": len(results) - len(docs),
        "messages": results,
    }


async def _insert_new(db: Database, docs: list[MessageDocument]) -> None:
    """Insert what an interrupted first run did not store; the stored ones keep their
    ``queue_id``, which the answer shows."""
    stored = await messages.insert_new_messages(db, docs)
    ACCEPTED("send_batch").inc(len(docs) - len(stored))
    if stored:
        found = db[Collections.MESSAGES].find(
            {"_id": {"$in": sorted(stored)}}, projection={"queue_id": 1}
        )
        queue_ids = {doc["_id"]: int(doc["queue_id"]) async for doc in found}
        for doc in docs:
            if doc["_id"] in queue_ids:
                doc["queue_id"] = queue_ids[doc["_id"]]


async def _publish(
    publisher: JobPublisher, account_id: str, message_ids: list[str], claim: str | None
) -> None:
    try:
        jobs = SendJob.of(account_id, message_ids, claim)
        await publisher.publish_many(jobs, MessageKind.BATCH)
    except Exception:
        # The messages are stored (the outbox): the scheduler's recovery publishes them.
        log.exception(
            "batch publish failed; messages stay queued",
            extra=log_fields(messages=len(message_ids)),
        )
