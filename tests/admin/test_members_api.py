"""The members API: an account's people and invitations, managed with a live key that
has the ``members`` permission (acting as an admin: owners are out of its reach)."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.tenants import api_keys, invitations, members
from mailpass_common.tenants.api_keys import Permission
from tests.support.people import make_person
from tests.support.tenants import make_account


async def _key(
    db: Database, account_id: str, *permissions: str, test: bool = False
) -> dict[str, str]:
    created = await api_keys.create_api_key(db, account_id, permissions, test=test)
    return {"Authorization": f"Bearer {created.key}"}


async def test_a_key_lists_invites_changes_and_removes_members(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    bob = await make_person(db, service_env, "bob@example.test", (acme, "viewer"))
    headers = await _key(db, acme, Permission.MEMBERS)

    listed = await api.get("/api/v1/members", headers=headers)
    assert listed.status_code == 200, listed.text
    found = [(m["email"], m["role"]) for m in listed.json()["data"]["members"]]
    assert found == [("ada@example.test", "owner"), ("bob@example.test", "viewer")]

    invited = await api.post(
        "/api/v1/members/invitations",
        headers=headers,
        json={"email": "carol@example.test", "role": "developer"},
    )
    assert invited.status_code == 201, invited.text
    made = invited.json()["data"]
    assert made["mailed"] is False and "/console/invitations/" in made["link"]
    token = made["link"].rsplit("/", 1)[1]
    assert (await invitations.peek_invitation(db, token) or {})["role"] == "developer"
    pending = (await api.get("/api/v1/members", headers=headers)).json()["data"]["invitations"]
    assert [(i["id"], i["email"]) for i in pending] == [(made["id"], "carol@example.test")]
    assert "token" not in pending[0] and "link" not in pending[0]

    changed = await api.patch(f"/api/v1/members/{bob.id}", headers=headers, json={"role": "admin"})
    assert changed.status_code == 200 and changed.json()["data"]["role"] == "admin"
    # A key acts as an admin: no owners made, changed or removed.
    for response in (
        await api.post(
            "/api/v1/members/invitations",
            headers=headers,
            json={"email": "dan@example.test", "role": "owner"},
        ),
        await api.patch(f"/api/v1/members/{ada.id}", headers=headers, json={"role": "viewer"}),
        await api.delete(f"/api/v1/members/{ada.id}", headers=headers),
    ):
        assert response.status_code == 403, response.text
    exists = await api.post(
        "/api/v1/members/invitations",
        headers=headers,
        json={"email": "bob@example.test", "role": "viewer"},
    )
    assert exists.status_code == 409 and exists.json()["error"]["code"] == "MEMBER_EXISTS"

    assert (await api.delete(f"/api/v1/members/{bob.id}", headers=headers)).status_code == 204
    assert await members.get_member(db, acme, bob.id) is None
    assert (await api.delete(f"/api/v1/members/{bob.id}", headers=headers)).status_code == 404
    withdrawn = await api.delete(f"/api/v1/members/invitations/{made['id']}", headers=headers)
    assert withdrawn.status_code == 204
    assert await invitations.peek_invitation(db, token) is None


async def test_members_need_a_live_key_with_the_permission(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    other = await make_person(db, service_env, "eve@example.test", (globex, "viewer"))
    mailer = await _key(db, acme, Permission.MAIL)
    sandbox = await _key(db, acme, Permission.MEMBERS, test=True)
    assert (await api.get("/api/v1/members", headers=mailer)).status_code == 403
    assert (await api.get("/api/v1/members", headers=sandbox)).status_code == 403
    headers = await _key(db, acme, Permission.MEMBERS)
    # Another account's member is not there.
    foreign = await api.patch(
        f"/api/v1/members/{other.id}", headers=headers, json={"role": "admin"}
    )
    assert foreign.status_code == 404
    for body in (
        {"email": "not-an-address", "role": "viewer"},
        {"email": "x@example.test", "role": "root"},
        {},
    ):
        bad = await api.post("/api/v1/members/invitations", headers=headers, json=body)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
