"""The Python SDK (sdks/python, ``mailpass_client``) against the real stack."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import typing
from typing import Any

import httpx
import pytest

from mailpass_client import (
    AsyncMailPass,
    AuthenticationError,
    ConflictError,
    MailPass,
    RateLimitError,
    ServerError,
    ValidationError,
    Webhook,
    WebhookVerificationError,
    __version__,
    calls,
)
from mailpass_client import types as t
from mailpass_common.webhooks import signing
from tests.sdks.conftest import SdkStack


async def test_send_status_listing_and_batch(sdk_stack: SdkStack) -> None:
    async with AsyncMailPass(sdk_stack.key, base_url=sdk_stack.base_url) as client:
        sent = await client.mail.send(
            to="user@example.com",
            subject="Order Confirmation",
            html="<h1>Your order has been confirmed</h1>",
            from_email="support@yourdomain.com",
            tags=["py-sdk"],
        )
        assert isinstance(sent, t.SendResult)
        assert (sent.status, sent.to, sent.from_) == (
            "sent",
            "user@example.com",
            "support@yourdomain.com",
        )
        status = await client.mail.status(sent.message_id)
        assert isinstance(status.message, t.MessageView)
        assert status.message.message_id == sent.message_id
        assert all(isinstance(e, t.EventView) for e in status.events)
        listed = [m.message_id async for m in client.messages.iterate(tag="py-sdk", limit=1)]
        assert listed == [sent.message_id]

        batch = await client.mail.send_batch(
            [
                {"to": "a@example.com", "subject": "Hello A", "html": "<p>Hi A</p>"},
                {"to": "not-an-address", "subject": "Hello B", "html": "<p>Hi B</p>"},
            ],
            from_email="support@yourdomain.com",
        )
        assert (batch.total, batch.queued, batch.failed) == (2, 1, 1)
        assert isinstance(batch.messages[0].queue_id, int)
        failed = batch.messages[1].error
        assert failed is not None and failed.code == "VALIDATION_ERROR"

        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        scheduled = await client.mail.send(
            to="b@example.com", subject="Later", text="x", scheduled_at=later
        )
        assert scheduled.status == "scheduled"
        assert (await client.messages.cancel(scheduled.message_id)).status == "cancelled"
        with pytest.raises(ConflictError) as refused:
            await client.messages.cancel(scheduled.message_id)
        assert refused.value.code == "NOT_CANCELLABLE"


async def test_typed_errors(sdk_stack: SdkStack) -> None:
    async with AsyncMailPass(sdk_stack.key, base_url=sdk_stack.base_url) as client:
        with pytest.raises(ValidationError) as invalid:
            await client.mail.send(to="nobody", subject="x", html="<p>x</p>")
    assert invalid.value.status == 400 and invalid.value.details[0]["field"] == "to"
    async with AsyncMailPass("mp_live_not_a_key", base_url=sdk_stack.base_url) as stranger:
        with pytest.raises(AuthenticationError) as unknown:
            await stranger.mail.status("<x@y>")
    assert unknown.value.code == "UNAUTHORIZED"


async def test_retries_keep_the_idempotency_key(sdk_stack: SdkStack) -> None:
    async with AsyncMailPass(sdk_stack.key, base_url=sdk_stack.front_url) as client:
        sent = await client.mail.send(to="retry@example.com", subject="Retried", text="once")
    assert sent.status == "sent"

    def send_synchronously() -> t.SendResult:
        with MailPass(sdk_stack.key, base_url=sdk_stack.front_url) as sync_client:
            return sync_client.mail.send(to="retry@example.com", subject="Sync", text="twice")

    assert (await asyncio.to_thread(send_synchronously)).status == "sent"
    async with httpx.AsyncClient() as http:
        seen = (await http.get(f"{sdk_stack.front_url}/_front/seen")).json()
    sends = [r for r in seen if r["path"] == "/api/v1/mail/send"]
    assert [r["status"] for r in sends] == [503, 200, 503, 200]
    assert sends[0]["idempotency_key"] == sends[1]["idempotency_key"] != ""
    assert sends[2]["idempotency_key"] == sends[3]["idempotency_key"] != sends[0]["idempotency_key"]
    assert sends[0]["user_agent"] == f"mailpass-python/{__version__}"
    async with AsyncMailPass(sdk_stack.key, base_url=sdk_stack.front_url, max_retries=0) as once:
        with pytest.raises(ServerError) as unavailable:
            await once.mail.send(to="retry@example.com", subject="Not retried", text="x")
    assert unavailable.value.status == 503


async def test_suppressions_and_webhooks(sdk_stack: SdkStack) -> None:
    async with AsyncMailPass(sdk_stack.key, base_url=sdk_stack.base_url) as client:
        await client.suppressions.add("py-blocked@example.com", note="asked us")
        await client.suppressions.add("py-blocked2@example.com")
        found = [s.address async for s in client.suppressions.iterate(prefix="py-blocked")]
        assert found == ["py-blocked2@example.com", "py-blocked@example.com"]
        assert (await client.suppressions.remove("py-blocked@example.com")).removed

        created = await client.webhooks.create("http://127.0.0.1:9/py-hook", ["sent"])
        assert created.secret.startswith("whsec_")
        page = await client.webhooks.list(limit=100)
        assert created.id in [w.id for w in page.webhooks]
        assert (await client.webhooks.update(created.id, enabled=False)).enabled is False
        await client.webhooks.delete(created.id)


def test_webhook_verifier_against_the_servers_signature() -> None:
    secret = signing.generate_secret()
    body = json.dumps({"type": "sent", "data": {"message_id": "<a@b>"}}).encode()
    now = int(time.time())
    headers = signing.signed_headers([signing.generate_secret(), secret], "msg_1", now, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        Webhook(secret).verify(body, headers, now=now + 3600)


def _fields(cls: type[Any]) -> dict[str, bool]:
    """Field (as the API names it) -> required, for a result dataclass."""
    return {t.api_name(f.name): f.default is dataclasses.MISSING for f in dataclasses.fields(cls)}


def _typed_dict(cls: Any) -> dict[str, bool]:
    return {name: name in cls.__required_keys__ for name in typing.get_type_hints(cls)}


def _schema(schema: dict[str, Any]) -> dict[str, bool]:
    required = set(schema.get("required", []))
    return {name: name in required for name in schema["properties"]}


async def test_types_match_the_openapi_document(sdk_stack: SdkStack) -> None:
    async with httpx.AsyncClient() as http:
        api = (await http.get(f"{sdk_stack.base_url}/openapi.json")).json()
    schemas = api["components"]["schemas"]
    for cls in t.RESULT_TYPES:
        assert cls.__name__ in schemas, f"{cls.__name__} is not a schema of /openapi.json"
        assert _fields(cls) == _schema(schemas[cls.__name__]), cls.__name__

    def body(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = api["paths"][path]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        return schema

    variants = {v["title"]: v for v in body("/api/v1/mail/send")["oneOf"]}
    assert _typed_dict(calls.SendParams) == _schema(variants["SendRequest"])
    assert _typed_dict(calls.TemplatedSendParams) == _schema(variants["TemplatedSendRequest"])
    attachment = variants["SendRequest"]["properties"]["attachments"]["items"]
    assert _fields(t.Attachment) == _schema(attachment)
    batch = _schema(body("/api/v1/mail/send-batch"))
    assert {"messages": True, **_typed_dict(calls.BatchParams)} == batch
    listing = api["paths"]["/api/v1/mail/messages"]["get"]["parameters"]
    filters = typing.get_type_hints(MailPass(sdk_stack.key).messages.list)
    assert set(filters) - {"return"} == {p["name"] for p in listing}


def test_rate_limit_error_is_typed() -> None:
    request = httpx.Request("POST", "http://x/api/v1/mail/send")
    response = httpx.Response(
        429,
        headers={"Retry-After": "3"},
        json={"success": False, "error": {"code": "RATE_LIMITED", "message": "slow down"}},
        request=request,
    )
    from mailpass_client._http import decoded

    with pytest.raises(RateLimitError) as limited:
        decoded(response)
    assert (limited.value.code, limited.value.retry_after) == ("RATE_LIMITED", 3.0)
