"""``sendgrid``: Twilio SendGrid's v3 Mail Send API, with an API key.

Event hook: the Signed Event Webhook. ECDSA P-256 with SHA-256 over the
``X-Twilio-Email-Event-Webhook-Timestamp`` header followed by the raw body, verified with
the account's public key (base64 DER, as SendGrid shows it). ``bounce`` events of type
``bounce`` (not ``blocked``, a refusal of the sending server) and ``spamreport`` suppress.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import Field

from mailpass_common.providers import notifications
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.delivery.sendgrid import SendGridProvider
from mailpass_common.providers.notifications import entry, message_id
from mailpass_common.providers.plugin import (
    ConsoleForm,
    EventHook,
    HookCall,
    ProviderPlugin,
    SignatureInvalid,
)
from mailpass_common.providers.type_config import HttpUrl, Secret, Timeout, TypeConfig
from mailpass_common.suppressions.service import Suppression, SuppressionReason

API_HOSTS = ("api.sendgrid.com", "api.eu.sendgrid.com")


class SendgridConfig(TypeConfig):
    SECRETS = ("api_key",)
    api_key: Secret = Field(description="API key with the mail.send scope")
    base_url: HttpUrl | None = Field(
        None, description="https://api.sendgrid.com (default) or https://api.eu.sendgrid.com"
    )
    timeout: Timeout | None = Field(None, description="request timeout in seconds")


def build(config: SendgridConfig, options: DeliveryOptions) -> SendGridProvider:
    return SendGridProvider(config, egress=options.egress, api_hosts=API_HOSTS)


def verify(public_key: str, signature: str, timestamp: str, body: bytes) -> None:
    notifications.fresh(timestamp)
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(
            base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError, AssertionError) as exc:
        raise SignatureInvalid("the ECDSA signature does not verify") from exc


def parse(account_id: str, events: Any) -> list[Suppression]:
    found: list[Suppression | None] = []
    for event in notifications.objects(events):
        mid = message_id(event.get("smtp-id"))
        address = event.get("email")
        if event.get("event") == "bounce" and event.get("type", "bounce") == "bounce":
            detail = event.get("reason") or event.get("status")
            found.append(
                entry(account_id, "sendgrid", address, SuppressionReason.BOUNCE, detail, mid)
            )
        elif event.get("event") == "spamreport":
            found.append(
                entry(
                    account_id, "sendgrid", address, SuppressionReason.COMPLAINT, "spamreport", mid
                )
            )
    return notifications.found(found)


async def read(call: HookCall) -> list[Suppression]:
    verify(
        str(call.verification.get("public_key", "")),
        call.headers.get("x-twilio-email-event-webhook-signature", ""),
        call.headers.get("x-twilio-email-event-webhook-timestamp", ""),
        call.body,
    )
    return parse(call.account_id, notifications.json_body(call.body))


def summary(config: Mapping[str, Any]) -> str:
    return str(config.get("base_url") or "api.sendgrid.com")


PLUGIN = ProviderPlugin(
    type="sendgrid",
    config_model=SendgridConfig,
    build=build,
    api_hosts=API_HOSTS,
    example={"api_key": "SG.xxxx"},
    event_hook=EventHook(
        fields={"public_key": "SendGrid: the Signed Event Webhook's public key"},
        required=("public_key",),
        setup="SendGrid: the Event Webhook's URL with signing on, and its public key here.",
        read=read,
    ),
    form=ConsoleForm(
        name="SendGrid",
        blurb="Twilio SendGrid's v3 Mail Send API, with an API key.",
        advanced=frozenset({"base_url", "timeout"}),
        summary=summary,
    ),
)
