"""Members and sign-ins in the audit log: invitations, role changes and removals (by a
key here), and a person's sign-in with the person as actor and no secret recorded."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.support.people import PASSWORD, make_person, sign_in_as
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
