"""One pagination shape on every list: ``limit`` and ``cursor`` in, ``next_cursor`` out."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.suppressions import service as suppressions
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.support.tenants import Tenant, make_admin


async def walk(
    api: httpx.AsyncClient, tenant: Tenant, path: str, items: str, **params: Any
) -> list[dict[str, Any]]:
    """Every entry of a list, page after page, by ``cursor``."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.get(path, params=query, headers=tenant.headers)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert set(data) == {items, "next_cursor"}
        found += data[items]
        cursor = data["next_cursor"]
        if cursor is None:
            return found


async def test_keys_providers_and_webhooks_are_paged(api: httpx.AsyncClient, db: Database) -> None:
    admin = await make_admin(db, "acme")
    for _ in range(2):
        await api_keys.create_api_key(db, admin.account_id, [Permission.MAIL])
    for n in range(3):
        body = {"url": f"http://127.0.0.1:9/hook{n}", "events": ["sent"]}
        assert (await api.post("/api/v1/webhooks", json=body, headers=admin.headers)).is_success

    keys = await walk(api, admin, "/api/v1/keys", "keys", limit=1)
    assert len(keys) == 3 and len({k["id"] for k in keys}) == 3
    whole = (await api.get("/api/v1/keys", headers=admin.headers)).json()["data"]
    assert [k["id"] for k in whole["keys"]] == [k["id"] for k in keys]
    assert whole["next_cursor"] is None

    hooks = await walk(api, admin, "/api/v1/webhooks", "webhooks", limit=2)
    assert [h["url"][-5:] for h in hooks] == ["hook0", "hook1", "hook2"]
    assert await walk(api, admin, "/api/v1/providers", "providers", limit=1) == []


async def test_an_entry_removed_between_pages_loses_nothing(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    for n in range(3):
        body = {"url": f"http://127.0.0.1:9/hook{n}", "events": ["sent"]}
        await api.post("/api/v1/webhooks", json=body, headers=admin.headers)
    first = (await api.get("/api/v1/webhooks?limit=1", headers=admin.headers)).json()["data"]
    [shown] = first["webhooks"]
    assert (await api.delete(f"/api/v1/webhooks/{shown['id']}", headers=admin.headers)).is_success
    rest = await api.get(
        "/api/v1/webhooks", params={"cursor": first["next_cursor"]}, headers=admin.headers
    )
    assert [h["url"][-5:] for h in rest.json()["data"]["webhooks"]] == ["hook1", "hook2"]


async def test_suppressions_take_cursor_and_still_after(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    entries = [
        suppressions.Suppression(
            account_id=admin.account_id,
            address=f"u{n}@example.com",
            reason=suppressions.SuppressionReason.MANUAL,
            source="api",
        )
        for n in range(3)
    ]
    await suppressions.add_many(db, entries)
    listed = await walk(api, admin, "/api/v1/suppressions", "suppressions", limit=2)
    assert [s["address"] for s in listed] == ["u0@example.com", "u1@example.com", "u2@example.com"]
    by_after = await api.get(
        "/api/v1/suppressions", params={"after": "u0@example.com"}, headers=admin.headers
    )
    addresses = [s["address"] for s in by_after.json()["data"]["suppressions"]]
    assert addresses == ["u1@example.com", "u2@example.com"]


async def test_a_cursor_not_made_by_the_list_is_refused(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    for cursor in ("not-a-cursor", "x" * 401):
        response = await api.get("/api/v1/keys", params={"cursor": cursor}, headers=admin.headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert [d["field"] for d in error["details"]] == ["cursor"]


def test_every_list_documents_limit_and_cursor() -> None:
    from mailpass_gateway.app import create_app
    from mailpass_gateway.settings import GatewaySettings

    spec = create_app(GatewaySettings()).openapi()
    lists = [
        (path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method == "get" and _page_schema(spec, op) is not None
    ]
    assert {path for path, _ in lists} >= {
        "/api/v1/mail/messages",
        "/api/v1/mail/status/{message_id}",
        "/api/v1/keys",
        "/api/v1/providers",
        "/api/v1/webhooks",
        "/api/v1/suppressions",
        "/api/v1/webhooks/{endpoint_id}/attempts",
    }
    for path, op in lists:
        names = {p["name"] for p in op.get("parameters", [])}
        assert {"limit", "cursor"} <= names, path


def _page_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    ref = op["responses"]["200"]["content"]["application/json"]["schema"].get("$ref", "")
    response = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    data_ref = response.get("properties", {}).get("data", {}).get("$ref", "")
    data = spec["components"]["schemas"].get(data_ref.rsplit("/", 1)[-1], {})
    return data if "next_cursor" in data.get("properties", {}) else None
