"""Delivery status notifications (RFC 3464) and abuse reports (ARF, RFC 5965) out of the
bytes a remote server sent: hostile input, read within bounds.

Only a top-level ``multipart/report`` is a report: ``report-type=delivery-status`` with a
``message/delivery-status`` part (its per-recipient blocks: ``Final-Recipient``,
``Original-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``, ``Remote-MTA``), or
``report-type=feedback-report`` with a ``message/feedback-report`` part
(``Feedback-Type``, ``Original-Rcpt-To``, ``User-Agent``). Anything else (an
out-of-office reply to the return path, a challenge-response robot) is not a report and
is dropped without a bounce of its own. The original message, attached or not, is never
read: the return path already names the message.

Bounds: the message is already within ``INBOUND_MAX_MESSAGE_BYTES``; at most
:data:`MAX_PARTS` parts are looked at, :data:`MAX_RECIPIENTS` recipient blocks taken, and
every value cut to :data:`MAX_FIELD_CHARS`. Whatever the parser raises on a broken
report (deep nesting, bad encodings) becomes :class:`UnreadableReport`.
"""

from __future__ import annotations

import base64
import email
import hashlib
import quopri
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32

MAX_PARTS = 50
MAX_RECIPIENTS = 100
MAX_FIELD_CHARS = 500
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_ENHANCED_IN_TEXT = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESS = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,255}$")


class UnreadableReport(Exception):
    """A ``multipart/report`` this parser cannot read (the text says why)."""


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a delivery status notification."""

    final_recipient: str
    original_recipient: str | None
    action: str  # failed, delayed, delivered, relayed, expanded (lower case)
    status: str  # the enhanced status code, e.g. 5.1.1; "" when it has none
    diagnostic: str  # the remote server's reply (Diagnostic-Code), else the status
    remote_mta: str

    @property
    def hard(self) -> bool:
        """A permanent failure (5.x.x): the address is not worth sending to again."""
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class DeliveryReport:
    report_id: str  # the report's Message-ID, else a digest of its bytes
    reporting_mta: str
    recipients: tuple[RecipientStatus, ...]


@dataclass(frozen=True)
class FeedbackReport:
    report_id: str
    feedback_type: str  # abuse, fraud, virus, other, not-spam, auth-failure (lower case)
    original_recipients: tuple[str, ...]
    user_agent: str

    @property
    def complaint(self) -> bool:
        """A recipient said they did not want the message (not-spam, auth-failure: no)."""
        return self.feedback_type in ("abuse", "fraud", "virus", "other")


Report = DeliveryReport | FeedbackReport


def parse_report(raw: bytes) -> Report | None:
    """The report in ``raw``; None when it is not a report; :class:`UnreadableReport`
    when it says it is one but cannot be read."""
    try:
        message = email.message_from_bytes(raw, policy=compat32)
        if message.get_content_type() != "multipart/report":
            return None
        kind = str(message.get_param("report-type", "") or "").lower()
        report_id = _clean(message.get("Message-ID")) or hashlib.sha256(raw).hexdigest()
        if kind == "delivery-status":
            return _delivery_report(message, report_id)
        if kind == "feedback-report":
            return _feedback_report(message, report_id)
        return None
    except UnreadableReport:
        raise
    except Exception as exc:  # the parser on hostile bytes: RecursionError, LookupError...
        raise UnreadableReport(f"{type(exc).__name__}: {exc}"[:MAX_FIELD_CHARS]) from exc


def _part(message: Message, content_type: str) -> Message:
    parts = message.get_payload()
    if not isinstance(parts, list):
        raise UnreadableReport("the report has no parts")
    for part in parts[:MAX_PARTS]:
        if isinstance(part, Message) and part.get_content_type() == content_type:
            return part
    raise UnreadableReport(f"the report has no {content_type} part")


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part (per message, then per
    recipient) or a ``message/feedback-report`` part (one): as the email package parsed
    them, or read here from the decoded text when it could not (an encoded part)."""
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list) and payload and all(isinstance(p, Message) for p in payload):
        if encoding not in ("base64", "quoted-printable"):
            return list(payload[: MAX_RECIPIENTS + 1])
        # Encoded (which RFC 2046 forbids on message/*, and some servers do): the
        # package took the encoded text for a block without headers.
        payload = "".join(
            str(p.get_payload()) for p in payload[:MAX_PARTS] if isinstance(p, Message)
        )
    text = str(payload)
    if encoding == "base64":
        text = base64.b64decode(text.encode("ascii", "ignore")).decode("utf-8", "replace")
    elif encoding == "quoted-printable":
        text = quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    chunks = [c for c in re.split(r"\r?\n[ \t]*\r?\n", text.strip()) if c.strip()]
    if not chunks:
        raise UnreadableReport(f"the {part.get_content_type()} part is empty")
    return [email.message_from_string(c, policy=compat32) for c in chunks[: MAX_RECIPIENTS + 1]]


def _clean(value: object) -> str:
    """A header value unfolded, single-spaced and cut: what is stored and shown."""
    if value is None:
        return ""
    return " ".join(str(value).split())[:MAX_FIELD_CHARS]


def _typed(value: object) -> str:
    """The value of a typed field (``rfc822; ann@example.com``, ``dns; mx.example.com``)."""
    text = _clean(value)
    kind, sep, rest = text.partition(";")
    return (rest if sep else kind).strip().strip("<>").strip()


def _address(value: object) -> str | None:
    address = _typed(value)
    return address if _ADDRESS.match(address) else None


def _status(block: Message, diagnostic: str) -> str:
    found = _STATUS.match(_clean(block.get("Status")))
    found = found or _ENHANCED_IN_TEXT.search(diagnostic)
    return ".".join(found.groups()) if found else ""


def _delivery_report(message: Message, report_id: str) -> DeliveryReport:
    blocks = _blocks(_part(message, "message/delivery-status"))
    # The per-message block comes first; a report that left it out still counts.
    per_message = blocks[0] if "Final-Recipient" not in blocks[0] else Message()
    recipients: list[RecipientStatus] = []
    for block in blocks:
        if len(recipients) == MAX_RECIPIENTS:
            break
        final = _address(block.get("Final-Recipient"))
        action = _clean(block.get("Action")).lower().split(" ")[0]
        if final is None or not action:
            continue
        diagnostic = _typed(block.get("Diagnostic-Code")) or _clean(
            block.get("X-Exim-Diagnostic") or block.get("Status")
        )
        status = _status(block, diagnostic)
        recipients.append(
            RecipientStatus(
                final_recipient=final,
                original_recipient=_address(block.get("Original-Recipient")),
                action=action,
                status=status,
                diagnostic=diagnostic or status or action,
                remote_mta=_typed(block.get("Remote-MTA")),
            )
        )
    if not recipients:
        raise UnreadableReport("the delivery-status part names no recipient with an action")
    return DeliveryReport(report_id, _typed(per_message.get("Reporting-MTA")), tuple(recipients))


def _feedback_report(message: Message, report_id: str) -> FeedbackReport:
    fields = _blocks(_part(message, "message/feedback-report"))[0]
    feedback_type = _clean(fields.get("Feedback-Type")).lower()
    if not feedback_type:
        raise UnreadableReport("the feedback report has no Feedback-Type")
    recipients = [_address(v) for v in (fields.get_all("Original-Rcpt-To") or [])]
    return FeedbackReport(
        report_id=report_id,
        feedback_type=feedback_type,
        original_recipients=tuple(r for r in recipients[:MAX_RECIPIENTS] if r),
        user_agent=_clean(fields.get("User-Agent")),
    )
