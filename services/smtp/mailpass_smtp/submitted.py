"""A message as it came over SMTP, checked and read for what MailPass records of it.

What is delivered is the message itself (:func:`mailpass_smtp.headers.deliverable`):
these readings only fill the message document (From, recipients, Subject, the text and
HTML shown in the console and the status, the attachments' descriptions) and apply the
API's rules to it: a From address that parses, no executable attachment, tags and
metadata of the API's shapes. Structure the parser had to repair (a multipart without
its boundary, an unterminated part, broken base64 in an attachment) is refused, as is a
message of more than ``MAX_PARTS`` parts or ``MAX_DEPTH`` levels of nesting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from mailpass_common.messages import attachments, labels
from mailpass_common.messages.validation import email_address, header_text
from mailpass_smtp.headers import HeaderSection
from mailpass_smtp.refusals import Refused, malformed

MAX_PARTS = 500
MAX_DEPTH = 20
MAX_SHOWN_CHARS = 512 * 1024  # the text and HTML kept for the console, as the API's cap
_STRUCTURAL = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.InvalidMultipartContentTransferEncodingDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
    email_errors.InvalidBase64CharactersDefect,
    email_errors.InvalidBase64PaddingDefect,
    email_errors.InvalidBase64LengthDefect,
)


@dataclass
class Reading:
    from_email: str
    from_name: str | None
    subject: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None
    text: str | None = None
    html: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def _addresses(value: str | None) -> list[str]:
    found = []
    for _, address in getaddresses([value or ""]):
        try:
            found.append(email_address(address))
        except ValueError:
            continue  # a group name, "undisclosed-recipients:;"...: not an address
    return found


def _from(value: str | None) -> tuple[str, str | None]:
    if value is None:
        raise Refused("550 5.1.7 Message refused: it has no From header", "from_invalid")
    pairs = getaddresses([value])
    if len(pairs) != 1:
        raise Refused("550 5.1.7 Message refused: From names more than one mailbox", "from_invalid")
    name, address = pairs[0]
    try:
        return email_address(address), header_text(name) or None
    except ValueError as exc:
        raise Refused(f"550 5.1.7 Message refused: From: {exc}", "from_invalid") from None


def _tags(value: str | None) -> list[str]:
    if value is None:
        return []
    try:
        return labels.tags([t.strip() for t in value.split(",") if t.strip()])
    except ValueError as exc:
        raise malformed(f"X-MailPass-Tags: {exc}") from None


def _metadata(value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        raise malformed("X-MailPass-Metadata is not JSON") from None
    if not isinstance(parsed, dict):
        raise malformed("X-MailPass-Metadata must be a JSON object")
    try:
        return labels.metadata(parsed)
    except ValueError as exc:
        raise malformed(f"X-MailPass-Metadata: {exc}") from None


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError):  # an unknown or lying charset: shown with �
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return str(content).replace("\r\n", "\n")[:MAX_SHOWN_CHARS]


def _walk(message: Message, reading: Reading, allow_executables: bool) -> None:
    count = 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > MAX_PARTS or depth > MAX_DEPTH:
            raise malformed(f"more than {MAX_PARTS} parts or {MAX_DEPTH} levels of nesting")
        if any(isinstance(d, _STRUCTURAL) for d in part.defects):
            defect = next(d for d in part.defects if isinstance(d, _STRUCTURAL))
            raise malformed(f"malformed MIME ({type(defect).__name__})")
        if part.is_multipart():
            children = part.get_payload()
            assert isinstance(children, list)
            stack.extend(
                (child, depth + 1) for child in reversed(children) if isinstance(child, Message)
            )
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if (
            disposition != "attachment"
            and filename is None
            and content_type
            in (
                "text/plain",
                "text/html",
            )
        ):
            if content_type == "text/plain" and reading.text is None:
                reading.text = _text_of(part)
            elif content_type == "text/html" and reading.html is None:
                reading.html = _text_of(part)
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if any(isinstance(d, _STRUCTURAL) for d in part.defects):
            raise malformed(f"an attachment's encoding is broken ({filename or content_type})")
        name = attachments.sanitized_filename(filename or "attachment")
        sign = attachments.executable_sign(name, content_type, data)
        if sign is not None and not allow_executables:
            raise Refused(
                f"550 5.7.1 Message refused: attachment {name}: executable files are "
                f"refused ({sign})",
                "attachment_refused",
            )
        content_id = part.get("Content-ID")
        reading.attachments.append(
            {
                "filename": name,
                "content_type": content_type,
                "content_id": str(content_id).strip().strip("<>") if content_id else None,
                "size": len(data),
            }
        )


def read_message(raw: bytes, section: HeaderSection, *, allow_executables: bool) -> Reading:
    """What the document records of the message; raises :class:`Refused`."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    try:
        from_email, from_name = _from(_decoded(message, "From"))
        subject = header_text(_decoded(message, "Subject") or "")
    except ValueError as exc:
        raise malformed(f"Subject: {exc}") from None
    reply_to = next(iter(_addresses(_decoded(message, "Reply-To"))), None)
    reading = Reading(
        from_email=from_email,
        from_name=from_name,
        subject=subject,
        to=_addresses(_decoded(message, "To")),
        cc=_addresses(_decoded(message, "Cc")),
        reply_to=reply_to,
        tags=_tags(section.value("x-mailpass-tags")),
        metadata=_metadata(section.value("x-mailpass-metadata")),
    )
    _walk(message, reading, allow_executables)
    return reading


def _decoded(message: EmailMessage, name: str) -> str | None:
    """A header's value with RFC 2047 words decoded; a header the parser cannot read is
    malformed."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError) as exc:
        raise malformed(f"the {name} header cannot be read ({exc})") from None
    return None if value is None else str(value)
