"""``mailpass-webhooks``: relays the webhook outbox and delivers; probes and metrics on
MANAGEMENT_PORT (9104)."""

from __future__ import annotations

import asyncio

from mailpass_common.platform import telemetry
from mailpass_common.platform.settings import load_settings
from mailpass_webhooks.app import create_webhooks
from mailpass_webhooks.settings import WebhookSettings


def main() -> None:
    settings = load_settings(WebhookSettings, "mailpass-webhooks")
    telemetry.setup("mailpass-webhooks", settings.log_level)
    asyncio.run(create_webhooks(settings).run())
