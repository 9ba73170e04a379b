"""/api/v1/templates on the real gateway: create, list, get, versions, render, delete,
permissions, and hostile or broken templates refused with VALIDATION_ERROR."""

from __future__ import annotations

import time
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from tests.support.tenants import Tenant, make_tenant

ORDER = {
    "name": "Order confirmation",
    "alias": "order",
    "subject": "Order {{ order.number }}",
    "html": "<p>Hi {{ name }}</p>",
    "text": "Hi {{ name }}",
}


async def create(api: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/templates", json={**ORDER, **fields}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_create_get_list_update_keeps_the_last_20_versions_and_delete(
    api: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    made = await create(api, tenant)
    assert made["id"].startswith("tpl_") and made["version"] == 1
    assert made["variables"] == ["name", "order"]
    other = await create(api, tenant, alias="welcome", name="Welcome")
    by_alias = await api.get("/api/v1/templates/order", headers=tenant.headers)
    assert by_alias.json()["data"]["id"] == made["id"]

    for number in range(2, 24):
        changed = await api.patch(
            f"/api/v1/templates/{made['id']}",
            json={"html": f"<p>v{number} {{{{ name }}}}</p>"},
            headers=tenant.headers,
        )
        assert changed.status_code == 200, changed.text
    renamed = await api.patch(
        "/api/v1/templates/order", json={"name": "Orders"}, headers=tenant.headers
    )
    view = renamed.json()["data"]
    assert (view["name"], view["version"], view["html"]) == ("Orders", 23, "<p>v23 {{ name }}</p>")
    assert [v["version"] for v in view["versions"]] == list(range(23, 3, -1))  # 20, newest first
    assert view["versions"][-1]["html"] == "<p>v4 {{ name }}</p>"

    page = await api.get("/api/v1/templates?limit=1", headers=tenant.headers)
    first = page.json()["data"]
    assert [t["id"] for t in first["templates"]] == [made["id"]]
    assert "html" not in first["templates"][0]
    rest = await api.get(f"/api/v1/templates?after={first['next_cursor']}", headers=tenant.headers)
    assert [t["id"] for t in rest.json()["data"]["templates"]] == [other["id"]]

    deleted = await api.delete(f"/api/v1/templates/{other['id']}", headers=tenant.headers)
    assert deleted.status_code == 200
    gone = await api.get("/api/v1/templates/welcome", headers=tenant.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"
    assert await db[Collections.TEMPLATES].count_documents({}) == 1


async def test_alias_is_unique_and_another_account_sees_nothing(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, service_env: dict[str, Any]
) -> None:
    made = await create(api, tenant)
    taken = await api.post("/api/v1/templates", json=ORDER, headers=tenant.headers)
    assert taken.status_code == 400
    assert taken.json()["error"]["details"][0]["field"] == "alias"
    globex = await make_tenant(
        db, service_env, "globex", smtp_port=None, permissions=tuple(Permission)
    )
    for path in (made["id"], "order"):
        assert (
            await api.get(f"/api/v1/templates/{path}", headers=globex.headers)
        ).status_code == 404
        response = await api.patch(
            f"/api/v1/templates/{path}", json={"name": "x"}, headers=globex.headers
        )
        assert response.status_code == 404
    assert (await create(api, globex))["alias"] == "order"  # aliases are per account


async def test_mail_reads_and_renders_templates_only_templates_changes_them(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, service_env: dict[str, Any]
) -> None:
    made = await create(api, tenant)
    sender = await make_tenant(db, service_env, "acme", smtp_port=None)  # mail only
    refused = await api.post("/api/v1/templates", json=ORDER, headers=sender.headers)
    assert refused.status_code == 403 and "templates" in refused.json()["error"]["message"]
    for method in ("PATCH", "DELETE"):
        response = await api.request(
            method, f"/api/v1/templates/{made['id']}", json={}, headers=sender.headers
        )
        assert response.status_code == 403
    assert (await api.get("/api/v1/templates", headers=sender.headers)).status_code == 200
    rendered = await api.post(
        "/api/v1/templates/order/render",
        json={"variables": {"name": "<Ann>", "order": {"number": "A-1"}}},
        headers=sender.headers,
    )
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["data"] == {
        "subject": "Order A-1",
        "html": "<p>Hi &lt;Ann&gt;</p>",
        "text": "Hi <Ann>",
        "version": 1,
    }
    missing = await api.post(
        "/api/v1/templates/order/render", json={"variables": {"name": "x"}}, headers=sender.headers
    )
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "variables.order"


async def test_broken_and_hostile_templates_are_refused_fast(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    refused: list[tuple[dict[str, Any], str]] = [
        ({"html": "{% include 'x' %}"}, "html"),
        ({"text": "{% render 'x' %}", "html": None}, "text"),
        ({"subject": "{{ x"}, "subject"),
        ({"html": "{% if a %}" * 500}, "html"),
        ({"html": None, "text": None}, "html, text"),
        ({"alias": "tpl_x"}, "alias"),
    ]
    for fields, field in refused:
        response = await api.post(
            "/api/v1/templates", json={**ORDER, **fields}, headers=tenant.headers
        )
        assert response.status_code == 400, (fields, response.text)
        assert response.json()["error"]["details"][0]["field"] == field

    stall = await create(
        api,
        tenant,
        alias="stall",
        html="{% for a in (1..9999) %}{% for b in (1..9999) %}x{% endfor %}{% endfor %}"
        + "{% for a in (1..9999) %}{% assign q = a %}{% endfor %}" * 60,
    )
    started = time.monotonic()
    response = await api.post(
        f"/api/v1/templates/{stall['id']}/render",
        json={"variables": {"name": "x", "order": {"number": 1}}},
        headers=tenant.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "html"
    assert time.monotonic() - started < 3
    health = await api.get("/api/v1/templates", headers=tenant.headers)
    assert health.status_code == 200


async def test_openapi_describes_templates_and_templated_sends(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/templates"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/templates/{template_id}"])
    assert "post" in paths["/api/v1/templates/{template_id}/render"]
    send = paths["/api/v1/mail/send"]["post"]["requestBody"]["content"]["application/json"]
    spec_shape, templated = send["schema"]["oneOf"]
    assert spec_shape["required"] == ["to", "subject"]  # the contract's message, as it was
    assert {"subject", "html", "text", "unsubscribe"} <= set(spec_shape["properties"])
    assert templated["required"] == ["to", "template_id"]
    assert "subject" not in templated["properties"]
    assert {"template_id", "variables", "unsubscribe"} <= set(templated["properties"])
    assert "With a template" in send["examples"]
    batch = paths["/api/v1/mail/send-batch"]["post"]["requestBody"]["content"]["application/json"]
    assert "template_id" in batch["schema"]["properties"]
