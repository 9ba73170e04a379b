"""``mailpass-smtp``: SMTP submission on SMTP_SUBMISSION_PORT (587, STARTTLS) and
SMTP_SUBMISSIONS_PORT (465, implicit TLS); probes and metrics on MANAGEMENT_PORT (9106)."""

from __future__ import annotations

import asyncio

from mailpass_common.platform import telemetry
from mailpass_common.platform.settings import load_settings
from mailpass_smtp.app import SubmissionService
from mailpass_smtp.settings import SubmissionSettings


def main() -> None:
    settings = load_settings(SubmissionSettings, "mailpass-smtp")
    telemetry.setup("mailpass-smtp", settings.log_level)
    asyncio.run(SubmissionService(settings).run())
