"""The shared SMTP server plumbing (mailpass_common.smtp_server) with real clients:
STARTTLS required before anything else, implicit TLS, the certificate reloaded as its
files change, connection limits, the failure window, graceful shutdown, the management
port."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import Envelope, Session

from mailpass_common.smtp_server import (
    FailureWindow,
    Listener,
    ReloadingTlsContext,
    ServedSMTP,
    SmtpOptions,
    SmtpServer,
    TlsMode,
)
from tests.smtp_server.conftest import OPTIONS, Recorder, client_context, peer_certificate
from tests.support.tls import self_signed_cert


@pytest.fixture
async def started(request: Any, tls: ReloadingTlsContext) -> AsyncIterator[list[SmtpServer]]:
    handler = Recorder()
    options = getattr(request, "param", OPTIONS)
    servers = [
        SmtpServer(
            Listener("submission", "127.0.0.1", 0, TlsMode.STARTTLS, require_tls=True),
            handler,
            options,
            tls,
        ),
        SmtpServer(
            Listener("submissions", "127.0.0.1", 0, TlsMode.IMPLICIT), handler, options, tls
        ),
    ]
    for server in servers:
        await server.start()
    yield servers
    for server in servers:
        await server.stop(1)


async def test_starttls_is_required_before_mail_and_then_carries_it(
    started: list[SmtpServer],
) -> None:
    port = started[0].port
    handler = started[0].handler
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("starttls")
    assert client.supports_extension("size")
    code, reply = await client.execute_command(b"MAIL", b"FROM:<a@x.test>")
    assert code == 530, reply
    await client.starttls(tls_context=client_context())
    await client.sendmail("a@x.test", ["b@y.test"], b"Subject: hi\r\n\r\nbody\r\n")
    await client.quit()
    assert handler.received == [b"Subject: hi\r\n\r\nbody\r\n"]
    assert handler.encrypted == [True]


async def test_implicit_tls_serves_from_the_first_byte(started: list[SmtpServer]) -> None:
    port = started[1].port
    handler = started[1].handler

    def send() -> None:
        with smtplib.SMTP_SSL("127.0.0.1", port, context=client_context(), timeout=5) as c:
            c.sendmail("a@x.test", ["b@y.test"], b"Subject: tls\r\n\r\nx\r\n")

    await asyncio.to_thread(send)
    assert handler.encrypted == [True]


async def test_oversized_data_is_refused_with_552(started: list[SmtpServer]) -> None:
    port = started[1].port

    def send() -> None:
        with smtplib.SMTP_SSL("127.0.0.1", port, context=client_context(), timeout=5) as c:
            c.sendmail("a@x.test", ["b@y.test"], b"Subject: big\r\n\r\n" + b"x" * 200_000)

    with pytest.raises(smtplib.SMTPResponseException) as refused:
        await asyncio.to_thread(send)
    # smtplib sees SIZE and refuses at MAIL FROM with the server's 552.
    assert refused.value.smtp_code == 552


async def test_certificate_reloaded_when_its_files_change(
    started: list[SmtpServer], tls: ReloadingTlsContext, tmp_path: Path
) -> None:
    port = started[1].port
    first = await asyncio.to_thread(peer_certificate, port)
    assert tls.reload_if_changed() is False  # nothing changed yet

    (tmp_path / "renewed").mkdir()
    renewed = self_signed_cert(tmp_path / "renewed")
    shutil.copy(renewed.cert_path, tls.cert_file)
    # Half-way through a renewal: the new certificate beside the old key. Refused, and the
    # old pair keeps serving.
    assert tls.reload_if_changed() is False
    assert await asyncio.to_thread(peer_certificate, port) == first
    shutil.copy(renewed.key_path, tls.key_file)
    assert tls.reload_if_changed() is True
    second = await asyncio.to_thread(peer_certificate, port)
    assert second != first
    assert second == ssl.PEM_cert_to_DER_cert(renewed.cert_path.read_text())


@pytest.mark.parametrize(
    "started",
    [SmtpOptions(hostname="mx.test", max_message_bytes=1000, max_connections_per_client=2)],
    indirect=True,
)
async def test_connections_per_client_address_are_limited(started: list[SmtpServer]) -> None:
    port = started[0].port
    first = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    second = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await first.connect()
    await second.connect()
    third = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
        await third.connect()
    assert refused.value.code == 421
    assert "from your address" in refused.value.message
    await first.quit()
    await asyncio.sleep(0.05)
    again = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await again.connect()  # a slot is free again
    await again.quit()
    await second.quit()


def test_failure_window_blocks_then_forgets() -> None:
    now = [0.0]
    window = FailureWindow(3, 60, clock=lambda: now[0], max_tracked=2)
    assert not window.record("192.0.2.1")
    assert not window.record("192.0.2.1")
    assert window.record("192.0.2.1")
    assert window.blocked("192.0.2.1")
    assert not window.blocked("192.0.2.2")
    now[0] = 61.0
    assert not window.blocked("192.0.2.1")  # aged out
    for address in ("192.0.2.3", "192.0.2.4", "192.0.2.5"):
        window.record(address)
    assert len(window._failures) == 2  # bounded: the oldest address forgotten


class RefusingAuth(Recorder):
    """Every AUTH fails, counted in the server's failure window."""

    async def handle_AUTH(
        self, server: ServedSMTP, session: Session, envelope: Envelope, args: list[str]
    ) -> str | None:
        if server.record_failure():
            server.cut_off()
            return None
        return "535 5.7.8 Authentication credentials invalid"


async def test_an_address_failing_too_often_is_cut_off_and_refused(
    tls: ReloadingTlsContext,
) -> None:
    options = SmtpOptions(hostname="mx.test", max_message_bytes=1000, auth_mechanisms=True)
    window = FailureWindow(3, 60)
    server = SmtpServer(
        Listener("submissions", "127.0.0.1", 0, TlsMode.IMPLICIT),
        RefusingAuth(),
        options,
        tls,
        failures=window,
    )
    await server.start()
    try:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=server.port, use_tls=True, tls_context=client_context()
        )
        await client.connect()
        await client.ehlo()
        codes = []
        for _ in range(3):
            code, _ = await client.execute_command(b"AUTH", b"PLAIN", b"AGEAYg==")
            codes.append(code)
        assert codes == [535, 535, 421]
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await client.noop()
        again = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=server.port, use_tls=True, tls_context=client_context()
        )
        with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
            await again.connect()
        assert refused.value.code == 421
        assert "Too many failures" in refused.value.message
    finally:
        await server.stop(1)
