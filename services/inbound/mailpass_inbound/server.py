"""The SMTP side: the handler behind :mod:`mailpass_common.smtp_server` (which keeps the
connection bounds: ``INBOUND_MAX_CONNECTIONS`` and the per-address one, 421 4.7.0).

Replies, and when:

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
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from aiosmtpd.smtp import Envelope, Session

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.smtp_server import ServedSMTP
from mailpass_inbound import flows, service
from mailpass_inbound.limits import RateLimits
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


class InboundHandler:
    """aiosmtpd's hooks (``handle_*``), each answering with the reply to send."""

    def __init__(self, context: InboundContext) -> None:
        self.context = context
        # The messages each transaction's recipients name (gone with the envelope).
        self._messages: weakref.WeakKeyDictionary[Envelope, dict[str, MessageDocument]] = (
            weakref.WeakKeyDictionary()
        )

    async def handle_MAIL(
        self,
        server: ServedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if not self.context.rates.allow(server.client):
            REFUSED.labels("rate_limited").inc()
            return "450 4.7.1 Too many messages from your address; try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: ServedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
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
        self._messages.setdefault(envelope, {})[found["_id"]] = found
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: ServedSMTP, session: Session, envelope: Envelope) -> str:
        messages = self._messages.pop(envelope, {})
        raw = envelope.original_content or b""
        try:
            report = await asyncio.to_thread(parse_report, raw)
        except UnreadableReport as exc:
            REFUSED.labels("unreadable_report").inc()
            log.info("unreadable report", extra=log_fields(client=server.client, error=str(exc)))
            return "554 5.6.0 This report cannot be read"
        if report is None:
            ACCEPTED.labels("not_a_report").inc()
            return "250 2.0.0 Accepted (not a delivery or feedback report: dropped)"
        for message in messages.values():
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
