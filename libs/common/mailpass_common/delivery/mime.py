"""Builds the RFC 5322 message every provider but SendGrid hands on as it is."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from mailpass_common.delivery.base import OutgoingEmail


def _address(email: str, name: str | None = None) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


def build_mime(email: OutgoingEmail) -> EmailMessage:
    """multipart/alternative when both bodies are given; Bcc stays out of the headers."""
    msg = EmailMessage()
    msg["Message-ID"] = email.message_id
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["From"] = _address(email.from_email, email.from_name)
    msg["To"] = _address(email.to)
    if email.cc:
        msg["Cc"] = [_address(a) for a in email.cc]
    if email.reply_to:
        msg["Reply-To"] = _address(email.reply_to)
    msg["Subject"] = email.subject
    if email.tags:
        msg["X-MailPass-Tags"] = ", ".join(email.tags)
    if email.text is not None and email.html is not None:
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
    elif email.html is not None:
        msg.set_content(email.html, subtype="html")
    else:
        msg.set_content(email.text or "")
    return msg


def render(email: OutgoingEmail) -> bytes:
    """The message as bytes on the wire (CRLF line ends), built once per delivery."""
    message = build_mime(email)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
