"""The key is checked before the body is read: a 401 or 403 goes out while the client is
still at the start of a 10 MiB upload, and nothing of it is buffered."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.support.tenants import Tenant

LIMIT = 10 * 1024 * 1024
ROUTES = [
    ("POST", "/api/v1/mail/send"),
    ("POST", "/api/v1/mail/send-batch"),
    ("POST", "/api/v1/providers"),
    ("PATCH", "/api/v1/providers/prv_x"),
    ("POST", "/api/v1/keys"),
]


async def _answer_to_a_started_upload(
    api: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> bytes:
    """Announce a body of exactly the limit, send its first bytes only, and read the
    answer: it can only come if the server decided without the rest of the body."""
    url = httpx.URL(str(api.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if authorization:
        head += f"Authorization: {authorization}\r\n"
    head += f"Content-Length: {LIMIT}\r\n\r\n"
    writer.write(head.encode() + b'{"to": "')
    await writer.drain()
    try:
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in response.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        return response + await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer mp_live_not-a-key", "Basic eDp5"])
async def test_no_valid_key_is_a_401_before_the_body(
    api: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    answer = await _answer_to_a_started_upload(api, method, path, authorization)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"code":"UNAUTHORIZED"' in answer


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_key_without_the_permission_is_a_403_before_the_body(
    api: httpx.AsyncClient, db: Database, tenant: Tenant, method: str, path: str
) -> None:
    # Each route needs a permission this key lacks: mail routes get a keys-only key.
    permissions = (Permission.KEYS,) if "/mail/" in path else (Permission.MAIL,)
    key = (await api_keys.create_api_key(db, tenant.account_id, permissions)).key
    answer = await _answer_to_a_started_upload(api, method, path, f"Bearer {key}")
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert b'"code":"FORBIDDEN"' in answer


async def test_the_same_upload_with_a_valid_key_is_read_to_the_end(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The control: with a valid key the server waits for the body, and reads all of it."""
    with pytest.raises(TimeoutError):
        await _answer_to_a_started_upload(api, "POST", "/api/v1/mail/send", f"Bearer {tenant.key}")


async def test_bodies_refused_by_validation_keep_their_field_errors(
    api: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    admin = (await api_keys.create_api_key(db, tenant.account_id, tuple(Permission))).key
    headers: dict[str, Any] = {"Authorization": f"Bearer {admin}"}
    for path, body, field in [
        ("/api/v1/providers", {"name": "x", "type": "smtp"}, "config"),
        ("/api/v1/keys", {"permissions": ["root"]}, "permissions.0"),
        ("/api/v1/keys", [], "body"),
    ]:
        response = await api.post(path, json=body, headers=headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert field in [d["field"] for d in error["details"]], error
    malformed = await api.post(
        "/api/v1/keys", content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == (
        "VALIDATION_ERROR"
    )
