"""The SES, SendGrid and Mailgun providers against moto (server mode) and local API fakes.

SES runs against moto's real HTTP server, signed by aiobotocore; SendGrid and Mailgun run
against uvicorn-served fakes that enforce the documented request shapes and error bodies.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mailpass_common.providers.delivery.base import (
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailpass_common.providers.delivery.mailgun import MailgunProvider
from mailpass_common.providers.delivery.sendgrid import SendGridProvider
from mailpass_common.providers.delivery.ses import SesProvider, classify_client_error
from tests.support.delivery import deliver
from tests.support.egress import LOCAL_EGRESS
from tests.support.fake_http_apis import FakeSendGrid
from tests.support.fake_mailgun import FakeMailgun
from tests.support.moto import moto_ses
from tests.support.providers import mailgun_provider, sendgrid_provider, ses_provider
from tests.support.services import free_port

VERIFIED = "sender@verified.test"
AWS_SECRETS = {"access_key_id": "testing", "secret_access_key": "testing"}


def make_email(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "message_id": "<msg-1.abc@test.mailpass.local>",
        "from_email": VERIFIED,
        "from_name": "MailPass Test",
        "to": "to@example.com",
        "subject": "Your order",
        "html": "<p>Thanks for <b>your order</b></p>",
        "text": "Thanks for your order",
        "cc": ("cc@example.com",),
        "bcc": ("bcc@example.com",),
        "reply_to": "help@verified.test",
        "tags": ("order", "receipt"),
        "metadata": {"order_id": "42"},
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


def unused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused


# --- SES through moto in server mode ---------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_ses(VERIFIED) as url:
        yield url


@pytest.fixture
async def ses(moto_url: str) -> AsyncIterator[SesProvider]:
    provider = ses_provider({"region": "us-east-1"}, AWS_SECRETS, endpoint_url=moto_url)
    yield provider
    await provider.close()


def moto_raw_messages(moto_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    messages: list[dict[str, Any]] = data["ses"]["RawMessage"]
    return messages


async def test_ses_sends_our_mime_to_every_recipient(ses: SesProvider, moto_url: str) -> None:
    email = make_email()
    result = await deliver(ses, email)

    assert result.provider_message_id
    [sent] = [m for m in moto_raw_messages(moto_url) if m["id"] == result.provider_message_id]
    assert sent["source"] == VERIFIED
    assert {"to@example.com", "cc@example.com", "bcc@example.com"} <= set(sent["destinations"])
    mime = message_from_bytes(sent["raw_data"].encode(), policy=policy.default)
    assert mime["Message-ID"] == email.message_id
    assert mime["Bcc"] is None
    assert mime.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mime.iter_parts()] == ["text/plain", "text/html"]


async def test_ses_client_reopens_after_close(ses: SesProvider, moto_url: str) -> None:
    first = await deliver(ses, make_email())
    await ses.close()
    second = await deliver(ses, make_email(message_id="<msg-2.abc@test.mailpass.local>"))

    ids = {m["id"] for m in moto_raw_messages(moto_url)}
    assert {first.provider_message_id, second.provider_message_id} <= ids


async def test_ses_unverified_sender_is_permanent(ses: SesProvider) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await deliver(ses, make_email(from_email="someone@unverified.test"))
    assert "MessageRejected" in caught.value.reply
    assert "someone@unverified.test" in caught.value.reply


async def test_ses_check_passes(ses: SesProvider) -> None:
    await ses.check()


def moto_auth_after(moto_url: str, free_actions: str) -> str:
    """Makes moto check credentials after ``free_actions`` requests; returns the old count."""
    request = urllib.request.Request(
        f"{moto_url}/moto-api/reset-auth",
        data=free_actions.encode(),
        headers={"Content-Type": "text/plain"},  # moto reads the raw body, not a form
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])


async def test_ses_rejects_an_unknown_access_key(moto_url: str) -> None:
    previous = moto_auth_after(moto_url, "0")
    provider = ses_provider({"region": "us-east-1"}, AWS_SECRETS, endpoint_url=moto_url)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await provider.check()
        assert "InvalidClientTokenId" in caught.value.reply
    finally:
        await provider.close()
        moto_auth_after(moto_url, previous)


async def test_ses_connection_refused_is_temporary() -> None:
    provider = ses_provider({"region": "us-east-1"}, AWS_SECRETS, endpoint_url=unused_url())
    try:
        with pytest.raises(TemporaryDeliveryError):
            await deliver(provider, make_email())
    finally:
        await provider.close()


@pytest.mark.parametrize(
    ("code", "status", "temporary"),
    [
        ("TooManyRequestsException", 429, True),
        ("LimitExceededException", 400, True),
        ("Throttling", 400, True),
        ("InternalFailure", 500, True),
        ("ServiceUnavailable", 503, True),
        ("MessageRejected", 400, False),
        ("MailFromDomainNotVerifiedException", 400, False),
        ("AccountSuspendedException", 400, False),
        ("BadRequestException", 400, False),
        ("UnrecognizedClientException", 403, False),
    ],
)
def test_ses_error_classification(code: str, status: int, temporary: bool) -> None:
    error = ClientError(
        {"Error": {"Code": code, "Message": "why"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendEmail",
    )
    result = classify_client_error(error)
    assert isinstance(result, TemporaryDeliveryError if temporary else PermanentDeliveryError)
    assert result.reply == f"SES {code}: why"


# --- SendGrid v3 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sendgrid_api() -> Iterator[FakeSendGrid]:
    api = FakeSendGrid().start()
    yield api
    api.stop()


@pytest.fixture
async def sendgrid(sendgrid_api: FakeSendGrid) -> AsyncIterator[SendGridProvider]:
    sendgrid_api.received.clear()
    sendgrid_api.fail_next.clear()
    sendgrid_api.stall_seconds = 0.0
    provider = sendgrid_provider(
        {"base_url": sendgrid_api.base_url}, {"api_key": sendgrid_api.api_key}, egress=LOCAL_EGRESS
    )
    yield provider
    await provider.close()


async def test_sendgrid_sends_the_documented_payload(
    sendgrid: SendGridProvider, sendgrid_api: FakeSendGrid
) -> None:
    email = make_email()
    result = await deliver(sendgrid, email)

    assert result.provider_message_id == sendgrid_api.message_ids[-1]
    [body] = sendgrid_api.received
    assert body["personalizations"] == [
        {
            "to": [{"email": "to@example.com"}],
            "cc": [{"email": "cc@example.com"}],
            "bcc": [{"email": "bcc@example.com"}],
        }
    ]
    assert body["from"] == {"email": VERIFIED, "name": "MailPass Test"}
    assert body["reply_to"] == {"email": "help@verified.test"}
    assert body["subject"] == "Your order"
    assert body["content"] == [
        {"type": "text/plain", "value": email.text},
        {"type": "text/html", "value": email.html},
    ]
    assert body["headers"] == {"Message-ID": email.message_id}
    assert body["custom_args"] == {"order_id": "42"}
    assert body["categories"] == ["order", "receipt"]


async def test_sendgrid_sends_a_repeated_recipient_once(
    sendgrid: SendGridProvider, sendgrid_api: FakeSendGrid
) -> None:
    # SendGrid refuses an address that appears twice in one personalization.
    await deliver(sendgrid, make_email(cc=("TO@example.com",), bcc=("to@example.com", "b@x.test")))

    [body] = sendgrid_api.received
    assert body["personalizations"][0] == {
        "to": [{"email": "to@example.com"}],
        "bcc": [{"email": "b@x.test"}],
    }


async def test_sendgrid_html_only(sendgrid: SendGridProvider, sendgrid_api: FakeSendGrid) -> None:
    await deliver(sendgrid, make_email(text=None, reply_to=None, tags=(), metadata={}))

    [body] = sendgrid_api.received
    assert body["content"] == [{"type": "text/html", "value": make_email().html}]
    assert "reply_to" not in body and "categories" not in body and "custom_args" not in body


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (429, "too many requests", TemporaryDeliveryError),
        (500, "internal server error", TemporaryDeliveryError),
        (503, "service unavailable", TemporaryDeliveryError),
        (
            400,
            "The from address does not match a verified Sender Identity.",
            PermanentDeliveryError,
        ),
        (403, "access forbidden", PermanentDeliveryError),
    ],
)
async def test_sendgrid_error_replies(
    sendgrid: SendGridProvider,
    sendgrid_api: FakeSendGrid,
    status: int,
    message: str,
    error: type[Exception],
) -> None:
    sendgrid_api.fail(status, message)
    with pytest.raises(error) as caught:
        await deliver(sendgrid, make_email())
    assert isinstance(caught.value, TemporaryDeliveryError | PermanentDeliveryError)
    assert caught.value.reply == f"SendGrid HTTP {status}: {message}"
    assert sendgrid_api.received == []


async def test_sendgrid_timeout_is_temporary(sendgrid_api: FakeSendGrid) -> None:
    sendgrid_api.stall_seconds = 2.0
    provider = sendgrid_provider(
        {"base_url": sendgrid_api.base_url, "timeout": 0.3},
        {"api_key": sendgrid_api.api_key},
        egress=LOCAL_EGRESS,
    )
    try:
        with pytest.raises(TemporaryDeliveryError) as caught:
            await deliver(provider, make_email())
        assert "Timeout" in caught.value.reply
    finally:
        sendgrid_api.stall_seconds = 0.0
        await provider.close()


async def test_sendgrid_stopped_server_is_temporary() -> None:
    api = FakeSendGrid().start()
    api.stop()
    provider = sendgrid_provider(
        {"base_url": api.base_url}, {"api_key": api.api_key}, egress=LOCAL_EGRESS
    )
    try:
        with pytest.raises(TemporaryDeliveryError) as caught:
            await deliver(provider, make_email())
        assert "ConnectError" in caught.value.reply
    finally:
        await provider.close()


async def test_sendgrid_check(sendgrid: SendGridProvider, sendgrid_api: FakeSendGrid) -> None:
    await sendgrid.check()

    bad = sendgrid_provider(
        {"base_url": sendgrid_api.base_url}, {"api_key": "SG.wrong"}, egress=LOCAL_EGRESS
    )
    with pytest.raises(PermanentDeliveryError) as caught:
        await bad.check()
    assert caught.value.reply == "SendGrid HTTP 401: authorization required"
    await bad.close()


async def test_sendgrid_check_refuses_a_key_that_cannot_send(
    sendgrid: SendGridProvider, sendgrid_api: FakeSendGrid
) -> None:
    sendgrid_api.scopes = ["stats.read"]
    try:
        with pytest.raises(PermanentDeliveryError, match=r"mail\.send"):
            await sendgrid.check()
    finally:
        sendgrid_api.scopes = ["mail.send"]


async def test_sendgrid_wrong_key_on_send_is_permanent(sendgrid_api: FakeSendGrid) -> None:
    provider = sendgrid_provider(
        {"base_url": sendgrid_api.base_url}, {"api_key": "SG.wrong"}, egress=LOCAL_EGRESS
    )
    try:
        with pytest.raises(PermanentDeliveryError, match="HTTP 401"):
            await deliver(provider, make_email())
    finally:
        await provider.close()


# --- Mailgun -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mailgun_api() -> Iterator[FakeMailgun]:
    api = FakeMailgun().start()
    yield api
    api.stop()


def mailgun_config(api: FakeMailgun, **extra: Any) -> dict[str, Any]:
    return {"domain": api.domain, "base_url": api.base_url, **extra}


@pytest.fixture
async def mailgun(mailgun_api: FakeMailgun) -> AsyncIterator[MailgunProvider]:
    mailgun_api.received.clear()
    mailgun_api.fail_next.clear()
    mailgun_api.state = "active"
    provider = mailgun_provider(
        mailgun_config(mailgun_api), {"api_key": mailgun_api.api_key}, egress=LOCAL_EGRESS
    )
    yield provider
    await provider.close()


async def test_mailgun_uploads_our_mime(mailgun: MailgunProvider, mailgun_api: FakeMailgun) -> None:
    email = make_email()
    result = await deliver(mailgun, email)

    [sent] = mailgun_api.received
    assert sent.domain == mailgun_api.domain
    assert sent.values("to") == ["to@example.com", "cc@example.com", "bcc@example.com"]
    assert sent.values("o:tag") == ["order", "receipt"]
    assert sent.values("v:order_id") == ["42"]
    mime = sent.message
    assert mime["Message-ID"] == email.message_id
    assert result.provider_message_id == email.message_id
    assert mime["Bcc"] is None
    parts = {p.get_content_type(): p.get_content() for p in mime.iter_parts()}
    assert parts["text/plain"].strip() == email.text
    assert parts["text/html"].strip() == email.html


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (429, "Too many requests", TemporaryDeliveryError),
        (500, "Internal Server Error", TemporaryDeliveryError),
        (
            400,
            "to parameter is not a valid address. please check documentation",
            PermanentDeliveryError,
        ),
        (403, "Domain example.test is not allowed to send", PermanentDeliveryError),
    ],
)
async def test_mailgun_error_replies(
    mailgun: MailgunProvider,
    mailgun_api: FakeMailgun,
    status: int,
    message: str,
    error: type[Exception],
) -> None:
    mailgun_api.fail(status, message)
    with pytest.raises(error) as caught:
        await deliver(mailgun, make_email())
    assert isinstance(caught.value, TemporaryDeliveryError | PermanentDeliveryError)
    assert caught.value.reply == f"Mailgun HTTP {status}: {message}"


async def test_mailgun_unknown_domain_is_permanent(mailgun_api: FakeMailgun) -> None:
    provider = mailgun_provider(
        {"domain": "other.test", "base_url": mailgun_api.base_url},
        {"api_key": mailgun_api.api_key},
        egress=LOCAL_EGRESS,
    )
    try:
        with pytest.raises(PermanentDeliveryError, match="Domain not found"):
            await deliver(provider, make_email())
        with pytest.raises(PermanentDeliveryError, match="HTTP 404"):
            await provider.check()
    finally:
        await provider.close()


async def test_mailgun_connection_refused_is_temporary() -> None:
    provider = mailgun_provider(
        {"domain": "mg.example.test", "base_url": unused_url()},
        {"api_key": "k"},
        egress=LOCAL_EGRESS,
    )
    try:
        with pytest.raises(TemporaryDeliveryError, match="ConnectError"):
            await deliver(provider, make_email())
    finally:
        await provider.close()


async def test_mailgun_check(mailgun: MailgunProvider, mailgun_api: FakeMailgun) -> None:
    await mailgun.check()

    bad = mailgun_provider(
        mailgun_config(mailgun_api), {"api_key": "key-wrong"}, egress=LOCAL_EGRESS
    )
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await bad.check()
        assert caught.value.reply == "Mailgun HTTP 401: Invalid private key"
    finally:
        await bad.close()

    mailgun_api.state = "unverified"
    with pytest.raises(PermanentDeliveryError, match="unverified"):
        await mailgun.check()
