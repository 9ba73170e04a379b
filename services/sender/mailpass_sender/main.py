"""``mailpass-sender``: consumes both work queues; probes and metrics on MANAGEMENT_PORT;
SENDER_WORKERS processes on one machine (see mailpass_common.workers)."""

from __future__ import annotations

import asyncio

from mailpass_common import telemetry
from mailpass_common.workers import run_workers
from mailpass_sender.app import create_sender
from mailpass_sender.settings import SenderSettings


def serve() -> None:
    settings = SenderSettings()
    telemetry.setup("mailpass-sender", settings.log_level)
    asyncio.run(create_sender(settings).run())


def main() -> None:
    run_workers(SenderSettings().sender_workers, serve)
