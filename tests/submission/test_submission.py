"""SMTP submission end to end with real clients (smtplib, aiosmtplib): the message stored,
answered 250 with its id, delivered through the account's provider as it came."""

from __future__ import annotations

import asyncio
import re
import smtplib
import urllib.parse
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from mailpass_common.messages import service as messages
from mailpass_common.tenants import api_keys
from tests.console.support import sign_in
from tests.submission.conftest import Submission, client_context
from tests.support.messages import wait_for_status
from tests.support.stack import running_gateway

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as (<[^>]+>)$")
PIXEL = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def message_with_files() -> EmailMessage:
    """HTML with an inline image (multipart/related) and a PDF attached (multipart/mixed)."""
    msg = EmailMessage()
    msg["From"] = "Acme Billing <billing@acme.example.com>"
    msg["To"] = "Ann <ann@example.com>"
    msg["Cc"] = "bob@example.com"
    msg["Subject"] = "Your invoice, €12"
    msg["X-Custom"] = "kept as it came"
    msg["X-MailPass-Tags"] = "invoice, billing"
    msg["X-MailPass-Metadata"] = '{"order": 42, "plan": "pro"}'
    msg.set_content("Your invoice is attached.")
    msg.add_alternative('<p>Your invoice <img src="cid:logo@acme"></p>', subtype="html")
    html = msg.get_body(("html",))
    assert isinstance(html, EmailMessage)
    html.add_related(PIXEL, maintype="image", subtype="png", cid="<logo@acme>")
    msg.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    return msg


async def test_starttls_then_auth_plain_stores_and_delivers_as_it_came(
    submission: Submission,
) -> None:
    raw = (
        "From: Acme <noreply@acme.example.com>\r\n"
        "To: ann@example.com\r\n"
        "Bcc: hidden@example.com\r\n"
        "Subject: Hello over SMTP\r\n"
        "X-Custom: mine\r\n"
        "X-MailPass-Tags: welcome, onboarding\r\n"
        'X-MailPass-Metadata: {"user": "u-1", "step": 2}\r\n'
        "\r\n"
        "Hi Ann.\r\n"
    )

    def send() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", submission.port, timeout=10) as client:
            client.starttls(context=client_context())
            client.login("mailpass", submission.tenant.key)
            client.mail("noreply@acme.example.com")
            client.rcpt("ann@example.com")
            client.rcpt("hidden@example.com")
            return client.data(raw.encode())

    code, reply = await asyncio.to_thread(send)
    assert code == 250
    found = QUEUED.match(reply.decode())
    assert found, reply
    message_id = found.group(1)
    doc = await wait_for_status(submission.db, message_id, "sent")
    assert doc["source"] == "smtp"
    assert (doc["to"], doc["cc"], doc["bcc"]) == ("ann@example.com", [], ["hidden@example.com"])
    assert doc["subject"] == "Hello over SMTP"
    assert doc["tags"] == ["welcome", "onboarding"]
    assert doc["metadata"] == {"user": "u-1", "step": 2}
    [delivered] = submission.relay.received
    assert sorted(delivered.rcpt_tos) == ["ann@example.com", "hidden@example.com"]
    head = delivered.data.split(b"\r\n\r\n", 1)[0]
    assert b"X-Custom: mine" in head
    assert f"Message-ID: {message_id}".encode() in head
    for removed in (b"Bcc:", b"X-MailPass-Tags", b"X-MailPass-Metadata"):
        assert removed not in head
    assert delivered.data.endswith(b"\r\n\r\nHi Ann.\r\n")


