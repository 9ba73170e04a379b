"""Members and sign-ins in the audit log: invitations, role changes and removals (by a
key here), and a person's sign-in with the person as actor and no secret recorded."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys, users
from mailpass_common.tenants.api_keys import Permission
from tests.support.people import PASSWORD, Person, make_person, sign_in_as
from tests.support.tenants import make_account


async def test_member_changes_and_sign_ins_are_recorded(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    bob = await make_person(db, service_env, "bob@example.test", (acme, "viewer"))
    key = await api_keys.create_api_key(db, acme, [Permission.MEMBERS])
    headers = {"Authorization": f"Bearer {key.key}"}

    invited = await api.post(
        "/api/v1/members/invitations",
        headers=headers,
        json={"email": "carol@example.test", "role": "developer"},
    )
    assert invited.status_code == 201, invited.text
    invitation_id = invited.json()["data"]["id"]
    withdrawn = await api.delete(f"/api/v1/members/invitations/{invitation_id}", headers=headers)
    assert withdrawn.status_code == 204, withdrawn.text
    changed = await api.patch(f"/api/v1/members/{bob.id}", headers=headers, json={"role": "admin"})
    assert changed.status_code == 200, changed.text
    assert (await api.delete(f"/api/v1/members/{bob.id}", headers=headers)).status_code == 204

    signed_in = await sign_in_as(api, ada)
    assert signed_in.status_code == 303, signed_in.text

    entries = await db[Collections.AUDIT_EVENTS].find({"account_id": acme}).sort("seq", 1).to_list()
    assert [(e["action"], e["actor_type"]) for e in entries] == [
        ("invitation.created", "key"),
        ("invitation.revoked", "key"),
        ("member.role_changed", "key"),
        ("member.removed", "key"),
        ("user.signed_in", "user"),
    ]
    assert entries[2]["before"] == {"role": "viewer"} and entries[2]["after"] == {"role": "admin"}
    assert entries[4]["actor_id"] == ada.id and entries[4]["after"]["via"] == "password"
    token = invited.json()["data"]["link"].rsplit("/", 1)[1]
    assert token not in repr(entries) and PASSWORD not in repr(entries)


async def _failures(db: Database) -> list[dict[str, Any]]:
    found = (
        await db[Collections.AUDIT_EVENTS]
        .find({"action": "user.sign_in_failed"})
        .sort("seq", 1)
        .to_list()
    )
    return found


async def test_failed_password_sign_ins_are_recorded_in_the_users_accounts(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    other = await make_account(db, "other")
    ada = await make_person(
        db, service_env, "ada@example.test", (acme, "owner"), (globex, "viewer")
    )
    api.headers["user-agent"] = "audit-test/1.0"

    # A wrong password, the address typed in capitals: one entry in each of Ada's accounts.
    typed = Person(dict(ada.doc, email="  Ada@Example.TEST"), ada.secret)
    wrong = await sign_in_as(api, typed, password="not the password at all")
    assert wrong.status_code == 401
    entries = await _failures(db)
    assert sorted(e["account_id"] for e in entries) == sorted([acme, globex])
    for entry in entries:
        assert (entry["actor_type"], entry["actor_id"]) == ("user", ada.id)
        assert (entry["resource_type"], entry["resource_id"]) == ("user", ada.id)
        assert entry["after"] == {
            "attempted": "ada@example.test",
            "via": "password",
            "reason": "wrong_password",
        }
        assert entry["ip"] == "127.0.0.1" and entry["user_agent"] == "audit-test/1.0"
        assert "not the password at all" not in repr(entry)

    # The right password and a wrong code.
    wrong_code = await sign_in_as(api, ada, code="000000")
    assert wrong_code.status_code == 401
    latest = (await _failures(db))[-2:]
    assert [e["after"]["reason"] for e in latest] == ["wrong_code", "wrong_code"]
    assert all("000000" not in repr(e) and PASSWORD not in repr(e) for e in latest)

    # An address without a user belongs to no account: nothing recorded anywhere.
    before = await db[Collections.AUDIT_EVENTS].count_documents({})
    nobody = Person(dict(ada.doc, email="nobody@example.test"), ada.secret)
    assert (await sign_in_as(api, nobody)).status_code == 401
    assert await db[Collections.AUDIT_EVENTS].count_documents({}) == before

    # A disabled user with the right password and code.
    await users.set_disabled(db, ada.id, True)
    assert (await sign_in_as(api, ada)).status_code == 401
    latest = (await _failures(db))[-2:]
    assert [e["after"]["reason"] for e in latest] == ["disabled", "disabled"]
    assert await db[Collections.AUDIT_EVENTS].count_documents({"account_id": other}) == 0

    # The account's log shows them through the API, filtered by action.
    key = await api_keys.create_api_key(db, acme, [Permission.AUDIT])
    listed = await api.get(
        "/api/v1/audit-events",
        params={"action": "user.sign_in_failed"},
        headers={"Authorization": f"Bearer {key.key}"},
    )
    assert listed.status_code == 200, listed.text
    reasons = [e["after"]["reason"] for e in listed.json()["data"]["audit_events"]]
    assert reasons == ["disabled", "wrong_code", "wrong_password"]
