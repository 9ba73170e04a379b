"""The webhooks API's rules: the permission, what a URL may be, the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from tests.support.stack import running_gateway
from tests.support.tenants import make_admin


async def test_the_webhooks_permission_is_required(db: Database, api: httpx.AsyncClient) -> None:
    tenant = await make_admin(db, "acme", (Permission.MAIL, Permission.PROVIDERS))
    response = await api.get("/api/v1/webhooks", headers=tenant.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert "'webhooks'" in response.json()["error"]["message"]


async def test_bad_bodies_are_named(db: Database, api: httpx.AsyncClient) -> None:
    tenant = await make_admin(db, "acme")
    cases = [
        ({"url": "https://hooks.example.com/x", "events": ["sent", "opened"]}, "events"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "ftp://hooks.example.com/x", "events": ["sent"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x", "events": ["sent"]}, "url"),
        ({"url": "https://hooks.example.com/x", "events": ["sent"], "secret": "x"}, "secret"),
    ]
    for body, field in cases:
        response = await api.post("/api/v1/webhooks", json=body, headers=tenant.headers)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert any(field in problem["field"] for problem in error["details"]), error


async def test_plain_http_is_refused_unless_the_operator_allows_it(
    db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_admin(db, "acme")
    async with running_gateway(service_env) as strict:
        response = await strict.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/x", "events": ["sent"]},
            headers=tenant.headers,
        )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "url", "message": "must be an https:// URL"}
    ]


async def test_crud_and_the_openapi_document(db: Database, api: httpx.AsyncClient) -> None:
    tenant = await make_admin(db, "acme")
    created = await api.post(
        "/api/v1/webhooks",
        json={"url": "https://127.0.0.1:8443/x", "events": ["sent"]},
        headers=tenant.headers,
    )
    endpoint_id = created.json()["data"]["id"]
    patched = await api.patch(
        f"/api/v1/webhooks/{endpoint_id}",
        json={"events": ["open", "click"], "enabled": False},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["events"] == ["click", "open"]
    assert patched.json()["data"]["enabled"] is False
    deleted = await api.delete(f"/api/v1/webhooks/{endpoint_id}", headers=tenant.headers)
    assert deleted.status_code == 204
    gone = await api.get(f"/api/v1/webhooks/{endpoint_id}", headers=tenant.headers)
    assert gone.status_code == 404

    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/webhooks",
        "/api/v1/webhooks/{endpoint_id}",
        "/api/v1/webhooks/{endpoint_id}/rotate-secret",
        "/api/v1/webhooks/{endpoint_id}/attempts",
        "/api/v1/webhooks/{endpoint_id}/attempts/{attempt_id}/replay",
    ):
        assert path in paths, path
    create = paths["/api/v1/webhooks"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["examples"]
    assert (
        "409"
        in paths["/api/v1/webhooks/{endpoint_id}/attempts/{attempt_id}/replay"]["post"]["responses"]
    )
