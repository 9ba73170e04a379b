"""``resend``: Resend's Email API (``POST /emails``), with an API key.

Sending: the message as Resend's JSON (``from``, ``to``, ``cc``, ``bcc``, ``reply_to``,
``html``, ``text``, ``attachments``); metadata and tags become Resend ``tags`` (name and
value limited to ASCII letters, digits, ``_`` and ``-``: others are left out). The
provider test reads ``GET /domains``: a full-access key answers 200, a sending-only key
``401 restricted_api_key``, which proves the key can send; anything else is refused.

Event hook: Resend signs webhooks with Svix, which is the Standard Webhooks scheme under
``svix-*`` header names: HMAC-SHA256 of ``{id}.{timestamp}.{body}`` with the endpoint's
``whsec_`` signing secret, any of the space-separated ``v1,`` signatures matching, the
timestamp within the allowed skew. ``email.bounced`` (a permanent rejection) and
``email.complained`` suppress the addresses in ``data.to``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import Field

from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers import notifications
from mailpass_common.providers.delivery.base import DeliveryResult, OutgoingEmail
from mailpass_common.providers.delivery.http import HttpApiProvider, json_mailbox
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.plugin import (
    ConsoleForm,
    EventHook,
    HookCall,
    ProviderPlugin,
    SignatureInvalid,
)
from mailpass_common.providers.type_config import HttpUrl, Secret, Timeout, TypeConfig
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from mailpass_common.unsubscribe.links import ONE_CLICK
from mailpass_common.webhooks.signing import signature

API_HOSTS = ("api.resend.com",)
DEFAULT_BASE_URL = "https://api.resend.com"
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ResendConfig(TypeConfig):
    SECRETS = ("api_key",)
    api_key: Secret = Field(description="API key (full or sending access), re_…")
    base_url: HttpUrl | None = Field(None, description="https://api.resend.com (default)")
    timeout: Timeout | None = Field(None, description="request timeout in seconds")


def _tags(email: OutgoingEmail) -> list[dict[str, str]]:
    pairs = [
        *((str(k), str(v)) for k, v in email.metadata.items()),
        *((t, "1") for t in email.tags),
    ]
    return [{"name": k, "value": v} for k, v in pairs if _TAG.match(k) and _TAG.match(v)]


def build_payload(email: OutgoingEmail) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "from": json_mailbox(email.from_email, email.from_name),
        "to": [email.to],
        "subject": email.subject,
    }
    if email.cc:
        payload["cc"] = list(email.cc)
    if email.bcc:
        payload["bcc"] = list(email.bcc)
    if email.reply_to:
        payload["reply_to"] = email.reply_to
    if email.list_unsubscribe:
        payload["headers"] = {
            "List-Unsubscribe": email.list_unsubscribe,
            "List-Unsubscribe-Post": ONE_CLICK,
        }
    if email.html:
        payload["html"] = email.html
    if email.text or not email.html:
        payload["text"] = email.text or " "
    tags = _tags(email)
    if tags:
        payload["tags"] = tags
    if email.attachments:
        payload["attachments"] = [
            {
                "filename": a.filename,
                "content": base64.b64encode(a.data).decode("ascii"),
                "content_type": a.content_type,
                **({"content_id": a.content_id} if a.content_id else {}),
            }
            for a in email.attachments
        ]
    return payload


class ResendProvider(HttpApiProvider):
    type = "resend"
    api_name = "Resend"

    def __init__(self, config: ResendConfig, *, egress: EgressPolicy) -> None:
        super().__init__(
            base_url=config.base_url,
            timeout=config.timeout,
            default_base_url=DEFAULT_BASE_URL,
            api_hosts=API_HOSTS,
            egress=egress,
            headers={"Authorization": f"Bearer {config.api_key}"},
        )

    def error_detail(self, response: httpx.Response) -> str:
        """Resend's error body: ``{"statusCode", "name", "message"}``."""
        body = self.json_object(response)
        if body.get("message"):
            return f"{body['message']} ({body.get('name')})"
        return super().error_detail(response)

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        response = await self._request("POST", "/emails", json=build_payload(email))
        if response.status_code != 200:
            raise self.failure(response)
        email_id = self.json_object(response).get("id")
        return DeliveryResult(
            provider_message_id=str(email_id) if email_id else None, reply="Resend 200 OK"
        )

    async def check(self) -> None:
        response = await self._request("GET", "/domains")
        if response.status_code == 200:
            return
        if response.status_code == 401 and self.json_object(response).get("name") == (
            "restricted_api_key"
        ):
            return  # a sending-only key: valid, and allowed to send
        raise self.failure(response)


def build(config: ResendConfig, options: DeliveryOptions) -> ResendProvider:
    return ResendProvider(config, egress=options.egress)


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    def header(name: str) -> str:
        return headers.get(f"svix-{name}") or headers.get(f"webhook-{name}") or ""

    message_id, timestamp = header("id"), header("timestamp")
    notifications.fresh(timestamp)
    try:
        expected = signature(secret, message_id, int(timestamp), body)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("the hook's signing secret is not a whsec_ secret") from exc
    given = header("signature").split()
    if not message_id or not any(hmac.compare_digest(expected, s) for s in given):
        raise SignatureInvalid("the webhook signature does not verify")


def parse(account_id: str, event: dict[str, Any]) -> list[Suppression]:
    data = event.get("data")
    if not isinstance(data, dict):
        return []
    kind = event.get("type")
    recipients = data.get("to")
    addresses = recipients if isinstance(recipients, list) else [recipients]
    found: list[Suppression | None] = []
    if kind == "email.bounced":
        bounce = data.get("bounce") or {}
        if bounce.get("type") in ("Transient", "Undetermined"):
            return []
        detail = bounce.get("message") or bounce.get("subType") or "bounced"
        reason = SuppressionReason.BOUNCE
    elif kind == "email.complained":
        detail, reason = "complained", SuppressionReason.COMPLAINT
    else:
        return []
    for address in addresses[: notifications.MAX_EVENTS]:
        found.append(notifications.entry(account_id, "resend", address, reason, detail, None))
    return notifications.found(found)


async def read(call: HookCall) -> list[Suppression]:
    verify(str(call.verification.get("signing_secret", "")), call.headers, call.body)
    return parse(call.account_id, notifications.json_object(call.body))


def summary(config: Mapping[str, Any]) -> str:
    return str(config.get("base_url") or "api.resend.com")


PLUGIN = ProviderPlugin(
    type="resend",
    config_model=ResendConfig,
    build=build,
    api_hosts=API_HOSTS,
    example={"api_key": "re_xxxx"},
    event_hook=EventHook(
        fields={"signing_secret": "Resend: the webhook's signing secret (whsec_…)"},
        required=("signing_secret",),
        setup="Resend: a webhook with email.bounced and email.complained, and its signing "
        "secret here.",
        read=read,
    ),
    form=ConsoleForm(
        name="Resend",
        blurb="Resend's Email API, with an API key.",
        advanced=frozenset({"base_url", "timeout"}),
        summary=summary,
    ),
)
