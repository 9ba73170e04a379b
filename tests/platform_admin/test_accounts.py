"""The admin API's operations on accounts (real gateway and database), each in the
account's audit log with the platform team as its actor; the CLI runs the same ones."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys, invitations, members
from mailpass_common.tenants.api_keys import Permission
from tests.admin.support import smtp_body
from tests.platform_admin.conftest import ADMIN
from tests.support.processes import run_cli


async def _create(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await api.post("/admin/v1/accounts", json={"name": name}, headers=ADMIN)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_create_list_get_and_refuse_a_taken_name(
    api: httpx.AsyncClient, db: Database
) -> None:
    made = await _create(api, "globex")
    assert made["name"] == "globex" and made["suspended"] is False
    await _create(api, "acme")
    listed = await api.get("/admin/v1/accounts", params={"limit": 1}, headers=ADMIN)
    first = listed.json()["data"]
    assert [a["name"] for a in first["accounts"]] == ["acme"] and first["next_cursor"]
    rest = await api.get(
        "/admin/v1/accounts", params={"cursor": first["next_cursor"]}, headers=ADMIN
    )
    assert [a["name"] for a in rest.json()["data"]["accounts"]] == ["globex"]
    one = await api.get(f"/admin/v1/accounts/{made['id']}", headers=ADMIN)
    assert one.json()["data"] == made
    taken = await api.post("/admin/v1/accounts", json={"name": "acme"}, headers=ADMIN)
    assert taken.status_code == 400 and taken.json()["error"]["code"] == "VALIDATION_ERROR"
    bad = await api.post("/admin/v1/accounts", json={"name": "no spaces"}, headers=ADMIN)
    assert bad.status_code == 400
    missing = await api.get("/admin/v1/accounts/acc_nothing", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"

    [entry] = await db[Collections.AUDIT_EVENTS].find({"account_id": made["id"]}).to_list()
    assert entry["action"] == "account.created"
    assert (entry["actor_type"], entry["actor_id"]) == ("admin", "admin-api")


async def test_default_limits_apply_to_new_providers(api: httpx.AsyncClient, db: Database) -> None:
    made = await _create(api, "acme")
    limits = await api.put(
        f"/admin/v1/accounts/{made['id']}/default-limits",
        json={"hourly": 100, "daily": 1000},
        headers=ADMIN,
    )
    assert limits.status_code == 200, limits.text
    assert limits.json()["data"]["default_limits"] == {"hourly": 100, "daily": 1000}
    assert (
        await api.put(
            f"/admin/v1/accounts/{made['id']}/default-limits", json={"hourly": 0}, headers=ADMIN
        )
    ).status_code == 400
    key = await api_keys.create_api_key(db, made["id"], [Permission.PROVIDERS])
    headers = {"Authorization": f"Bearer {key.key}"}
    plain = await api.post("/api/v1/providers", json=smtp_body(2525), headers=headers)
    own = await api.post(
        "/api/v1/providers", json=smtp_body(2525, name="own", hourly_limit=5), headers=headers
    )
    assert plain.status_code == 201 and own.status_code == 201, (plain.text, own.text)
    assert (plain.json()["data"]["hourly_limit"], plain.json()["data"]["daily_limit"]) == (
        100,
        1000,
    )
    assert (own.json()["data"]["hourly_limit"], own.json()["data"]["daily_limit"]) == (5, 1000)


async def test_usage_counts_the_last_seven_days(api: httpx.AsyncClient, db: Database) -> None:
    made = await _create(api, "acme")
    response = await api.get(f"/admin/v1/accounts/{made['id']}/usage", headers=ADMIN)
    assert response.status_code == 200, response.text
    days = response.json()["data"]["days"]
    assert len(days) == 7 and all(d["counts"]["accepted"] == 0 for d in days)


async def test_the_first_owner_invitation(api: httpx.AsyncClient, db: Database) -> None:
    made = await _create(api, "acme")
    response = await api.post(
        f"/admin/v1/accounts/{made['id']}/invitations",
        json={"email": "Owner@Acme.example"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["role"] == "owner" and data["email"] == "owner@acme.example"
    token = data["url"].rsplit("/", 1)[1]
    pending = await invitations.peek_invitation(db, token)
    assert pending is not None and pending["account_id"] == made["id"]
    [entry] = await db[Collections.AUDIT_EVENTS].find({"action": "invitation.created"}).to_list()
    assert token not in repr(entry)
    bad = await api.post(
        f"/admin/v1/accounts/{made['id']}/invitations", json={"email": "nope"}, headers=ADMIN
    )
    assert bad.status_code == 400


async def test_delete_removes_the_account_and_keeps_its_audit_log(
    api: httpx.AsyncClient, db: Database
) -> None:
    made = await _create(api, "acme")
    key = await api_keys.create_api_key(db, made["id"], [Permission.MAIL])
    headers = {"Authorization": f"Bearer {key.key}"}
    assert (await api.get("/api/v1/mail/messages", headers=headers)).status_code == 200
    await members.add_member(db, made["id"], "usr_someone", "owner")
    invited = await api.post(
        f"/admin/v1/accounts/{made['id']}/invitations", json={"email": "o@x.example"}, headers=ADMIN
    )
    assert invited.status_code == 201
    deleted = await api.delete(f"/admin/v1/accounts/{made['id']}", headers=ADMIN)
    assert deleted.status_code == 204
    assert (await api.get("/api/v1/mail/messages", headers=headers)).status_code == 401
    assert await db[Collections.ACCOUNTS].find_one({"_id": made["id"]}) is None
    for owned in (Collections.API_KEYS, Collections.MEMBERS, Collections.INVITATIONS):
        assert await db[owned].find_one({"account_id": made["id"]}) is None, owned
    actions = [
        e["action"]
        for e in await db[Collections.AUDIT_EVENTS].find({"account_id": made["id"]}).to_list()
    ]
    assert actions == ["account.created", "invitation.created", "account.deleted"]
    again = await api.delete(f"/admin/v1/accounts/{made['id']}", headers=ADMIN)
    assert again.status_code == 404


async def test_the_cli_runs_the_same_operations(db: Database, service_env: dict[str, Any]) -> None:
    assert (await run_cli(service_env, "accounts", "create", "initech"))[0] == 0
    assert (await run_cli(service_env, "accounts", "suspend", "initech"))[0] == 0
    code, listed = await run_cli(service_env, "accounts", "list", "-o", "json")
    assert code == 0 and '"suspended": true' in listed
    limits = await run_cli(service_env, "accounts", "set-limits", "initech", "--daily", "50")
    assert limits[0] == 0, limits[1]
    code, refused = await run_cli(service_env, "accounts", "delete", "initech")
    assert code == 1 and "--yes" in refused
    assert (await run_cli(service_env, "accounts", "delete", "initech", "--yes"))[0] == 0
    # In the order written: by time (each CLI run is a process of its own, and ObjectIds
    # of different processes within one second do not sort by time, so neither does seq).
    entries = await db[Collections.AUDIT_EVENTS].find().sort("created_at", 1).to_list()
    assert [e["action"] for e in entries] == [
        "account.created",
        "account.suspended",
        "account.limits_set",
        "account.deleted",
    ]
    assert {(e["actor_type"], e["actor_id"]) for e in entries} == {("admin", "cli")}
