"""Accounts isolate everything: one account's key never reaches another's providers or keys."""

from __future__ import annotations

import httpx

from mailpass_common.platform.db import Collections, Database
from tests.admin.support import smtp_body
from tests.support.tenants import make_admin


async def test_another_accounts_providers_and_keys_are_out_of_reach(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme, intruder = await make_admin(db, "acme"), await make_admin(db, "intruder")
    created = await api.post(
        "/api/v1/providers", json=smtp_body(25, is_default=True), headers=acme.headers
    )
    provider_id = created.json()["data"]["id"]
    acme_keys = (await api.get("/api/v1/keys", headers=acme.headers)).json()["data"]["keys"]
    [acme_key_id] = [k["id"] for k in acme_keys]

    for method, path, body in [
        ("GET", f"/api/v1/providers/{provider_id}", None),
        ("PATCH", f"/api/v1/providers/{provider_id}", {"config": {"host": "evil.example"}}),
        ("POST", f"/api/v1/providers/{provider_id}/default", None),
        ("POST", f"/api/v1/providers/{provider_id}/test", None),
        ("DELETE", f"/api/v1/providers/{provider_id}", None),
        ("GET", f"/api/v1/keys/{acme_key_id}", None),
        ("POST", f"/api/v1/keys/{acme_key_id}/revoke", None),
        ("DELETE", f"/api/v1/keys/{acme_key_id}", None),
    ]:
        response = await api.request(method, path, json=body, headers=intruder.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"

    assert (await api.get("/api/v1/providers", headers=intruder.headers)).json()["data"][
        "providers"
    ] == []
    intruder_keys = (await api.get("/api/v1/keys", headers=intruder.headers)).json()["data"]["keys"]
    assert acme_key_id not in [k["id"] for k in intruder_keys]

    # Nothing of acme's changed, and acme's key still works.
    stored = await db[Collections.PROVIDERS].find_one({"_id": provider_id})
    assert stored is not None
    assert stored["config"]["host"] == "127.0.0.1" and stored["version"] == 1
    assert stored["is_default"]
    still = await api.get(f"/api/v1/providers/{provider_id}", headers=acme.headers)
    assert still.status_code == 200 and still.json()["data"]["is_default"] is True
    # The intruder's own default switch does not touch acme's default either.
    theirs = await api.post("/api/v1/providers", json=smtp_body(26), headers=intruder.headers)
    await api.post(
        f"/api/v1/providers/{theirs.json()['data']['id']}/default", headers=intruder.headers
    )
    assert (await api.get(f"/api/v1/providers/{provider_id}", headers=acme.headers)).json()["data"][
        "is_default"
    ] is True
