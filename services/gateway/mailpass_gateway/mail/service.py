"""The Mail Send API's work: a validated request becomes a stored message (the outbox),
within limits; ``/send`` then publishes its job and waits for the sender's reply.

The ``/send`` path costs at most four database round trips, three of them without send
limits: the key and the default provider come from short-lived caches, the limit
reservation is one conditional update, the message one insert (holding the claim its
job carries, :mod:`mailpass_common.messages.claims`), and the sender reads and records it
with one round trip each. The suppression lookup runs beside the insert, so a
``/send`` waits for one of the two, not both (:mod:`mailpass_gateway.mail.screening`),
and concurrent requests share both commands (:mod:`mailpass_common.acceptance.grouped`).

The steps every way in shares (the default provider, the sending-domain rule, the limit
reservation and the insert) are the library's (:mod:`mailpass_common.acceptance`), so
SMTP submission stores and delivers a message exactly as this does; their refusals are
answered here in the envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

from mailpass_common.acceptance import service as acceptance
from mailpass_common.acceptance.grouped import Grouped
from mailpass_common.acceptance.service import Caller
from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import claims
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import keyed_message_id, new_message_id
from mailpass_common.messages.models import MessageDocument, MessageStatus, new_message
from mailpass_common.platform import telemetry
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.service import ProviderCache
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_gateway.errors import ApiError, refusals_answered
from mailpass_gateway.mail import screening, suppressed
from mailpass_gateway.mail.files import AttachmentPolicy, attach, prepare
from mailpass_gateway.mail.models import SendRequest
from mailpass_gateway.mail.provider_check import accepted_by_provider
from mailpass_gateway.mail.responses import send_body
from mailpass_gateway.mail.status import spec_datetime
from mailpass_gateway.metrics import ACCEPTED
from mailpass_gateway.rpc import ReplyWaiter

log = logging.getLogger(__name__)


class MessageIds:
    """Where a request's message ids come from: fresh random ones, or, under an
    ``Idempotency-Key``, ones derived from its record's nonce, the same on every run of
    the request (so a retry finds what an interrupted first run stored)."""

    def __init__(self, domain: str, nonce: str | None = None) -> None:
        self.domain = domain
        self.nonce = nonce
        self._fresh: dict[int, str] = {}

    @property
    def keyed(self) -> bool:
        return self.nonce is not None

    def of(self, index: int) -> str:
        """The id of the request's ``index``-th message."""
        if self.nonce is None:
            # The same id each time it is asked for: a template renders with it first.
            if index not in self._fresh:
                self._fresh[index] = new_message_id(self.domain)
            return self._fresh[index]
        return keyed_message_id(self.domain, self.nonce, index)


async def default_provider(providers: ProviderCache, account_id: str) -> ProviderDocument:
    """The account's default provider, or 422 NO_SMTP_PROVIDER."""
    with refusals_answered():
        return await acceptance.default_provider(providers, account_id)


async def reserve_send(db: Database, key: Caller, provider: ProviderDocument) -> bool:
    """Count one send against the provider's limits, or 429 SEND_LIMIT_EXCEEDED (see
    :func:`mailpass_common.acceptance.service.reserve_send`)."""
    with refusals_answered():
        return await acceptance.reserve_send(db, key, provider)


def build_message(
    request: SendRequest,
    *,
    key: ApiKeyRecord,
    provider: ProviderDocument,
    kind: MessageKind,
    domain: str,
    published: bool | None = None,
    message_id: str | None = None,
    template: Mapping[str, Any] | None = None,
) -> MessageDocument:
    """The message document for a request; the provider's defaults fill the sender.
    ``template``: the template and version that made its content."""
    from_email = request.from_email or provider.get("from_email")
    if not from_email:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: from_email",
            [
                {
                    "field": "from_email",
                    "message": "required: the default provider has no from address",
                }
            ],
        )
    doc = new_message(
        message_id=message_id or new_message_id(domain),
        account_id=key.account_id,
        kind=kind,
        sandbox=key.test,
        provider_id=provider["_id"],
        from_email=from_email,
        from_name=request.from_name if request.from_name is not None else provider.get("from_name"),
        to=request.to,
        cc=request.cc,
        bcc=request.bcc,
        reply_to=request.reply_to,
        subject=request.subject,
        html=request.html,
        text=request.text,
        tags=request.tags,
        metadata=request.metadata,
        track_opens=request.track_opens,
        track_clicks=request.track_clicks,
        published=published,
        scheduled_at=request.scheduled_at,
    )
    if request.unsubscribe is not None:
        doc["unsubscribe"] = request.unsubscribe
    if template is not None:
        doc["template"] = dict(template)
    return doc


