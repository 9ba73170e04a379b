"""``GET /api/v1/audit-events``: pages, filters, one account's entries only, the ``audit``
permission, and no way to change an entry (the real gateway and database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mailpass_common.audit.record import Actor, ActorType, record
from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from tests.support.tenants import Tenant, make_admin


async def _seed(db: Database, account_id: str, count: int, **fields: Any) -> None:
    for n in range(count):
        await record(
            db,
            account_id=account_id,
            action=fields.get("action", "template.updated"),
            resource_type=fields.get("resource_type", "template"),
            resource_id=fields.get("resource_id", f"tpl_{n}"),
            after={"n": n},
            actor=fields.get("actor", Actor(ActorType.KEY, "key_a")),
        )


async def _get(api: httpx.AsyncClient, tenant: Tenant, **params: Any) -> httpx.Response:
    return await api.get("/api/v1/audit-events", params=params, headers=tenant.headers)


async def test_pages_walk_the_log_newest_first_without_repeats(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    await _seed(db, acme.account_id, 7)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        response = await _get(api, acme, limit=3, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        seen += [e["after"]["n"] for e in data["audit_events"]]
        cursor = data["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0] and pages == 3


async def test_filters_apply_together(api: httpx.AsyncClient, db: Database) -> None:
    acme = await make_admin(db, "acme")
    await _seed(db, acme.account_id, 2, actor=Actor(ActorType.KEY, "key_a"))
    await _seed(
        db,
        acme.account_id,
        1,
        actor=Actor(ActorType.ADMIN, "cli"),
        action="provider.deleted",
        resource_type="provider",
        resource_id="prv_1",
    )

    async def actions(**params: Any) -> list[str]:
        response = await _get(api, acme, **params)
        assert response.status_code == 200, response.text
        return [e["action"] for e in response.json()["data"]["audit_events"]]

    assert await actions(actor_id="key_a") == ["template.updated"] * 2
    assert await actions(actor_type="admin") == ["provider.deleted"]
    assert await actions(resource_type="provider", resource_id="prv_1") == ["provider.deleted"]
    assert await actions(resource_type="template", resource_id="tpl_1") == ["template.updated"]
    assert await actions(action="provider.deleted", actor_id="key_a") == []
    now = datetime.now(UTC)
    assert len(await actions(since=(now - timedelta(minutes=1)).isoformat())) == 3
    assert await actions(until=(now - timedelta(minutes=1)).isoformat()) == []
    assert await actions(since=(now + timedelta(minutes=1)).isoformat()) == []
    # Dates beyond what an entry can carry bound the range at its ends, never a 500.
    assert len(await actions(since="0100-01-01T00:00:00Z", until="9999-01-01T00:00:00Z")) == 3
    assert await actions(until="1900-01-01T00:00:00Z") == []


async def test_an_account_sees_only_its_own_entries(api: httpx.AsyncClient, db: Database) -> None:
    acme = await make_admin(db, "acme")
    globex = await make_admin(db, "globex")
    await _seed(db, acme.account_id, 2)
    await _seed(db, globex.account_id, 1, resource_id="tpl_globex")
    theirs = await _get(api, globex)
    assert [e["resource"]["id"] for e in theirs.json()["data"]["audit_events"]] == ["tpl_globex"]
    # Another account's resource id finds nothing.
    assert (await _get(api, globex, resource_type="template", resource_id="tpl_0")).json()["data"][
        "audit_events"
    ] == []


async def test_the_audit_permission_and_a_live_key_are_needed(
    api: httpx.AsyncClient, db: Database
) -> None:
    without = await make_admin(db, "acme", (Permission.MAIL, Permission.KEYS))
    refused = await _get(api, without)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert "'audit'" in refused.json()["error"]["message"]
    test_key = await make_admin(db, "acme", tuple(Permission), test=True)
    assert (await _get(api, test_key)).status_code == 403
    assert (await api.get("/api/v1/audit-events")).status_code == 401


async def test_no_route_changes_or_deletes_an_entry(api: httpx.AsyncClient, db: Database) -> None:
    acme = await make_admin(db, "acme")
    await _seed(db, acme.account_id, 1)
    entry = (await _get(api, acme)).json()["data"]["audit_events"][0]
    for method, path in (
        ("POST", "/api/v1/audit-events"),
        ("DELETE", "/api/v1/audit-events"),
        ("DELETE", f"/api/v1/audit-events/{entry['id']}"),
        ("PATCH", f"/api/v1/audit-events/{entry['id']}"),
        ("PUT", f"/api/v1/audit-events/{entry['id']}"),
    ):
        response = await api.request(method, path, json={}, headers=acme.headers)
        assert response.status_code in (404, 405), (method, path, response.status_code)
    assert await db[Collections.AUDIT_EVENTS].count_documents({}) == 1


@pytest.mark.parametrize("cursor", ["nope", "0" * 24 + "x", "ABCDEF0123456789ABCDEF01"])
async def test_a_foreign_cursor_is_a_validation_error(
    api: httpx.AsyncClient, db: Database, cursor: str
) -> None:
    acme = await make_admin(db, "acme")
    response = await _get(api, acme, cursor=cursor)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
