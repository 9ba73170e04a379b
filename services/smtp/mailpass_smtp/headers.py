"""The header section of a submitted message, read line by line before anything parses it.

Python's email parser is lenient by design: it repairs what it can and notes a defect.
Submission must not be: what MailPass relays under a tenant's name must be exactly what
the tenant's application wrote, and a header section that parsers read differently is
how header injection and SMTP smuggling get through. So these checks come first, on the
bytes, and refuse (554 5.6.0):

- a bare CR or LF anywhere (RFC 5322 §2.3; a relay reading a bare LF as a line end is
  what SMTP smuggling exploits), or a NUL byte;
- a header line that is neither ``name: value`` nor a continuation of one, or a section
  that starts with a continuation;
- a header that may appear once (From, To, Subject, Message-ID...) appearing twice: two
  Subject or two Bcc headers are the classic sign of injected headers;
- header bytes that are not UTF-8 (RFC 6532 allows UTF-8, nothing else unencoded).

Then the edits that make it ready to deliver, on the bytes, so everything else is kept
as it came: ``Bcc`` (envelope-only), ``X-MailPass-Tags`` and ``X-MailPass-Metadata``
(read, then removed) are dropped, and ``Message-ID`` and ``Date`` are added when missing
(RFC 6409 §8: a submission server may add them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import formatdate

from mailpass_smtp.refusals import malformed

CRLF = b"\r\n"
FIELD_NAME = re.compile(rb"^[\x21-\x39\x3b-\x7e]{1,200}$")  # RFC 5322 §2.2 ftext
SINGLE = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "x-mailpass-tags",
        "x-mailpass-metadata",
    }
)
REMOVED = frozenset({"bcc", "x-mailpass-tags", "x-mailpass-metadata"})
MAX_HEADERS = 500


@dataclass
class HeaderSection:
    # (lower-case name, the header's raw lines joined, CRLFs included)
    fields: list[tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""

    def value(self, name: str) -> str | None:
        """The unfolded value of a header that appears once, or None."""
        for found, raw in self.fields:
            if found == name:
                text = raw.decode("utf-8").split(":", 1)[1]
                return " ".join(text.replace("\r\n", "").split())
        return None

    def has(self, name: str) -> bool:
        return any(found == name for found, _ in self.fields)


def read_header_section(raw: bytes) -> HeaderSection:
    """The checked header fields and the body (checks: module docstring)."""
    if b"\x00" in raw:
        raise malformed("it contains a NUL byte")
    # Every line the server read ends with CRLF: any other CR or LF is bare.
    if raw.count(b"\n") != raw.count(CRLF) or raw.count(b"\r") != raw.count(CRLF):
        raise malformed("bare CR or LF (lines must end with CRLF, RFC 5322 section 2.3)")
    end = raw.find(CRLF + CRLF)
    if raw.startswith(CRLF):
        head, body = b"", raw[2:]
    elif end == -1:
        head, body = raw.removesuffix(CRLF), b""
    else:
        head, body = raw[:end], raw[end + 4 :]
    section = HeaderSection(body=body)
    if not head:
        raise malformed("it has no header section")
    seen: set[str] = set()
    for line in head.split(CRLF):
        if line[:1] in (b" ", b"\t"):
            if not section.fields:
                raise malformed("the header section starts with a continuation line")
            name, raw_field = section.fields[-1]
            section.fields[-1] = (name, raw_field + CRLF + line)
            continue
        name_bytes, colon, _ = line.partition(b":")
        if not colon or not FIELD_NAME.match(name_bytes.rstrip(b" \t")):
            shown = line[:60].decode("ascii", "replace")
            raise malformed(f"a header line is not 'Name: value' ({shown!r})")
        name = name_bytes.rstrip(b" \t").decode("ascii").lower()
        if name in SINGLE and name in seen:
            raise malformed(f"the {name_bytes.decode('ascii')} header appears twice")
        seen.add(name)
        section.fields.append((name, line))
        if len(section.fields) > MAX_HEADERS:
            raise malformed(f"more than {MAX_HEADERS} header fields")
    for _, raw_field in section.fields:
        try:
            raw_field.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed("a header holds bytes that are not UTF-8") from None
    return section


def deliverable(section: HeaderSection, message_id: str) -> tuple[bytes, str]:
    """The message as it is delivered, and the Message-ID it carries (its own, or
    ``message_id`` added)."""
    added: list[bytes] = []
    own = section.value("message-id")
    if own is None:
        added.append(f"Message-ID: {message_id}".encode())
    if not section.has("date"):
        added.append(f"Date: {formatdate(usegmt=True)}".encode())
    kept = [raw for name, raw in section.fields if name not in REMOVED]
    head = CRLF.join(added + kept)
    return head + CRLF + CRLF + section.body, own or message_id
