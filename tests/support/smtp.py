"""A real SMTP server (aiosmtpd) for tests, which can also fail on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.services import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)  # e.g. ["SMTPUTF8"]

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class CapturingHandler:
    received: list[Received] = field(default_factory=list)
    # Replies to give instead of accepting, consumed one per DATA; e.g. ["451 4.3.0 try later"].
    fail_next: list[str] = field(default_factory=list)
    # Called for every DATA with the envelope; may return an SMTP reply to refuse it.
    on_data: Callable[[Envelope], str | None] | None = None
    arrived: asyncio.Event | None = None
    # Recipients refused at RCPT, with the reply to give; e.g. {"gone@x.test": "550 5.1.1 ..."}.
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    # Seconds each DATA takes before its answer: a slow relay.
    data_delay: float = 0.0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = {a.lower(): r for a, r in self.refuse_rcpt.items()}.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.fail_next:
            return self.fail_next.pop(0)
        if self.on_data is not None:
            reply = self.on_data(envelope)
            if reply:
                return reply
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        self.received.append(
            Received(
                str(envelope.mail_from),
                [str(r) for r in envelope.rcpt_tos],
                content,
                [str(option) for option in envelope.mail_options],
            )
        )
        return "250 2.0.0 Ok: queued"


class SmtpServer:
    def __init__(self, *, smtputf8: bool = True, **handler_kwargs: Any) -> None:
        """``smtputf8``: whether the server offers SMTPUTF8 (RFC 6531)."""
        self.handler = CapturingHandler(**handler_kwargs)
        self.port = free_port()
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"SMTP server got {len(self.received)} of {count} messages")
            await asyncio.sleep(0.05)
        return self.received
