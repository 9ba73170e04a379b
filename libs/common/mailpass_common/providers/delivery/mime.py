"""The RFC 5322 message every provider but SendGrid hands on as it is.

Written directly, not through ``email.message.EmailMessage``: the stdlib's header registry
re-parses every header it is given into a token tree, which made building a message half
of a sender's CPU. What a MailPass message holds is small and fixed, so each piece is
written by the rule that governs it:

- addresses: the domain in IDNA (``xn--``) form; a display name as an atom, a quoted
  string, or an RFC 2047 encoded word when it is not ASCII; a non-ASCII local part stays
  UTF-8, which only an SMTPUTF8 transaction may carry (:func:`needs_smtputf8`);
- the subject: folded at spaces below 78 characters, or encoded words when not ASCII;
- bodies: UTF-8, ``7bit`` when they are ASCII with short lines, else quoted-printable
  (C-accelerated by binascii); ``multipart/alternative`` (text first) when both are given;
- attachments: base64 in 76-character lines; inline ones (a ``Content-ID``) beside the
  bodies in ``multipart/related``, the others around it all in ``multipart/mixed``
  (RFC 2387, RFC 2046); filenames as quoted strings, or RFC 2231 when not ASCII;
- CRLF line ends everywhere; Bcc never in a header (it is only in the envelope).

Every header value is checked once more here: a character that cannot go into a header
raises ``ValueError``, which fails that message alone (see the sender's flows).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
import urllib.parse
from email.header import Header
from email.utils import formatdate

import idna

from mailpass_common.messages.attachments import Attachment
from mailpass_common.messages.validation import UNFIT_FOR_HEADER
from mailpass_common.providers.delivery.base import OutgoingEmail
from mailpass_common.unsubscribe.links import ONE_CLICK

CRLF = "\r\n"
MAX_LINE = 78
MAX_WIRE_LINE = 998
_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")


def _checked(value: str, what: str) -> str:
    if UNFIT_FOR_HEADER.search(value):
        raise ValueError(f"{what} contains a character that cannot go into a header")
    return value


@functools.lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str:
    """A domain as it travels in headers and the SMTP envelope: IDNA A-labels."""
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"the domain {domain!r} cannot be encoded with IDNA: {exc}") from exc


def wire_address(address: str) -> str:
    """``local@domain`` with the domain in IDNA form (the local part is kept as it is)."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def needs_smtputf8(email: OutgoingEmail) -> bool:
    """Whether an address has a non-ASCII local part (RFC 6531: SMTPUTF8 only)."""
    addresses = [email.from_email, *email.recipients]
    if email.reply_to:
        addresses.append(email.reply_to)
    return any(not address.rpartition("@")[0].isascii() for address in addresses)


def _encoded_word(value: str, header_name: str) -> str:
    return Header(value, "utf-8", header_name=header_name).encode(linesep=CRLF)


def _mailbox(address: str, name: str | None, header_name: str) -> str:
    address = wire_address(_checked(address, "an address"))
    if not name:
        return address
    _checked(name, "a display name")
    if not name.isascii():
        return f"{_encoded_word(name, header_name)} <{address}>"
    if _ATOM.match(name):
        return f"{name} <{address}>"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def _address_list(name: str, mailboxes: list[str]) -> str:
    """``Name: a, b, c`` folded between addresses to keep lines short."""
    lines = [f"{name}: {mailboxes[0]}"]
    for mailbox in mailboxes[1:]:
        if len(lines[-1]) + 2 + len(mailbox) > MAX_LINE:
            lines[-1] += ","
            lines.append(f" {mailbox}")
        else:
            lines[-1] += f", {mailbox}"
    return CRLF.join(lines)


def _unstructured(name: str, value: str) -> str:
    _checked(value, name)
    if not value.isascii():
        return f"{name}: {_encoded_word(value, name)}"
    # Folded before a space: a reader unfolds by dropping the CRLF, so the text is kept.
    first, *rest = value.split(" ")
    lines = [f"{name}: {first}"]
    for word in rest:
        if len(lines[-1]) + 1 + len(word) > MAX_LINE:
            lines.append(f" {word}")
        else:
            lines[-1] += f" {word}"
    return CRLF.join(lines)


