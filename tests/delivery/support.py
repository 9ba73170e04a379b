"""What only the delivery tests need: fast retries, and an SMTP server that hangs up."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.smtp import CapturingHandler, SmtpServer

# Retries in about a second, three attempts.
FAST_RETRIES: dict[str, Any] = {
    "management_port": 0,
    "sender_retry_base_seconds": 0.4,
    "sender_retry_max_seconds": 0.8,
    "sender_retry_jitter": 0.25,
    "sender_max_attempts": 3,
}


class DroppingHandler(CapturingHandler):
    """Hangs up in the middle of DATA ``drop_next`` times: a dropped connection."""

    drop_next: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.drop_next > 0:
            self.drop_next -= 1
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 connection dropped"
        return await super().handle_DATA(server, session, envelope)


class DroppingSmtpServer(SmtpServer):
    def __init__(self, drop_next: int) -> None:
        super().__init__()
        self.handler = DroppingHandler()
        self.handler.drop_next = drop_next
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
