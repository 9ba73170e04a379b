"""The API key administration API: shown once, listed without secrets, revoked at once."""

from __future__ import annotations

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission, hash_api_key
from tests.support.tenants import make_admin

KEY_FIELDS = {
    "id",
    "prefix",
    "name",
    "permissions",
    "test",
    "revoked",
    "created_at",
    "last_used_at",
    "revoked_at",
}


async def test_a_key_is_shown_once_listed_without_secrets_and_revoked_at_once(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    created = await api.post(
        "/api/v1/keys",
        json={"name": "billing", "permissions": ["mail", "providers"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert set(data) == KEY_FIELDS | {"key"}
    key = data["key"]
    assert key.startswith("mp_live_") and data["prefix"] == key[:12]
    assert data["id"].startswith("key_") and data["permissions"] == ["mail", "providers"]
    assert (data["test"], data["revoked"], data["last_used_at"]) == (False, False, None)

    used = await api.get("/api/v1/providers", headers={"Authorization": f"Bearer {key}"})
    assert used.status_code == 200

    listed = await api.get("/api/v1/keys", headers=admin.headers)
    assert listed.status_code == 200
    views = {k["id"]: k for k in listed.json()["data"]["keys"]}
    assert len(views) == 2 and all(set(v) == KEY_FIELDS for v in views.values())
    assert views[data["id"]]["last_used_at"] is not None
    for text in (
        listed.text,
        (await api.get(f"/api/v1/keys/{data['id']}", headers=admin.headers)).text,
    ):
        assert key not in text and hash_api_key(key) not in text
        assert hash_api_key(admin.key) not in text

    revoked = await api.delete(f"/api/v1/keys/{data['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    refused = await api.get("/api/v1/providers", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    view = (await api.get(f"/api/v1/keys/{data['id']}", headers=admin.headers)).json()["data"]
    assert view["revoked"] is True and view["revoked_at"] is not None
    stored = await db[Collections.API_KEYS].find_one({"id": data["id"]})
    assert stored is not None and stored["_id"] == hash_api_key(key)


async def test_revoke_by_post_and_revoking_ones_own_key(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    [own] = (await api.get("/api/v1/keys", headers=admin.headers)).json()["data"]["keys"]
    revoked = await api.post(f"/api/v1/keys/{own['id']}/revoke", headers=admin.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["data"]["revoked"] is True
    after = await api.get("/api/v1/keys", headers=admin.headers)
    assert after.status_code == 401
    missing = await api.post(
        "/api/v1/keys/key_missing/revoke", headers=(await make_admin(db, "b")).headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


async def test_a_key_grants_only_what_it_has(api: httpx.AsyncClient, db: Database) -> None:
    keys_only = await make_admin(db, "acme", (Permission.KEYS,))
    escalate = await api.post(
        "/api/v1/keys", json={"permissions": ["mail"]}, headers=keys_only.headers
    )
    assert escalate.status_code == 403 and escalate.json()["error"]["code"] == "FORBIDDEN"
    same = await api.post("/api/v1/keys", json={"permissions": ["keys"]}, headers=keys_only.headers)
    assert same.status_code == 201

    sandbox = await make_admin(db, "acme", tuple(Permission), test=True)
    live = await api.post("/api/v1/keys", json={"permissions": ["mail"]}, headers=sandbox.headers)
    assert live.status_code == 403
    test = await api.post(
        "/api/v1/keys", json={"permissions": ["mail"], "test": True}, headers=sandbox.headers
    )
    assert test.status_code == 201 and test.json()["data"]["key"].startswith("mp_test_")


async def test_invalid_key_requests_and_missing_permission(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    for body, field in [
        ({"permissions": []}, "permissions"),
        ({"permissions": ["admin"]}, "permissions.0"),
        ({"permissions": ["mail"], "name": "a\r\nb"}, "name"),
        ({"name": "no permissions"}, "permissions"),
    ]:
        response = await api.post("/api/v1/keys", json=body, headers=admin.headers)
        assert response.status_code == 400, (body, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], body

    mailer = await make_admin(db, "acme", (Permission.MAIL, Permission.PROVIDERS))
    for method, path in [
        ("GET", "/api/v1/keys"),
        ("POST", "/api/v1/keys"),
        ("DELETE", "/api/v1/keys/key_x"),
        ("POST", "/api/v1/keys/key_x/revoke"),
    ]:
        response = await api.request(
            method, path, json={"permissions": ["mail"]}, headers=mailer.headers
        )
        assert response.status_code == 403, (method, path)