async def test_implicit_tls_with_attachments_and_an_inline_image(submission: Submission) -> None:
    msg = message_with_files()
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=submission.tls_port, use_tls=True, tls_context=client_context()
    )
    async with client:
        await client.login("anything", submission.tenant.key)
        errors, reply = await client.send_message(
            msg, recipients=["ann@example.com", "bob@example.com"]
        )
    assert errors == {}
    found = QUEUED.match(reply)
    assert found, reply
    doc = await wait_for_status(submission.db, found.group(1), "sent")
    assert doc["subject"] == "Your invoice, €12"
    assert (doc["from_email"], doc["from_name"]) == ("billing@acme.example.com", "Acme Billing")
    assert (doc["to"], doc["cc"], doc["bcc"]) == ("ann@example.com", ["bob@example.com"], [])
    assert doc["text"] == "Your invoice is attached.\n"
    assert doc["tags"] == ["invoice", "billing"]
    assert doc["metadata"] == {"order": 42, "plan": "pro"}
    assert [
        (a["filename"], a["content_type"], a["content_id"], a["size"]) for a in doc["attachments"]
    ] == [
        ("attachment", "image/png", "logo@acme", len(PIXEL)),
        ("invoice.pdf", "application/pdf", None, 16),
    ]
    [delivered] = submission.relay.received
    got = message_from_bytes(delivered.data, policy=policy.default)
    assert got["X-Custom"] == "kept as it came"
    assert got["X-MailPass-Tags"] is None
    parts = {p.get_content_type(): p for p in got.walk()}
    assert parts["image/png"].get_payload(decode=True) == PIXEL
    assert parts["image/png"]["Content-ID"] == "<logo@acme>"
    assert parts["application/pdf"].get_payload(decode=True) == b"%PDF-1.4 invoice"
    html = got.get_body(("html",))
    assert html is not None
    assert html.get_content().rstrip() == '<p>Your invoice <img src="cid:logo@acme"></p>'


async def test_a_test_key_sends_to_the_sandbox(submission: Submission) -> None:
    from mailpass_common.tenants import api_keys

    test_key = await api_keys.create_api_key(
        submission.db, submission.tenant.account_id, ["mail"], test=True
    )
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=submission.tls_port, use_tls=True, tls_context=client_context()
    )
    async with client:
        await client.login("mailpass", test_key.key)
        _, reply = await client.sendmail(
            "noreply@acme.example.com",
            ["ann@example.com"],
            b"From: noreply@acme.example.com\r\nTo: ann@example.com\r\nSubject: t\r\n\r\nx\r\n",
        )
    found = QUEUED.match(reply)
    assert found, reply
    doc = await wait_for_status(submission.db, found.group(1), "sent")
    assert doc["sandbox"] is True
    await submission.sandbox.wait_for(1)
    assert submission.relay.received == []


async def test_messages_stored_before_250_even_when_nothing_delivers_yet(
    submission: Submission,
) -> None:
    """The document exists the moment the client reads 250 (the API's guarantee)."""
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=submission.tls_port, use_tls=True, tls_context=client_context()
    )
    ids = []
    async with client:
        await client.login("mailpass", submission.tenant.key)
        for n in range(3):
            _, reply = await client.sendmail(
                "noreply@acme.example.com",
                [f"user{n}@example.com"],
                f"From: noreply@acme.example.com\r\nSubject: n{n}\r\n\r\nx\r\n".encode(),
            )
            found = QUEUED.match(reply)
            assert found, reply
            ids.append(found.group(1))
            assert await messages.get_message(submission.db, found.group(1)) is not None
    assert len(set(ids)) == 3


async def test_a_submitted_message_has_its_status_and_console_page(
    submission: Submission, service_env: dict[str, Any]
) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=submission.tls_port, use_tls=True, tls_context=client_context()
    )
    async with client:
        await client.login("mailpass", submission.tenant.key)
        _, reply = await client.send_message(message_with_files(), recipients=["ann@example.com"])
    found = QUEUED.match(reply)
    assert found, reply
    message_id = found.group(1)
    await wait_for_status(submission.db, message_id, "sent")
    viewer = await api_keys.create_api_key(
        submission.db, submission.tenant.account_id, ["mail", "console"]
    )
    async with running_gateway(service_env) as api:
        status = await api.get(
            f"/api/v1/mail/status/{urllib.parse.quote(message_id, safe='')}",
            headers=submission.tenant.headers,
        )
        assert status.status_code == 200, status.text
        data = status.json()["data"]
        assert data["message"]["status"] == "sent"
        assert data["message"]["subject"] == "Your invoice, €12"
        assert data["event_totals"].get("sent") == 1
        await sign_in(api, viewer.key)
        page = await api.get(
            "/console/messages/" + urllib.parse.quote(message_id.strip("<>"), safe="@")
        )
    assert page.status_code == 200
    assert "Your invoice, €12" in page.text
