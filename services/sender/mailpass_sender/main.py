from __future__ import annotations

import asyncio

from mailpass_common import telemetry
from mailpass_sender.app import create_sender
from mailpass_sender.settings import SenderSettings


def main() -> None:
    settings = SenderSettings()
    telemetry.setup("mailpass-sender", settings.log_level)
    asyncio.run(create_sender(settings).run())
