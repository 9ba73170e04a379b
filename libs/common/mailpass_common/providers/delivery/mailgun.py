"""Mailgun delivery through the messages API with httpx.

Why ``POST /v3/{domain}/messages.mime`` and not ``/messages``: with ``/messages`` Mailgun
builds the MIME and assigns its own Message-ID, so replies and bounces would refer to an
id we never stored, and the message would differ from what SMTP providers deliver. With
``messages.mime`` we upload the MIME we built (``message`` file) and Mailgun delivers it
as it is, Message-ID, tracked links and headers included; ``to`` carries the envelope
recipients, which is the only place Bcc can be. Tags and metadata still travel as the
``o:tag`` and ``v:`` options, which this endpoint accepts, so Mailgun's events carry them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.base import (
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    reply_text,
)
from mailpass_common.providers.delivery.http import HttpApiProvider

if TYPE_CHECKING:
    from mailpass_common.providers.types.mailgun import MailgunConfig

DEFAULT_BASE_URL = "https://api.mailgun.net"  # EU accounts: https://api.eu.mailgun.net


def build_form(email: OutgoingEmail) -> dict[str, list[str]]:
    """The form fields besides the ``message`` file; a list is sent as repeated fields."""
    form = {"to": list(dict.fromkeys(email.recipients))}
    if email.tags:
        form["o:tag"] = list(dict.fromkeys(email.tags))
    form.update({f"v:{key}": [str(value)] for key, value in email.metadata.items()})
    return form


class MailgunProvider(HttpApiProvider):
    type = "mailgun"
    api_name = "Mailgun"

    def __init__(
        self, config: MailgunConfig, *, egress: EgressPolicy, api_hosts: tuple[str, ...]
    ) -> None:
        self._domain = config.domain
        super().__init__(
            base_url=config.base_url,
            timeout=config.timeout,
            default_base_url=DEFAULT_BASE_URL,
            api_hosts=api_hosts,
            egress=egress,
            auth=httpx.BasicAuth("api", config.api_key),
        )

    def error_detail(self, response: httpx.Response) -> str:
        """Mailgun answers errors with ``{"message": "..."}``; its plain-text answers
        (``Forbidden``) say no more than the status line, which stands in for them."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
        return super().error_detail(response)

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        mime = mime
        response = await self._request(
            "POST",
            f"/v3/{self._domain}/messages.mime",
            data=build_form(email),
            # A file part, as in the reference's `curl -F message=@message.mime` example.
            files={"message": ("message.mime", mime, "application/octet-stream")},
        )
        if response.status_code != 200:
            raise self.failure(response)
        try:
            body = response.json()
        except ValueError:
            body = {}
        message_id = body.get("id") if isinstance(body, dict) else None
        reply = body.get("message") if isinstance(body, dict) else None
        return DeliveryResult(
            provider_message_id=str(message_id) if message_id else None,
            reply=f"Mailgun: {reply_text(str(reply or 'accepted'))}",
        )

    async def check(self) -> None:
        """``GET /v4/domains/{domain}`` proves the key and that the domain may send.

        The v3 domain endpoints are deprecated in Mailgun's reference in favour of v4.
        """
        response = await self._request("GET", f"/v4/domains/{self._domain}")
        if response.status_code != 200:
            raise self.failure(response)
        try:
            state = response.json()["domain"].get("state")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TemporaryDeliveryError("Mailgun returned an unreadable domain") from exc
        # "unverified" domains are refused for sending and "disabled" ones are blocked.
        if state != "active":
            raise PermanentDeliveryError(f"Mailgun domain {self._domain} is {state}, not active")
