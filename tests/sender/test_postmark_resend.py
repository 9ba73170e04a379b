"""The Postmark and Resend providers against local fakes of their APIs: the documented
payloads, how refusals are classified, and the provider test."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from mailpass_common.messages.attachments import Attachment
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.base import PermanentDeliveryError, TemporaryDeliveryError
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.registry import PLUGINS
from mailpass_common.providers.types.postmark import PostmarkProvider
from mailpass_common.providers.types.resend import ResendProvider
from tests.sender.test_http_providers import VERIFIED, make_email
from tests.support.delivery import deliver
from tests.support.egress import LOCAL_EGRESS
from tests.support.fake_postmark_resend import FakePostmark, FakeResend

OPTIONS = DeliveryOptions(egress=LOCAL_EGRESS)


@pytest.fixture(scope="module")
def postmark_api() -> Iterator[FakePostmark]:
    api = FakePostmark().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def resend_api() -> Iterator[FakeResend]:
    api = FakeResend().start()
    yield api
    api.stop()


def _build(type_: str, config: dict[str, Any], secrets: dict[str, Any]) -> Any:
    return PLUGINS[type_].provider(config, secrets, OPTIONS)


@pytest.fixture
async def postmark(postmark_api: FakePostmark) -> AsyncIterator[PostmarkProvider]:
    postmark_api.received.clear()
    postmark_api.fail_next.clear()
    provider = _build(
        "postmark",
        {"base_url": postmark_api.base_url, "message_stream": "outbound"},
        {"server_token": postmark_api.api_key},
    )
    assert isinstance(provider, PostmarkProvider)
    yield provider
    await provider.close()


@pytest.fixture
async def resend(resend_api: FakeResend) -> AsyncIterator[ResendProvider]:
    resend_api.received.clear()
    resend_api.fail_next.clear()
    provider = _build("resend", {"base_url": resend_api.base_url}, {"api_key": resend_api.api_key})
    assert isinstance(provider, ResendProvider)
    yield provider
    await provider.close()


FILE = Attachment("logo.png", "image/png", b"\x89PNG-bytes", content_id="logo")


async def test_postmark_sends_the_documented_payload(
    postmark: PostmarkProvider, postmark_api: FakePostmark
) -> None:
    email = make_email(attachments=(FILE,), list_unsubscribe="<https://t.acme.test/u/1>")
    result = await deliver(postmark, email)

    assert result.provider_message_id == postmark_api.message_ids[-1]
    [body] = postmark_api.received
    assert body["From"] == f"MailPass Test <{VERIFIED}>"
    assert (body["To"], body["Cc"], body["Bcc"]) == (
        "to@example.com",
        "cc@example.com",
        "bcc@example.com",
    )
    assert body["ReplyTo"] == "help@verified.test" and body["Subject"] == "Your order"
    assert (body["HtmlBody"], body["TextBody"]) == (email.html, email.text)
    assert body["Headers"] == [
        {"Name": "Message-ID", "Value": email.message_id},
        {"Name": "List-Unsubscribe", "Value": "<https://t.acme.test/u/1>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]
    assert body["Tag"] == "order" and body["Metadata"] == {"order_id": "42"}
    assert body["MessageStream"] == "outbound"
    [attachment] = body["Attachments"]
    assert attachment == {
        "Name": "logo.png",
        "Content": base64.b64encode(b"\x89PNG-bytes").decode(),
        "ContentType": "image/png",
        "ContentID": "cid:logo",
    }


async def test_postmark_refusals_are_classified_with_its_reply(
    postmark: PostmarkProvider, postmark_api: FakePostmark
) -> None:
    postmark_api.fail(422, "You tried to send to recipient(s) that have been marked as inactive.")
    with pytest.raises(PermanentDeliveryError, match=r"Postmark HTTP 422: You tried.*ErrorCode"):
        await deliver(postmark, make_email())
    postmark_api.fail(500, "Internal server error")
    with pytest.raises(TemporaryDeliveryError, match="Postmark HTTP 500"):
        await deliver(postmark, make_email())
    postmark_api.fail(429, "Rate limit exceeded")
    with pytest.raises(TemporaryDeliveryError, match="Postmark HTTP 429"):
        await deliver(postmark, make_email())


async def test_postmark_check_proves_the_token(
    postmark: PostmarkProvider, postmark_api: FakePostmark
) -> None:
    await postmark.check()
    wrong = _build("postmark", {"base_url": postmark_api.base_url}, {"server_token": "wrong"})
    try:
        with pytest.raises(PermanentDeliveryError, match=r"401.*valid Server token"):
            await wrong.check()
    finally:
        await wrong.close()


async def test_resend_sends_the_documented_payload(
    resend: ResendProvider, resend_api: FakeResend
) -> None:
    email = make_email(
        attachments=(FILE,),
        metadata={"order_id": "42", "bad key": "x"},
        list_unsubscribe="<https://t.acme.test/u/1>",
    )
    result = await deliver(resend, email)

    assert result.provider_message_id == resend_api.ids[-1]
    [body] = resend_api.received
    assert body["from"] == f"MailPass Test <{VERIFIED}>"
    assert (body["to"], body["cc"], body["bcc"]) == (
        ["to@example.com"],
        ["cc@example.com"],
        ["bcc@example.com"],
    )
    assert body["reply_to"] == "help@verified.test"
    assert body["headers"] == {
        "List-Unsubscribe": "<https://t.acme.test/u/1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert (body["html"], body["text"]) == (email.html, email.text)
    # Resend's tag names and values: ASCII letters, digits, _ and -; others are left out.
    assert body["tags"] == [
        {"name": "order_id", "value": "42"},
        {"name": "order", "value": "1"},
        {"name": "receipt", "value": "1"},
    ]
    [attachment] = body["attachments"]
    assert attachment["filename"] == "logo.png" and attachment["content_id"] == "logo"
    assert base64.b64decode(attachment["content"]) == b"\x89PNG-bytes"


async def test_resend_refusals_are_classified_with_its_reply(
    resend: ResendProvider, resend_api: FakeResend
) -> None:
    resend_api.fail(422, "Invalid `to` field.")
    with pytest.raises(PermanentDeliveryError, match=r"Resend HTTP 422: Invalid `to` field"):
        await deliver(resend, make_email())
    resend_api.fail(429, "Too many requests")
    with pytest.raises(TemporaryDeliveryError, match="Resend HTTP 429"):
        await deliver(resend, make_email())


async def test_resend_check_accepts_full_and_sending_keys_only(resend_api: FakeResend) -> None:
    for key, ok in [(resend_api.api_key, True), (resend_api.sending_key, True), ("re_x", False)]:
        provider = _build("resend", {"base_url": resend_api.base_url}, {"api_key": key})
        try:
            if ok:
                await provider.check()
            else:
                with pytest.raises(PermanentDeliveryError, match=r"403.*invalid"):
                    await provider.check()
        finally:
            await provider.close()


def test_their_base_urls_are_their_official_hosts_only() -> None:
    strict = DeliveryOptions(egress=EgressPolicy())
    for type_, secrets in [("postmark", {"server_token": "t"}), ("resend", {"api_key": "k"})]:
        PLUGINS[type_].provider({}, secrets, strict)  # the official host by default
        with pytest.raises(ValueError, match="base_url must be https://api"):
            PLUGINS[type_].provider({"base_url": "https://evil.test"}, secrets, strict)
