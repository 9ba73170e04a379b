"""The plumbing's life cycle: a graceful stop answers the message being stored, then says
421 to every client; the serving runs the management port beside the listeners."""

from __future__ import annotations

import asyncio

import aiosmtplib
import httpx
import pytest

from mailpass_common.platform.management import ManagementServer
from mailpass_common.smtp_server import (
    Listener,
    ReloadingTlsContext,
    SmtpServer,
    SmtpServing,
    TlsMode,
)
from tests.smtp_server.conftest import OPTIONS, Recorder, client_context, peer_certificate


async def test_graceful_stop_answers_the_message_being_stored_then_says_421(
    tls: ReloadingTlsContext,
) -> None:
    handler = Recorder(delay=0.5)
    server = SmtpServer(
        Listener("submissions", "127.0.0.1", 0, TlsMode.IMPLICIT), handler, OPTIONS, tls
    )
    await server.start()
    port = server.port
    idle = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_context()
    )
    await idle.connect()
    busy = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_context()
    )
    await busy.connect()
    sending = asyncio.create_task(
        busy.sendmail("a@x.test", ["b@y.test"], b"Subject: s\r\n\r\nx\r\n")
    )
    await handler.storing.wait()
    await server.stop(grace_seconds=5)
    _, reply = await sending
    assert reply.startswith("2.0.0 Ok: stored")  # answered before the connections closed
    assert handler.received == [b"Subject: s\r\n\r\nx\r\n"]
    with pytest.raises(aiosmtplib.SMTPResponseException) as closed:
        await idle.noop()
    assert closed.value.code == 421
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_serving_runs_the_management_port(tls: ReloadingTlsContext) -> None:
    async def ready() -> dict[str, str]:
        return {"smtp": "ok"}

    server = SmtpServer(
        Listener("submissions", "127.0.0.1", 0, TlsMode.IMPLICIT), Recorder(), OPTIONS, tls
    )
    serving = SmtpServing([server], management=ManagementServer(ready, "127.0.0.1", 0), tls=tls)
    await serving.start()
    try:
        await asyncio.to_thread(peer_certificate, serving.server("submissions").port)
        base = f"http://127.0.0.1:{serving.management.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/readyz")).json()["checks"] == {"smtp": "ok"}
            metrics = (await http.get("/metrics")).text
        assert (
            'mailpass_smtp_server_connections_total{listener="submissions",outcome="accepted"}'
            in metrics
        )
    finally:
        await serving.stop()
