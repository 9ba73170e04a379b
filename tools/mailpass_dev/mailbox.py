"""A capture SMTP server: accepts every message and keeps it as an .eml file."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailpass_dev.bounces import BounceBack

log = logging.getLogger(__name__)


class MailboxHandler:
    def __init__(self, directory: Path, bounce_back: BounceBack | None = None) -> None:
        self.directory = directory
        self.bounce_back = bounce_back
        self._reports: set[asyncio.Future[None]] = set()
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        assert isinstance(content, bytes)
        envelope_header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(str(r) for r in envelope.rcpt_tos)}\r\n"
        ).encode()
        name = f"{time.time_ns()}.eml"
        (self.directory / name).write_bytes(envelope_header + content)
        log.info("captured %s for %s", name, ", ".join(str(r) for r in envelope.rcpt_tos))
        if self.bounce_back is not None:
            mail_from = str(envelope.mail_from or "")
            rcpts = [str(r) for r in envelope.rcpt_tos]
            for report in self.bounce_back.reports(mail_from, rcpts, content):
                # After this reply, as a remote server reports later (never inside the
                # sender's transaction).
                task = asyncio.get_running_loop().run_in_executor(
                    None, self.bounce_back.send, mail_from, report
                )
                self._reports.add(task)
                task.add_done_callback(self._reports.discard)
        return "250 2.0.0 Ok: captured"


def start_mailbox(
    directory: Path, host: str, port: int, bounce_back: BounceBack | None = None
) -> Controller:
    controller = Controller(MailboxHandler(directory, bounce_back), hostname=host, port=port)
    controller.start()
    return controller
