"""The SMTP side: aiosmtpd in the service's own event loop, with its bounds.

Replies, and when:

- connect: ``421 4.7.0`` past ``INBOUND_MAX_CONNECTIONS`` or the per-address bound;
- ``MAIL``: ``450 4.7.1`` past the address's messages per minute; ``552`` (aiosmtpd) for
  a declared ``SIZE`` over ``INBOUND_MAX_MESSAGE_BYTES``;
- ``RCPT``: ``550 5.7.1`` for another domain (never a relay), ``550 5.1.1`` for an
  address on the return-path domain that names no message MailPass signed, ``452 4.5.3``
  past ``INBOUND_MAX_RECIPIENTS``;
- ``DATA``: ``552`` (aiosmtpd) past the size; ``554 5.6.0`` for a report that cannot be
  read; ``250`` once what it reports is recorded (or dropped, when it is no report);
- any exception (the database away): ``451 4.3.0``, so the sender tries again later.
  Nothing the client sends reaches it as anything else, and the server keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailpass_common.db import Database
from mailpass_common.documents import MessageDocument
from mailpass_common.telemetry import log_fields
from mailpass_inbound import flows, service
from mailpass_inbound.limits import ConnectionLimits, RateLimits
from mailpass_inbound.metrics import (
    ACCEPTED,
    BOUNCED,
    DSN_RECIPIENTS,
    FEEDBACK_REPORTS,
    REFUSED,
    SUPPRESSED,
)
from mailpass_inbound.reports import (
    DeliveryReport,
    FeedbackReport,
    UnreadableReport,
    parse_report,
)

log = logging.getLogger(__name__)
KNOWN_ACTIONS = {"failed", "delayed", "delivered", "relayed", "expanded"}
KNOWN_FEEDBACK = {"abuse", "fraud", "virus", "other", "not-spam", "auth-failure"}


@dataclass(frozen=True)
class InboundContext:
    db: Database
    domain: str
    message_id_domains: Sequence[str]
    keys: Sequence[bytes]
    max_recipients: int
    rates: RateLimits


class InboundEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, MessageDocument] = {}


def _peer_address(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


class InboundHandler:
    """aiosmtpd's hooks (``handle_*``), each answering with the reply to send."""

    def __init__(self, context: InboundContext) -> None:
        self.context = context

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.context.rates.allow(_peer_address(session)):
            REFUSED.labels("rate_limited").inc()
            return "450 4.7.1 Too many messages from your address; try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        assert isinstance(envelope, InboundEnvelope)
        if len(envelope.rcpt_tos) >= self.context.max_recipients:
            REFUSED.labels("too_many_recipients").inc()
            return "452 4.5.3 Too many recipients"
        found = await service.message_of(
            self.context.db,
            address,
            domain=self.context.domain,
            message_id_domains=self.context.message_id_domains,
            keys=self.context.keys,
        )
        if isinstance(found, service.Refusal):
            REFUSED.labels(found.value).inc()
            if found is service.Refusal.OTHER_DOMAIN:
                return "550 5.7.1 Relaying denied: this server takes mail for its own domain only"
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        envelope.messages[found["_id"]] = found
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope, InboundEnvelope)
        raw = envelope.original_content or b""
        try:
            report = await asyncio.to_thread(parse_report, raw)
        except UnreadableReport as exc:
            REFUSED.labels("unreadable_report").inc()
            log.info(
                "unreadable report", extra=log_fields(peer=_peer_address(session), error=str(exc))
            )
            return "554 5.6.0 This report cannot be read"
        if report is None:
            ACCEPTED.labels("not_a_report").inc()
            return "250 2.0.0 Accepted (not a delivery or feedback report: dropped)"
        for message in envelope.messages.values():
            await self._record(message, report)
        kind = "delivery_status" if isinstance(report, DeliveryReport) else "feedback_report"
        ACCEPTED.labels(kind).inc()
        return "250 2.0.0 Report recorded"

    async def _record(
        self, message: MessageDocument, report: DeliveryReport | FeedbackReport
    ) -> None:
        db = self.context.db
        if isinstance(report, DeliveryReport):
            recorded = await flows.record_delivery_report(db, message, report)
            for action in recorded.actions:
                DSN_RECIPIENTS.labels(action if action in KNOWN_ACTIONS else "other").inc()
            SUPPRESSED.labels("bounce").inc(recorded.suppressed)
        else:
            recorded = await flows.record_feedback_report(db, message, report)
            kind = report.feedback_type
            FEEDBACK_REPORTS.labels(kind if kind in KNOWN_FEEDBACK else "unknown").inc()
            SUPPRESSED.labels("complaint").inc(recorded.suppressed)
        if recorded.bounced:
            BOUNCED.inc()
        log.info(
            "report recorded",
            extra=log_fields(
                message_id=message["_id"],
                account_id=message["account_id"],
                report_id=report.report_id,
                actions=",".join(recorded.actions),
                unmatched=recorded.unmatched,
                bounced=recorded.bounced,
                suppressed=recorded.suppressed,
            ),
        )

    async def handle_exception(self, error: Exception) -> str:
        REFUSED.labels("error").inc()
        log.error("inbound SMTP error; answered 451", extra=log_fields(error=repr(error)[:500]))
        return "451 4.3.0 Temporary failure; try again later"


class BoundedSMTP(SMTP):
    """aiosmtpd's protocol with the connection bounds applied before the greeting."""

    def __init__(self, handler: InboundHandler, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(handler, **options)
        self._limits = limits
        self._counted: str | None = None
        self._refused = False

    def _create_envelope(self) -> Envelope:
        return InboundEnvelope()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._counted is None:  # not the second call after STARTTLS
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
            refusal = self._limits.open(address)
            if refusal is not None:
                REFUSED.labels(refusal.value).inc()
                self._refused = True
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(b"421 4.7.0 Too many connections; try again later\r\n")
                transport.close()
                return
            self._counted = address
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._counted is not None:
            self._limits.close(self._counted)
            self._counted = None
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552"):
            REFUSED.labels("too_large").inc()
        await super().push(status)


async def start_server(
    context: InboundContext,
    limits: ConnectionLimits,
    *,
    host: str,
    port: int,
    hostname: str,
    max_message_bytes: int,
    timeout: float,
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = InboundHandler(context)

    def protocol() -> BoundedSMTP:
        return BoundedSMTP(
            handler,
            limits,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="MailPass inbound",
            timeout=timeout,
            loop=loop,
        )

    return await loop.create_server(protocol, host, port)
