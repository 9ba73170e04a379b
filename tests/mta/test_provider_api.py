"""A `mailpass` provider through the providers API: created with an empty config, and its
check says whether this installation delivers by itself."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.db import Database
from tests.support.stack import running_gateway
from tests.support.tenants import make_admin

BODY = {"type": "mailpass", "name": "own", "from_email": "orders@example.com", "config": {}}


async def _checked(api: Any, headers: dict[str, str]) -> dict[str, Any]:
    created = await api.post("/api/v1/providers", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["type"] == "mailpass"
    assert created.json()["data"]["config"] == {}
    provider_id = created.json()["data"]["id"]
    checked = await api.post(f"/api/v1/providers/{provider_id}/test", headers=headers)
    assert checked.status_code == 200, checked.text
    await api.delete(f"/api/v1/providers/{provider_id}", headers=headers)
    result: dict[str, Any] = checked.json()["data"]
    return result


async def test_the_check_tells_whether_mailpass_smtp_is_enabled(
    db: Database, service_env: dict[str, Any]
) -> None:
    admin = await make_admin(db, "acme")
    async with running_gateway(service_env) as api:
        off = await _checked(api, admin.headers)
    assert off["ok"] is False and "MTA_HELO_HOSTNAME" in off["error"]

    enabled = {"mta_helo_hostname": "mta.example.com", "mta_return_path_domain": "b.example.com"}
    async with running_gateway(service_env, **enabled) as api:
        on = await _checked(api, admin.headers)
    assert on == {"ok": True}
