"""The error envelope for every failure; no input reaches a 500; bodies over 10 MiB are 413."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Collections, Database
from mailpass_gateway.app import create_app
from mailpass_gateway.settings import GatewaySettings
from tests.support.stack import serve_app
from tests.support.tenants import Tenant

LIMIT = 10 * 1024 * 1024
ENDPOINTS = ("/api/v1/mail/send", "/api/v1/mail/send-batch")

WEIRD_BODIES: list[bytes] = [
    b"",
    b"   ",
    b"{",
    b"{'to': 'single quotes'}",
    b"null",
    b"true",
    b"42",
    b'"a string"',
    b"[]",
    b'[{"to": "user@example.com"}]',
    b'{"to": NaN}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "metadata": {"n": 1e400}}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "metadata": {"n": -Infinity}}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "metadata": {"n": '
    + b"9" * 5000
    + b"}}",
    b'{"to": 123456789012345678901234567890}',
    b'{"to": ["user@example.com"], "subject": "Hi", "text": "x"}',
    b'{"to": {"$ne": null}, "subject": "Hi", "text": "x"}',
    b'{"to": "user@example.com", "subject": {"a": [1, {"b": 2}]}, "text": "x"}',
    b'{"to": "user@example.com", "subject": "\\ud800", "text": "x"}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "\xed\xa0\x80"}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "\xff\xfe"}',
    b'{"to": "user\\u0000@example.com", "subject": "Hi", "text": "x"}',
    b'{"to": "user@example.com", "subject": "Hi\\u0000", "text": "x"}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "metadata": {"k\\u0000": 1}}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "cc": "cc@example.com"}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "tags": [null]}',
    b'{"to": "user@example.com", "subject": "Hi", "text": "x", "track_opens": "maybe"}',
    b'{"to": "\xf0\x9f\x8e\x89@\xf0\x9f\x8e\x89", "subject": "Hi", "text": "x"}',
    b'{"to": "user@example.com", "subject": "' + b"s" * 2000 + b'", "text": "x"}',
    b'{"messages": [' + b"[" * 300 + b"]" * 300 + b"]}",
    b"[" * 100000 + b"]" * 100000,
    b'{"messages": {"0": {}}, "from_name": "a\\r\\nb"}',
    b'{"messages": null}',
    b'{"messages": [null, 1, "x", [], {"to": "\\ud800"}], "from_email": 7}',
    b'{"a": 1, "a": 2}',
    b"\x00\x00\x00",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_weird_inputs_are_client_errors_in_the_envelope(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, endpoint: str
) -> None:
    for raw in WEIRD_BODIES:
        response = await api.post(
            endpoint,
            content=raw,
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (raw[:80], response.text)
        body = response.json()
        assert body["success"] is False, raw[:80]
        assert set(body["error"]) == {"code", "message", "details"}
        assert body["error"]["code"] == "VALIDATION_ERROR"
        assert body["error"]["details"][0]["field"], raw[:80]
    assert await db[Collections.MESSAGES].count_documents({}) == 0


async def test_batch_with_only_invalid_messages_queues_nothing(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    payload: dict[str, Any] = {"messages": [None, 1, "x", [], {"to": "user@example.com"}]}
    response = await api.post("/api/v1/mail/send-batch", json=payload, headers=tenant.headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["total"], data["queued"], data["failed"]) == (5, 0, 5)
    assert [m["status"] for m in data["messages"]] == ["failed"] * 5
    assert [m["to"] for m in data["messages"]] == [None, None, None, None, "user@example.com"]


async def test_a_body_that_is_not_json_is_415(api: httpx.AsyncClient, tenant: Tenant) -> None:
    body = json.dumps({"to": "user@example.com", "subject": "Hi", "text": "x"})
    response = await api.post(
        "/api/v1/mail/send",
        content=body,
        headers={**tenant.headers, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_unknown_route_and_method_use_the_envelope(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = await api.get("/api/v1/nothing", headers=tenant.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = await api.get("/api/v1/mail/send", headers=tenant.headers)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_body_over_the_limit_declared_is_413(api: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await api.post(
        "/api/v1/mail/send",
        content=b"{" + b" " * LIMIT + b"}",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_body_over_the_limit_without_content_length_is_413(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b" " * (1024 * 1024)

    # An async iterator is sent chunked: no Content-Length at all.
    response = await api.post(
        "/api/v1/mail/send-batch",
        content=chunks(),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_lying_content_length_is_refused_before_the_body(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Content-Length far over the limit: 413 at once, without waiting for any body."""
    url = httpx.URL(str(api.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        b"POST /api/v1/mail/send HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {tenant.key}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n{}"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413")


async def test_a_body_at_the_limit_is_accepted_by_the_size_check(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    text = "x" * (500 * 1024)
    response = await api.post(
        "/api/v1/mail/send-batch",
        json={"messages": [{"to": "a@example.com", "subject": "A", "text": text}] * 19},
        headers=tenant.headers,
    )
    assert len(response.request.content) > 9 * 1024 * 1024
    assert response.status_code == 200, response.text[:200]


async def test_a_real_server_fault_is_a_logged_internal_error(
    service_env: dict[str, Any], tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(GatewaySettings(**service_env))
    async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        # The database connection goes away under the running gateway: a server fault.
        await app.state.mongo_client.close()
        response = await client.get("/api/v1/mail/status/abc@x", headers=tenant.headers)
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": {
            "code": "INTERNAL_ERROR",
            "message": "Internal server error; it has been logged",
            "details": None,
        },
    }
    assert any(r.message == "unhandled error" and r.exc_info for r in caplog.records)