def _body(text: str, subtype: str) -> tuple[str, bytes]:
    """(Content-* headers, encoded body with CRLF line ends) for one text part."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    raw = normalized.encode("utf-8")
    lines = normalized.split("\n")
    if raw.isascii() and all(len(line) <= MAX_WIRE_LINE for line in lines):
        encoding, body = "7bit", raw
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(raw, quotetabs=False, istext=True, header=False)
    headers = (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {encoding}'
    )
    return headers, body.replace(b"\n", b"\r\n")


def render(email: OutgoingEmail) -> bytes:
    """The whole message, headers and body, as it goes on the wire."""
    headers = [
        f"Message-ID: {_checked(email.message_id, 'the message id')}",
        f"Date: {formatdate(usegmt=True)}",
        _address_list("From", [_mailbox(email.from_email, email.from_name, "From")]),
        _address_list("To", [_mailbox(email.to, None, "To")]),
    ]
    if email.cc:
        headers.append(_address_list("Cc", [_mailbox(a, None, "Cc") for a in email.cc]))
    if email.reply_to:
        headers.append(_address_list("Reply-To", [_mailbox(email.reply_to, None, "Reply-To")]))
    headers.append(_unstructured("Subject", email.subject))
    if email.tags:
        headers.append(_unstructured("X-MailPass-Tags", ", ".join(email.tags)))
    if email.list_unsubscribe:
        headers += _list_unsubscribe(email.list_unsubscribe)
    headers.append("MIME-Version: 1.0")

    parts = []
    if email.text is not None:
        parts.append(_body(email.text, "plain"))
    if email.html is not None:
        parts.append(_body(email.html, "html"))
    if not parts:
        parts.append(_body("", "plain"))
    head = CRLF.join(headers).encode("utf-8")
    bodies = [body for _, body in parts]
    if len(parts) == 1:
        part_headers, body = parts[0]
        entity = [f"{part_headers}{CRLF}{CRLF}".encode(), body]
    else:
        entity = _multipart(
            "alternative", [[f"{h}{CRLF}{CRLF}".encode(), b] for h, b in parts], bodies
        )
    inline = [a for a in email.attachments if a.content_id]
    attached = [a for a in email.attachments if not a.content_id]
    if inline:
        entity = _multipart("related", [entity, *(_attachment(a) for a in inline)], bodies)
    if attached:
        entity = _multipart("mixed", [entity, *(_attachment(a) for a in attached)], bodies)
    return b"".join([head, CRLF.encode(), *entity])


def _list_unsubscribe(value: str) -> list[str]:
    """RFC 8058's pair, in the message itself, so whatever signs it (DKIM) covers both.
    The value's URIs (``<...>, <...>``) go one to a line: each is too long to fold."""
    _checked(value, "List-Unsubscribe")
    uris = [uri.strip() for uri in value.split(",")]
    return [
        f"List-Unsubscribe: {(',' + CRLF + ' ').join(uris)}",
        f"List-Unsubscribe-Post: {ONE_CLICK}",
    ]


def _multipart(subtype: str, entities: list[list[bytes]], bodies: list[bytes]) -> list[bytes]:
    """A multipart entity (its Content-Type, then its parts) as a list of byte strings,
    joined once at the end: a 10 MiB attachment is copied as few times as possible."""
    boundary = _boundary(bodies)
    out = [f'Content-Type: multipart/{subtype};{CRLF} boundary="{boundary}"{CRLF}'.encode()]
    for entity in entities:
        out.append(f"{CRLF}--{boundary}{CRLF}".encode())
        out += entity
    out.append(f"{CRLF}--{boundary}--{CRLF}".encode())
    return out


def _parameter(name: str, value: str) -> str:
    """A Content-Type or Content-Disposition parameter: quoted, or RFC 2231 when the value
    is not ASCII (or holds what a quoted string cannot)."""
    _checked(value, "a filename")
    if value.isascii() and '"' not in value and "\\" not in value:
        return f'{name}="{value}"'
    return f"{name}*=utf-8''{urllib.parse.quote(value, safe='')}"


def _attachment(attachment: Attachment) -> list[bytes]:
    disposition = "inline" if attachment.content_id else "attachment"
    headers = [
        f"Content-Type: {attachment.content_type};{CRLF} {_parameter('name', attachment.filename)}",
        "Content-Transfer-Encoding: base64",
        f"Content-Disposition: {disposition};{CRLF} {_parameter('filename', attachment.filename)}",
    ]
    if attachment.content_id:
        headers.append(f"Content-ID: <{_checked(attachment.content_id, 'a content id')}>")
    encoded = base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")
    return [f"{CRLF.join(headers)}{CRLF}{CRLF}".encode(), encoded]


def _boundary(bodies: list[bytes]) -> str:
    while True:
        # "=_" cannot occur in quoted-printable text; the random part makes a 7bit
        # body containing it all but impossible, and the check makes it impossible.
        boundary = f"=_mailpass_{secrets.token_hex(12)}"
        if not any(boundary.encode() in body for body in bodies):
            return boundary
