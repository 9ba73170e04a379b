"""What the SMTP server plumbing's tests share: a handler that records, a self-signed
certificate, a client context that takes it."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import Envelope, Session

from mailpass_common.smtp_server import ReloadingTlsContext, ServedSMTP, SmtpOptions
from tests.support.tls import self_signed_cert

OPTIONS = SmtpOptions(hostname="mx.test", max_message_bytes=100_000)


class Recorder:
    """Accepts everything; DATA takes ``delay`` seconds, as a handler storing a message."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[bytes] = []
        self.encrypted: list[bool] = []
        self.storing = asyncio.Event()

    async def handle_DATA(self, server: ServedSMTP, session: Session, envelope: Envelope) -> str:
        self.encrypted.append(server.encrypted)
        self.storing.set()
        await asyncio.sleep(self.delay)
        assert isinstance(envelope.content, bytes)
        self.received.append(envelope.content)
        return "250 2.0.0 Ok: stored"


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def peer_certificate(port: int) -> bytes:
    with smtplib.SMTP_SSL("127.0.0.1", port, context=client_context(), timeout=5) as client:
        sock = client.sock
        assert isinstance(sock, ssl.SSLSocket)
        der = sock.getpeercert(binary_form=True)
        assert der is not None
        return der


@pytest.fixture
def tls(tmp_path: Path) -> ReloadingTlsContext:
    cert = self_signed_cert(tmp_path)
    return ReloadingTlsContext(cert.cert_path, cert.key_path, check_interval=3600)
