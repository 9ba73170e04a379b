from __future__ import annotations

import asyncio

from mailpass_common import telemetry
from mailpass_common.settings import load_settings
from mailpass_sender.app import create_sender
from mailpass_sender.settings import SenderSettings


def main() -> None:
    settings = load_settings(SenderSettings, "mailpass-sender")
    telemetry.setup("mailpass-sender", settings.log_level)
    asyncio.run(create_sender(settings).run())
