"""``mailpass-inbound``: bounces and complaints for the return-path domain, over SMTP on
INBOUND_SMTP_PORT (25); probes and metrics on MANAGEMENT_PORT (9105)."""

from __future__ import annotations

import asyncio
import logging

from mailpass_common.platform import telemetry
from mailpass_common.platform.settings import load_settings
from mailpass_inbound.app import create_inbound
from mailpass_inbound.settings import InboundSettings


def main() -> None:
    settings = load_settings(InboundSettings, "mailpass-inbound")
    telemetry.setup("mailpass-inbound", settings.log_level)
    # aiosmtpd logs every command at INFO: the service logs what matters itself.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(create_inbound(settings).run())
