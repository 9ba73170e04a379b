"""Attachments and inline images through every provider type, against the local stand-ins:
SMTP (aiosmtpd), SES raw send (moto), SendGrid's attachments JSON and Mailgun's MIME upload
(the fakes of tests.support.fake_http_apis)."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from mailpass_common.messages.attachments import Attachment
from mailpass_common.providers.delivery.base import OutgoingEmail
from tests.sender.test_http_providers import moto_raw_messages
from tests.support.delivery import deliver
from tests.support.egress import LOCAL_EGRESS
from tests.support.fake_http_apis import FakeSendGrid
from tests.support.fake_mailgun import FakeMailgun
from tests.support.moto import moto_ses
from tests.support.providers import mailgun_provider, sendgrid_provider, ses_provider, smtp_provider
from tests.support.smtp import SmtpServer

VERIFIED = "sender@verified.test"
PDF = b"%PDF-1.4\n" + os.urandom(300_000)  # several base64 lines, binary throughout
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(5_000)


def email_with_files() -> OutgoingEmail:
    return OutgoingEmail(
        message_id="<files-1.abc@test.mailpass.local>",
        from_email=VERIFIED,
        from_name=None,
        to="to@example.com",
        subject="Your invoice",
        html='<p>Invoice attached</p><img src="cid:logo@acme">',
        text="Invoice attached",
        attachments=(
            Attachment("Rechnung März.pdf", "application/pdf", memoryview(PDF)),
            Attachment("logo.png", "image/png", PNG, content_id="logo@acme"),
        ),
    )


def assert_mime_carries_the_files(raw: bytes) -> None:
    """mixed → [related → [alternative → text, html], the inline image], the PDF."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/mixed"
    related, pdf = message.iter_parts()
    assert related.get_content_type() == "multipart/related"
    alternative, logo = related.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert logo.get_content_type() == "image/png"
    assert logo["Content-ID"] == "<logo@acme>"
    assert logo.get_content_disposition() == "inline"
    assert logo.get_content() == PNG
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content_disposition() == "attachment"
    assert pdf.get_filename() == "Rechnung März.pdf"
    assert pdf.get_content() == PDF
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))


async def test_smtp_sends_the_files() -> None:
    server = SmtpServer().start()
    provider = smtp_provider(
        {"host": "127.0.0.1", "port": server.port, "security": "none"}, {}, egress=LOCAL_EGRESS
    )
    try:
        await deliver(provider, email_with_files())
        [received] = await server.wait_for(1)
        assert_mime_carries_the_files(received.data)
    finally:
        await provider.close()
        server.stop()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_ses(VERIFIED) as url:
        yield url


async def test_ses_raw_send_carries_the_files(moto_url: str) -> None:
    provider = ses_provider(
        {"region": "us-east-1"},
        {"access_key_id": "testing", "secret_access_key": "testing"},
        endpoint_url=moto_url,
    )
    try:
        result = await deliver(provider, email_with_files())
    finally:
        await provider.close()
    [sent] = [m for m in moto_raw_messages(moto_url) if m["id"] == result.provider_message_id]
    assert_mime_carries_the_files(sent["raw_data"].encode())


@pytest.fixture
def sendgrid_api() -> Iterator[FakeSendGrid]:
    api = FakeSendGrid().start()
    yield api
    api.stop()


async def test_sendgrid_sends_the_attachments_json(sendgrid_api: FakeSendGrid) -> None:
    provider = sendgrid_provider(
        {"base_url": sendgrid_api.base_url}, {"api_key": sendgrid_api.api_key}, egress=LOCAL_EGRESS
    )
    try:
        await deliver(provider, email_with_files())
    finally:
        await provider.close()
    [body] = sendgrid_api.received
    pdf, logo = body["attachments"]
    assert {k: v for k, v in pdf.items() if k != "content"} == {
        "type": "application/pdf",
        "filename": "Rechnung März.pdf",
        "disposition": "attachment",
    }
    assert base64.b64decode(pdf["content"], validate=True) == PDF
    assert logo["disposition"] == "inline" and logo["content_id"] == "logo@acme"
    assert base64.b64decode(logo["content"]) == PNG


@pytest.fixture
async def mailgun_api() -> AsyncIterator[FakeMailgun]:
    api = FakeMailgun().start()
    yield api
    api.stop()


async def test_mailgun_mime_upload_carries_the_files(mailgun_api: FakeMailgun) -> None:
    provider = mailgun_provider(
        {"domain": mailgun_api.domain, "base_url": mailgun_api.base_url},
        {"api_key": mailgun_api.api_key},
        egress=LOCAL_EGRESS,
    )
    try:
        await deliver(provider, email_with_files())
    finally:
        await provider.close()
    [sent] = mailgun_api.received
    assert_mime_carries_the_files(sent.message.as_bytes(policy=policy.SMTP))
