"""``mailgun``: Mailgun's messages API (``messages.mime``) for one sending domain.

Event hook: Mailgun signs each event with HMAC-SHA256 of ``timestamp + token`` under the
account's webhook signing key (compared in constant time); the signature does not cover
the event, so each token is taken once within the freshness window (``hook_tokens``).
``failed`` events of ``permanent`` severity and ``complained`` suppress.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from mailpass_common.providers import notifications
from mailpass_common.providers.delivery.mailgun import MailgunProvider
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.hook_tokens import take_token
from mailpass_common.providers.notifications import entry, message_id, obj
from mailpass_common.providers.plugin import (
    ConsoleForm,
    EventHook,
    HookCall,
    ProviderPlugin,
    SignatureInvalid,
)
from mailpass_common.providers.type_config import Host, HttpUrl, Secret, Timeout, TypeConfig
from mailpass_common.suppressions.service import Suppression, SuppressionReason

API_HOSTS = ("api.mailgun.net", "api.eu.mailgun.net")


class MailgunConfig(TypeConfig):
    SECRETS = ("api_key",)
    domain: Host = Field(description="Mailgun sending domain")
    api_key: Secret = Field(description="Mailgun API key")
    base_url: HttpUrl | None = Field(
        None, description="https://api.mailgun.net (default) or https://api.eu.mailgun.net"
    )
    timeout: Timeout | None = Field(None, description="request timeout in seconds")


def build(config: MailgunConfig, options: DeliveryOptions) -> MailgunProvider:
    return MailgunProvider(config, egress=options.egress, api_hosts=API_HOSTS)


def verify(signing_key: str, signature: dict[str, Any]) -> None:
    timestamp, token = str(signature.get("timestamp", "")), str(signature.get("token", ""))
    notifications.fresh(timestamp)
    expected = hmac.new(
        signing_key.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
        raise SignatureInvalid("the HMAC signature does not verify")


def parse(account_id: str, body: dict[str, Any]) -> list[Suppression]:
    data = body.get("event-data")
    if not isinstance(data, dict):
        return []
    headers = obj(obj(data.get("message")).get("headers"))
    mid = message_id(headers.get("message-id"))
    event, address = data.get("event"), data.get("recipient")
    found: Suppression | None = None
    if event == "failed" and data.get("severity") == "permanent":
        status = obj(data.get("delivery-status"))
        detail = " ".join(str(status.get(k) or "") for k in ("code", "message")).strip()
        reason = SuppressionReason.BOUNCE
        found = entry(
            account_id, "mailgun", address, reason, detail or status.get("description"), mid
        )
    elif event == "complained":
        found = entry(
            account_id, "mailgun", address, SuppressionReason.COMPLAINT, "complained", mid
        )
    return [] if found is None else [found]


async def read(call: HookCall) -> list[Suppression]:
    body = notifications.json_object(call.body)
    signature = obj(body.get("signature"))
    verify(str(call.verification.get("signing_key", "")), signature)
    # The signature covers its timestamp and token only: a token is taken once.
    await take_token(call.db, call.hook_id, str(signature.get("token", "")))
    return parse(call.account_id, body)


def summary(config: Mapping[str, Any]) -> str:
    return f"domain {config.get('domain')}"


PLUGIN = ProviderPlugin(
    type="mailgun",
    config_model=MailgunConfig,
    build=build,
    api_hosts=API_HOSTS,
    example={"domain": "mg.yourdomain.com", "api_key": "key-xxxx"},
    event_hook=EventHook(
        fields={"signing_key": "Mailgun: the HTTP webhook signing key"},
        required=("signing_key",),
        setup="Mailgun: the webhook URL of `permanent_fail` and `complained`, and the signing "
        "key here.",
        read=read,
    ),
    form=ConsoleForm(
        name="Mailgun",
        blurb="Mailgun's messages API for one sending domain, with an API key.",
        advanced=frozenset({"base_url", "timeout"}),
        summary=summary,
    ),
)
