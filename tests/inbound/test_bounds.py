"""Size, connection, rate and recipient bounds, and hostile reports: refused with a
4xx/5xx, and the server keeps serving."""

from __future__ import annotations

import secrets
import smtplib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.inbound.conftest import Inbound, running_inbound

LIMITS = {
    "inbound_max_message_bytes": 4096,
    "inbound_max_connections_per_address": 2,
    "inbound_messages_per_minute_per_address": 4,
    "inbound_max_recipients": 2,
}


@pytest.fixture(scope="module")
async def bounded(inbound_env: dict[str, Any], inbound_db: Database) -> AsyncIterator[Inbound]:
    async with running_inbound(inbound_env, inbound_db, **LIMITS) as found:
        yield found


def greeting(port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock, sock.recv(200)


async def test_connections_from_one_address_are_bounded(bounded: Inbound) -> None:
    first, hello1 = greeting(bounded.smtp_port)
    second, hello2 = greeting(bounded.smtp_port)
    third, hello3 = greeting(bounded.smtp_port)
    assert hello1.startswith(b"220") and hello2.startswith(b"220")
    assert hello3.startswith(b"421 4.7.0")
    assert third.recv(10) == b""  # closed
    first.close()
    third.close()
    for _ in range(50):  # the server counts the closed one out
        again, hello = greeting(bounded.smtp_port)
        again.close()
        if hello.startswith(b"220"):
            break
    assert hello.startswith(b"220")
    second.close()
    refused = (
        'mailpass_smtp_server_connections_total{listener="inbound",outcome="refused_client_full"}'
    )
    assert refused in await bounded.metrics()


async def test_size_recipients_and_rate_are_bounded(bounded: Inbound) -> None:
    account_id = f"acc_{secrets.token_hex(4)}"
    paths = [
        bounded.return_path(await bounded.sent_message(account_id, f"u{i}@example.com"))
        for i in range(3)
    ]
    with smtplib.SMTP("127.0.0.1", bounded.smtp_port, timeout=10) as client:
        client.ehlo("mx.example.com")
        assert client.mail("", ["SIZE=100000"])[0] == 552  # declared too large
        client.rset()
        assert client.mail("")[0] == 250
        assert client.rcpt(paths[0])[0] == 250
        assert client.rcpt(paths[1])[0] == 250
        assert client.rcpt(paths[2])[0] == 452  # INBOUND_MAX_RECIPIENTS
        code, _ = client.data(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 100)
        assert code == 552  # sent anyway, too large
        for _ in range(3):  # the second to fourth this minute (the SIZE refusal was none)
            client.rset()
            assert client.mail("")[0] == 250
        client.rset()
        assert client.mail("")[0] == 450  # the fifth message this minute from this address

    async with httpx.AsyncClient() as http:
        assert (
            await http.get(f"http://127.0.0.1:{bounded.management_port}/readyz")
        ).status_code == 200
    metrics = await bounded.metrics()
    for reason in ("too_many_recipients", "rate_limited"):
        assert f'mailpass_inbound_refused_total{{reason="{reason}"}}' in metrics


def nested_report(depth: int) -> bytes:
    """A delivery report whose status part hides under ``depth`` nested multiparts."""
    head = b"Content-Type: multipart/report; report-type=delivery-status; boundary=b0\r\n\r\n"
    body = b"".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode()
        for i in range(depth)
    )
    return head + body + b"--b0--\r\n"


@pytest.mark.parametrize(
    "report",
    [
        nested_report(600),  # deeper than the parser's recursion allows
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--\r\n",
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: message/feedback-report\r\nContent-Transfer-Encoding: base64"
        b"\r\n\r\n!!!not base64\xff\r\n--x--\r\n",
    ],
    ids=["deep-nesting", "no-recipient", "broken-encoding"],
)
async def test_an_unreadable_report_is_refused_and_the_server_keeps_serving(
    inbound: Inbound, report: bytes
) -> None:
    path = inbound.return_path(await inbound.sent_message("acc_hostile", "ann@example.com"))
    with smtplib.SMTP("127.0.0.1", inbound.smtp_port, timeout=10) as client:
        client.ehlo("mx.example.com")
        client.mail("")
        client.rcpt(path)
        code, text = client.data(report)
    assert 400 <= code < 600 and code != 500, (code, text)
    with smtplib.SMTP("127.0.0.1", inbound.smtp_port, timeout=10) as client:
        assert client.noop()[0] == 250
