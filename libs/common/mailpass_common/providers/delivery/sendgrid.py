"""SendGrid delivery through the v3 Mail Send API (``POST /v3/mail/send``) with httpx.

SendGrid builds the MIME itself from a JSON description, so this module maps an
:class:`OutgoingEmail` onto that JSON: one personalization (one message, all recipients),
``text/plain`` before ``text/html`` as SendGrid requires, metadata as ``custom_args`` and
tags as ``categories`` so both come back on SendGrid's event webhook. Our Message-ID rides
in ``headers``: SendGrid lists the headers it will not let a sender set (x-sg-id,
x-sg-eid, received, dkim-signature, Content-Type, Content-Transfer-Encoding, To, From,
Subject, Reply-To, CC, BCC) and Message-ID is not among them, so replies thread on our id.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import httpx

from mailpass_common.messages.attachments import Attachment
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.base import (
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailpass_common.providers.delivery.http import HttpApiProvider
from mailpass_common.unsubscribe.links import ONE_CLICK

if TYPE_CHECKING:
    from mailpass_common.providers.types.sendgrid import SendgridConfig

DEFAULT_BASE_URL = "https://api.sendgrid.com"
# The scope a key needs to send; check() refuses keys that cannot (e.g. read-only keys).
SEND_SCOPE = "mail.send"


def _unique(addresses: list[str], seen: set[str]) -> list[dict[str, str]]:
    # SendGrid rejects a personalization in which one address appears twice across
    # to, cc and bcc; the address still gets the message once, which is all it needs.
    out: list[dict[str, str]] = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append({"email": address})
    return out


def build_payload(email: OutgoingEmail) -> dict[str, Any]:
    """The Mail Send JSON body for one message."""
    seen: set[str] = set()
    personalization: dict[str, Any] = {"to": _unique([email.to], seen)}
    cc = _unique(list(email.cc), seen)
    bcc = _unique(list(email.bcc), seen)
    if cc:
        personalization["cc"] = cc
    if bcc:
        personalization["bcc"] = bcc

    sender: dict[str, str] = {"email": email.from_email}
    if email.from_name:
        sender["name"] = email.from_name

    content: list[dict[str, str]] = []
    if email.text:
        content.append({"type": "text/plain", "value": email.text})
    if email.html:
        content.append({"type": "text/html", "value": email.html})
    if not content:
        # Each content value must be non-empty; the SMTP path sends an empty body here.
        content.append({"type": "text/plain", "value": " "})

    payload: dict[str, Any] = {
        "personalizations": [personalization],
        "from": sender,
        "subject": email.subject,
        "content": content,
        "headers": {"Message-ID": email.message_id},
    }
    if email.list_unsubscribe:
        payload["headers"]["List-Unsubscribe"] = email.list_unsubscribe
        payload["headers"]["List-Unsubscribe-Post"] = ONE_CLICK
    if email.reply_to:
        payload["reply_to"] = {"email": email.reply_to}
    if email.metadata:
        payload["custom_args"] = {str(k): str(v) for k, v in email.metadata.items()}
    if email.tags:
        payload["categories"] = list(dict.fromkeys(email.tags))  # must be unique
    if email.attachments:
        payload["attachments"] = [_attachment(a) for a in email.attachments]
    return payload


def _attachment(attachment: Attachment) -> dict[str, str]:
    """One entry of Mail Send's ``attachments``: base64 content (no line breaks), and
    ``disposition: inline`` with the ``content_id`` the HTML's ``cid:`` names."""
    entry = {
        "content": base64.b64encode(attachment.data).decode("ascii"),
        "type": attachment.content_type,
        "filename": attachment.filename,
        "disposition": "inline" if attachment.content_id else "attachment",
    }
    if attachment.content_id:
        entry["content_id"] = attachment.content_id
    return entry


class SendGridProvider(HttpApiProvider):
    type = "sendgrid"
    api_name = "SendGrid"

    def __init__(
        self, config: SendgridConfig, *, egress: EgressPolicy, api_hosts: tuple[str, ...]
    ) -> None:
        super().__init__(
            base_url=config.base_url,
            timeout=config.timeout,
            default_base_url=DEFAULT_BASE_URL,
            api_hosts=api_hosts,
            egress=egress,
            headers={"Authorization": f"Bearer {config.api_key}"},
        )

    def error_detail(self, response: httpx.Response) -> str:
        """SendGrid's documented error body is ``{"errors": [{"message", "field", "help"}]}``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        messages: list[str] = []
        if isinstance(body, dict):
            for error in body.get("errors") or []:
                if isinstance(error, dict) and error.get("message"):
                    field = error.get("field")
                    has_field = field and field != "null"
                    messages.append(
                        f"{error['message']} ({field})" if has_field else error["message"]
                    )
        return "; ".join(messages) or super().error_detail(response)

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        if email.as_submitted:
            # Mail Send builds the message from fields: a message submitted over SMTP,
            # with its own headers and parts, would lose them.
            raise PermanentDeliveryError(
                "SendGrid's API cannot send a message as it was submitted over SMTP; "
                "use an SMTP, SES or Mailgun provider for SMTP submission"
            )
        response = await self._request("POST", "/v3/mail/send", json=build_payload(email))
        if response.status_code != 202:
            # 200 only comes back in sandbox mode, which means nothing was sent.
            raise self.failure(response)
        message_id = response.headers.get("X-Message-Id")
        return DeliveryResult(provider_message_id=message_id, reply="SendGrid 202 Accepted")

    async def check(self) -> None:
        """``GET /v3/scopes`` validates the key and lists what it may do."""
        response = await self._request("GET", "/v3/scopes")
        if response.status_code != 200:
            raise self.failure(response)
        try:
            scopes = response.json().get("scopes") or []
        except (ValueError, AttributeError) as exc:
            raise TemporaryDeliveryError("SendGrid returned an unreadable scopes list") from exc
        if SEND_SCOPE not in scopes:
            raise PermanentDeliveryError(f"SendGrid API key lacks the {SEND_SCOPE} scope")
