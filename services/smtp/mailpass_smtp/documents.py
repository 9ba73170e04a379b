"""The message document of a submitted message: the API's document, with the message
itself (its deliverable bytes) as the stored body in place of html/text rendering.

``raw_mime_bytes`` marks it: the sender delivers the stored bytes as they are
(``body_chunks`` chunks in ``message_bodies``), never a message built from the fields.
The fields are what the console, the status endpoint, webhooks and the retention sweep
read: From as the message says, the envelope's recipients split the way its headers
name them (To, Cc; the others are Bcc, envelope-only), the Subject, the first text and
HTML parts as read (for display), and the attachments' descriptions.
"""

from __future__ import annotations

from mailpass_common.messages.models import MessageDocument, new_message
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_smtp.submitted import Reading


def split_recipients(recipients: list[str], reading: Reading) -> tuple[str, list[str], list[str]]:
    """(to, cc, bcc) of the envelope's recipients: ``to`` the first one the To header
    names (else the first the Cc header names, else the first), ``cc`` the others the
    headers name, ``bcc`` those they do not."""
    named_to = {a.lower() for a in reading.to}
    named = named_to | {a.lower() for a in reading.cc}
    to = next(
        (r for r in recipients if r.lower() in named_to),
        next((r for r in recipients if r.lower() in named), recipients[0]),
    )
    others = [r for r in recipients if r != to]
    return (
        to,
        [r for r in others if r.lower() in named],
        [r for r in others if r.lower() not in named],
    )


def submitted_message(
    message_id: str,
    *,
    key: ApiKeyRecord,
    provider: ProviderDocument,
    reading: Reading,
    recipients: list[str],
    size: int,
) -> MessageDocument:
    to, cc, bcc = split_recipients(recipients, reading)
    doc = new_message(
        message_id=message_id,
        account_id=key.account_id,
        kind=MessageKind.IMMEDIATE,
        sandbox=key.test,
        provider_id=provider["_id"],
        from_email=reading.from_email,
        from_name=reading.from_name,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reading.reply_to,
        subject=reading.subject,
        html=reading.html,
        text=reading.text,
        tags=reading.tags,
        metadata=reading.metadata,
        # Delivered as it came: no open pixel, no rewritten links (see the README).
        track_opens=False,
        track_clicks=False,
    )
    doc["source"] = "smtp"
    doc["raw_mime_bytes"] = size
    if reading.attachments:
        doc["attachments"] = reading.attachments
    return doc
