"""The SMTP transaction of a submission: aiosmtpd's hooks, each answering with the API's
rule as an SMTP reply (:mod:`mailpass_smtp.replies`).

- ``AUTH``: an API key as the password (:mod:`mailpass_smtp.auth`); MAIL, RCPT and DATA
  before it get ``530 5.7.0`` (no relay for unauthenticated clients).
- ``MAIL FROM``: a valid address; the account must have a default provider.
- ``RCPT TO``: a valid address, at most ``SMTP_MAX_RECIPIENTS`` (``452 4.5.3``: the
  client sends the rest in another transaction), not on the account's suppression list
  (``550 5.1.1`` naming the reason; one index lookup per recipient).
- ``DATA``: the message is checked (:mod:`.headers`, :mod:`.submitted`), its deliverable
  bytes stored, the send counted against the limits and the document inserted
  (:mod:`mailpass_common.acceptance`), then the job published; ``250 2.0.0 Ok: queued as
  <message_id>`` only after the insert, the API's guarantee. Anything unexpected is a
  ``451 4.3.0`` (the client keeps the message and retries), never a crash of the session.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiosmtpd.smtp import Envelope, Session
from bson import Binary

from mailpass_common.acceptance import service as acceptance
from mailpass_common.acceptance.grouped import Grouped
from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import MessageDocument
from mailpass_common.messages.validation import email_address
from mailpass_common.platform import telemetry
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers.plugin import AcceptanceRefused
from mailpass_common.providers.service import ProviderCache
from mailpass_common.smtp_server import ServedSMTP
from mailpass_common.tenants.api_keys import ApiKeyCache, ApiKeyRecord
from mailpass_smtp import auth
from mailpass_smtp.documents import submitted_message
from mailpass_smtp.headers import deliverable, read_header_section
from mailpass_smtp.metrics import ACCEPT_SECONDS, MESSAGES, RECIPIENTS_REFUSED
from mailpass_smtp.refusals import Refused
from mailpass_smtp.replies import refusal
from mailpass_smtp.submitted import read_message

log = logging.getLogger(__name__)

UNAVAILABLE = "451 4.3.0 The message could not be stored; try again later"
# A message up to this size is kept in its own document (as an API message's html and
# text are): no write to the body store when it is accepted, no read when it is sent.
# Larger ones go to the body store in chunks, as attachments do.
INLINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class SubmissionContext:
    db: Database
    keys: ApiKeyCache
    providers: ProviderCache
    publisher: JobPublisher
    message_id_domain: str
    max_recipients: int
    allow_executables: bool
    grouped: Grouped  # the inserts and lookups of concurrent sessions, sent together


class SubmissionHandler:
    def __init__(self) -> None:
        self._ctx: SubmissionContext | None = None

    @property
    def ctx(self) -> SubmissionContext:
        assert self._ctx is not None, "connected before the listeners start"
        return self._ctx

    @ctx.setter
    def ctx(self, ctx: SubmissionContext) -> None:
        self._ctx = ctx

    async def handle_AUTH(
        self, server: ServedSMTP, session: Session, envelope: Envelope, args: list[str]
    ) -> str | None:
        return await auth.authenticate(server, session, args, self.ctx.keys)

    async def handle_MAIL(
        self,
        server: ServedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        key = _key(session)
        try:
            sender = email_address(address)
            await acceptance.default_provider(self.ctx.providers, key.account_id)
        except ValueError:
            return "553 5.1.7 The sender address is not valid"
        except AcceptanceRefused as exc:
            return refusal(exc).reply
        envelope.mail_from = sender
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        server: ServedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        key = _key(session)
        if len(envelope.rcpt_tos) >= self.ctx.max_recipients:
            RECIPIENTS_REFUSED.labels("too_many").inc()
            return f"452 4.5.3 Too many recipients: at most {self.ctx.max_recipients} a message"
        try:
            recipient = email_address(address)
        except ValueError:
            RECIPIENTS_REFUSED.labels("invalid").inc()
            return "553 5.1.3 The recipient address is not valid"
        found = await self.ctx.grouped.suppressed(key.account_id, [recipient])
        if found:
            RECIPIENTS_REFUSED.labels("suppressed").inc()
            reason = next(iter(found.values()))
            return (
                f"550 5.1.1 <{recipient}> is on this account's suppression list "
                f"({reason}): not sent"
            )
        if recipient not in envelope.rcpt_tos:
            envelope.rcpt_tos.append(recipient)
            envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: ServedSMTP, session: Session, envelope: Envelope) -> str:
        started = time.monotonic()
        key = _key(session)
        message_id = new_message_id(self.ctx.message_id_domain)
        with telemetry.message_scope(message_id):
            try:
                doc = await self._store(key, envelope, message_id)
            except Refused as refused:
                MESSAGES.labels(refused.reason).inc()
                log.info(
                    "smtp message refused",
                    extra=log_fields(client=server.client, reply=refused.reply),
                )
                return refused.reply
            except Exception:
                MESSAGES.labels("unavailable").inc()
                log.exception("smtp message not stored", extra=log_fields(client=server.client))
                return UNAVAILABLE
            MESSAGES.labels("accepted").inc()
            log.info(
                "smtp message accepted",
                extra=log_fields(
                    client=server.client,
                    account_id=key.account_id,
                    recipients=len(envelope.rcpt_tos),
                    size=doc.get("raw_mime_bytes"),
                ),
            )
            await acceptance.publish(self.ctx.publisher, doc)
            ACCEPT_SECONDS.observe(time.monotonic() - started)
        return f"250 2.0.0 Ok: queued as {message_id}"

    async def _store(
        self, key: ApiKeyRecord, envelope: Envelope, message_id: str
    ) -> MessageDocument:
        raw = envelope.original_content or b""
        section = read_header_section(raw)
        reading = read_message(raw, section, allow_executables=self.ctx.allow_executables)
        try:
            provider = await acceptance.default_provider(self.ctx.providers, key.account_id)
            await acceptance.require_accepted_sender(self.ctx.db, key, provider, reading.from_email)
            data, _ = deliverable(section, message_id)
            doc = submitted_message(
                message_id,
                key=key,
                provider=provider,
                reading=reading,
                recipients=list(envelope.rcpt_tos),
                size=len(data),
            )
            chunks = []
            if len(data) <= INLINE_BYTES:
                doc["raw_mime"] = Binary(data)
            else:
                chunks = bodies.chunk_documents(message_id, data)
            doc["body_chunks"] = len(chunks)
            await acceptance.accept(
                self.ctx.db,
                key,
                provider,
                doc,
                keyed=False,
                chunks=chunks,
                insert=self.ctx.grouped.insert,
            )
        except AcceptanceRefused as exc:
            raise refusal(exc) from None
        return doc


def _key(session: Session) -> ApiKeyRecord:
    record = session.auth_data
    assert isinstance(record, ApiKeyRecord)  # auth_required: no MAIL before AUTH
    return record
