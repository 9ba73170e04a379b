"""``mailpass-sender``: consumes both work queues; probes and metrics on MANAGEMENT_PORT;
SENDER_WORKERS processes on one machine (see mailpass_common.platform.workers)."""

from __future__ import annotations

from mailpass_common.platform import telemetry
from mailpass_common.platform.lifecycle import run_on_uvloop, settle_heap
from mailpass_common.platform.settings import load_settings
from mailpass_common.platform.workers import run_workers
from mailpass_sender.app import create_sender
from mailpass_sender.settings import SenderSettings


def serve() -> None:
    settings = load_settings(SenderSettings, "mailpass-sender")
    telemetry.setup("mailpass-sender", settings.log_level)
    sender = create_sender(settings)
    settle_heap()  # built: the collector leaves it alone from now on
    # uvloop: a job's broker frames, database round trips and SMTP exchange cost the
    # sender's loop less CPU than on asyncio's own.
    run_on_uvloop(sender.run())


def main() -> None:
    run_workers(load_settings(SenderSettings, "mailpass-sender").sender_workers, serve)
