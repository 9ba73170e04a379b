"""Header injection and malformed MIME get 5xx (554 5.6.0, 550 5.x.x), never a crash:
the session goes on and the next message is stored."""

from __future__ import annotations

import asyncio
import base64
import socket

import aiosmtplib
import pytest

from mailpass_common.platform.db import Collections
from tests.submission.conftest import Submission, client_context
from tests.submission.refusal_stack import SIMPLE, shared, submission, tls_client

__all__ = ["shared", "submission"]  # the module's stack (tests.submission.refusal_stack)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"From: noreply@acme.example.com\r\nSubject: one\r\nSubject: two\r\n\r\nx\r\n",
            "Subject header appears twice",
        ),
        (b"From: noreply@acme.example.com\r\nnot a header\r\n\r\nx\r\n", "is not 'Name: value'"),
        (b"Subject: no from\r\n\r\nx\r\n", "no From header"),
        (
            b"From: noreply@acme.example.com\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            b"Content-Type: text/plain\r\n\r\nunterminated\r\n",
            "malformed MIME",
        ),
        (
            b"From: noreply@acme.example.com\r\nX-MailPass-Metadata: [1, 2]\r\n\r\nx\r\n",
            "X-MailPass-Metadata must be a JSON object",
        ),
        (
            b"From: noreply@acme.example.com\r\nX-MailPass-Tags: ok, not ok!\r\n\r\nx\r\n",
            "X-MailPass-Tags",
        ),
        (
            b"From: noreply@acme.example.com\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            b"Content-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="setup.exe"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b1--\r\n",
            "executable files are refused",
        ),
    ],
)
async def test_injection_and_malformed_mime_get_5xx_and_the_session_goes_on(
    submission: Submission, content: bytes, expected: str
) -> None:
    async with tls_client(submission) as client:
        await client.login("mailpass", submission.tenant.key)
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.sendmail("noreply@acme.example.com", ["ann@example.com"], content)
        assert 550 <= refused.value.code <= 554
        assert expected in refused.value.message
        code, _ = await client.noop()
        assert code == 250
        _, reply = await client.sendmail("noreply@acme.example.com", ["ann@example.com"], SIMPLE)
    assert reply.startswith("2.0.0 Ok: queued as <")
    assert await submission.db[Collections.MESSAGES].count_documents({}) == 1


def raw_session(port: int, key: str, content: bytes) -> bytes:
    """An SMTP session over implicit TLS that sends ``content`` exactly as given (smtplib
    and aiosmtplib both turn bare LFs into CRLF, as a client should)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as plain,
        client_context().wrap_socket(plain) as sock,
    ):
        reader = sock.makefile("rb")

        def command(line: bytes) -> bytes:
            sock.sendall(line + b"\r\n")
            reply = reader.readline()
            while reply[3:4] == b"-":
                reply = reader.readline()
            return reply

        reader.readline()  # greeting
        command(b"EHLO client.test")
        plain_auth = base64.b64encode(b"\0mailpass\0" + key.encode())
        assert command(b"AUTH PLAIN " + plain_auth).startswith(b"235")
        command(b"MAIL FROM:<noreply@acme.example.com>")
        command(b"RCPT TO:<ann@example.com>")
        assert command(b"DATA").startswith(b"354")
        return command(content + b"\r\n.")


async def test_a_bare_lf_is_refused(submission: Submission) -> None:
    # A bare LF smuggles a Bcc into the header section for any reader that splits on LF.
    content = b"From: noreply@acme.example.com\r\nSubject: hi\nBcc: victim@example.com\r\n\r\nx"
    reply = await asyncio.to_thread(
        raw_session, submission.tls_port, submission.tenant.key, content
    )
    assert reply.startswith(b"554 5.6.0 Message refused: bare CR or LF"), reply
    assert await submission.db[Collections.MESSAGES].count_documents({}) == 0
