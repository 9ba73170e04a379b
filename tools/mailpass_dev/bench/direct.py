"""The floor under ``/send``: aiosmtplib straight to the sink, without MailPass in between.

Each of N tasks holds one open connection and sends 2 KB messages back to back for the
phase's duration; the latency of one ``sendmail`` (MAIL, RCPT, DATA) is what a ``/send``
adds its own work to.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from mailpass_dev.bench.stats import percentile
from mailpass_dev.bench.tenant import FROM_EMAIL, RECIPIENT, message_body


@dataclass(frozen=True)
class DirectRun:
    connections: int
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def raw_message(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = FROM_EMAIL
    message["To"] = RECIPIENT
    message["Subject"] = "mailpass direct"
    message["Message-ID"] = make_msgid(domain="mailpass.local")
    message.set_content(message_body(size))
    return message.as_bytes()


async def _sender(port: int, raw: bytes, deadline: float, latencies: list[float]) -> None:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
    await smtp.connect()
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await smtp.sendmail(FROM_EMAIL, [RECIPIENT], raw)
            latencies.append(time.perf_counter() - started)
    finally:
        await smtp.quit()


async def run_direct(port: int, *, connections: int, seconds: float, size: int) -> DirectRun:
    raw = raw_message(size)
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_sender(port, raw, deadline, latencies) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return DirectRun(
        connections=connections,
        messages=len(latencies),
        seconds=elapsed,
        p50_ms=1000 * (percentile(latencies, 50) or 0.0),
        p99_ms=1000 * (percentile(latencies, 99) or 0.0),
    )
