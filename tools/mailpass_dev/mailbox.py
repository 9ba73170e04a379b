"""A capture SMTP server: accepts every message and keeps it as an .eml file."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


class MailboxHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
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
        return "250 2.0.0 Ok: captured"


def start_mailbox(directory: Path, host: str, port: int) -> Controller:
    controller = Controller(MailboxHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