async def send_now(
    db: Database,
    request: SendRequest,
    *,
    key: ApiKeyRecord,
    providers: ProviderCache,
    publisher: JobPublisher,
    waiter: ReplyWaiter,
    ids: MessageIds,
    timeout: float,
    policy: AttachmentPolicy,
    grouped: Grouped,
    template: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """``POST /mail/send``: store, publish, and answer with what the sender replied.

    Run again under its ``Idempotency-Key`` after an interrupted first run, it may find
    its message stored already: it then publishes it again (the claim makes a second job
    harmless) and answers with what the sender replies about it.
    """
    provider = await default_provider(providers, key.account_id)
    files = prepare(request, policy)
    if files is None and request.scheduled_at is None and not ids.keyed:
        # The common case: no attachment to store, no schedule, no first run to find.
        doc, dropped = await screening.store_screened(
            db,
            request,
            key=key,
            provider=provider,
            build=lambda: _immediate_message(request, key, provider, ids, template),
            grouped=grouped,
        )
        ACCEPTED("send").inc()
    else:
        found = await grouped.suppressed(key.account_id, suppressed.recipients(request))
        request, dropped = suppressed.screen(request, found)
        doc = _immediate_message(request, key, provider, ids, template)
        await accepted_by_provider(db, key, provider, doc["from_email"])
        chunks = attach(doc, files)
        if request.scheduled_at is not None:
            await bodies.store(db, chunks)
            return await _schedule(db, doc, dropped, keyed=ids.keyed)
        with refusals_answered():
            stored_before = await acceptance.accept(
                db, key, provider, doc, keyed=ids.keyed, chunks=chunks
            )
        if not stored_before:  # a keyed retry's message was counted by its first run
            ACCEPTED("send").inc()
    with telemetry.message_scope(doc["_id"]):
        return await _publish_and_wait(doc, publisher, waiter, timeout, dropped)


def _immediate_message(
    request: SendRequest,
    key: ApiKeyRecord,
    provider: ProviderDocument,
    ids: MessageIds,
    template: Mapping[str, Any] | None,
) -> MessageDocument:
    return build_message(
        request,
        key=key,
        provider=provider,
        kind=MessageKind.IMMEDIATE,
        domain=ids.domain,
        message_id=ids.of(0),
        template=template,
    )


async def _schedule(
    db: Database, doc: MessageDocument, dropped: list[dict[str, Any]], *, keyed: bool
) -> JSONResponse:
    """A scheduled send: stored now, published by the scheduler when due, within the
    provider's limits (so nothing is reserved now); 202 ``scheduled``. Under an
    Idempotency-Key, a message an interrupted first run stored is not stored again."""
    if keyed:
        if not await messages.insert_new_messages(db, [doc]):
            ACCEPTED("send").inc()
    else:
        await messages.insert_messages(db, [doc])
        ACCEPTED("send").inc()
    body = send_body(
        doc["_id"],
        "scheduled",
        doc["to"],
        doc["from_email"],
        dropped,
        scheduled_at=spec_datetime(doc.get("scheduled_at")),
    )
    return JSONResponse(body, status_code=202)


async def _publish_and_wait(
    doc: MessageDocument,
    publisher: JobPublisher,
    waiter: ReplyWaiter,
    timeout: float,
    dropped: list[dict[str, Any]],
) -> JSONResponse:
    correlation_id, future = waiter.expect()
    try:
        await publisher.publish(
            SendJob(doc["account_id"], (doc["_id"],), claims.job_claim(doc)),
            MessageKind.IMMEDIATE,
            reply_to=waiter.queue_name,
            correlation_id=correlation_id,
        )
    except Exception:
        # The document is the outbox: the scheduler's recovery publishes it later.
        log.exception(
            "publish failed; message stays queued", extra=log_fields(message_id=doc["_id"])
        )
        # A zero wait just unregisters the reply we will never get.
        reply = await waiter.wait(correlation_id, future, 0)
    else:
        reply = await waiter.wait(correlation_id, future, timeout)

    if reply is not None and reply.status is MessageStatus.FAILED:
        raise ApiError(
            ErrorCode.SEND_FAILED,
            f"Email sending failed: {reply.error_message}",
            {"message_id": doc["_id"]},
        )
    sent = reply is not None and reply.status is MessageStatus.SENT
    body = send_body(
        doc["_id"], "sent" if sent else "queued", doc["to"], doc["from_email"], dropped
    )
    return JSONResponse(body, status_code=200 if sent else 202)
