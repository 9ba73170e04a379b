"""Test keys (``mp_test_``) see and touch only test data: their own messages, their own
idempotency records, test keys; providers they may read but not change."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from mailpass_gateway.mail import examples
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant

SEND = "/api/v1/mail/send"
PROVIDERS = "/api/v1/providers"
KEYS = "/api/v1/keys"


async def another_key(
    db: Database, tenant: Tenant, *permissions: str, test: bool = True
) -> tuple[Tenant, str]:
    """Another key of the tenant's account (a test key unless said otherwise), and its id."""
    new = await api_keys.create_api_key(
        db, tenant.account_id, permissions or (Permission.MAIL,), test=test
    )
    return Tenant(tenant.account_id, new.key, tenant.provider), new.id


async def sent_id(api: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await api.post(SEND, json=examples.SEND_REQUEST, headers=tenant.headers)
    assert response.status_code == 200, response.text
    message_id: str = response.json()["data"]["message_id"]
    return message_id


async def test_each_kind_of_key_reads_only_its_own_kind_of_message(
    api: httpx.AsyncClient, db: Database, tenant: Tenant, smtp: SmtpServer, sandbox: SmtpServer
) -> None:
    sandboxed, _ = await another_key(db, tenant)
    live_message, test_message = await sent_id(api, tenant), await sent_id(api, sandboxed)
    assert len(smtp.received) == 1 and len(sandbox.received) == 1

    for key, own, other in [
        (tenant, live_message, test_message),
        (sandboxed, test_message, live_message),
    ]:
        mine = await api.get(f"/api/v1/mail/status/{own}", headers=key.headers)
        assert mine.status_code == 200, mine.text
        theirs = await api.get(f"/api/v1/mail/status/{other}", headers=key.headers)
        assert theirs.status_code == 404
        assert theirs.json()["error"]["code"] == "NOT_FOUND"


async def test_idempotency_records_are_kept_apart_by_key_mode(
    api: httpx.AsyncClient, db: Database, tenant: Tenant, smtp: SmtpServer, sandbox: SmtpServer
) -> None:
    """A live request must not be answered with a sandbox "sent" (nothing was delivered)."""
    sandboxed, _ = await another_key(db, tenant)
    keyed = {"Idempotency-Key": "order-42"}
    rehearsal = await api.post(
        SEND, json=examples.SEND_REQUEST, headers={**sandboxed.headers, **keyed}
    )
    assert rehearsal.status_code == 200
    real = await api.post(SEND, json=examples.SEND_REQUEST, headers={**tenant.headers, **keyed})
    assert real.status_code == 200, real.text
    assert "Idempotent-Replayed" not in real.headers
    assert real.json()["data"]["message_id"] != rehearsal.json()["data"]["message_id"]
    assert len(smtp.received) == 1 and len(sandbox.received) == 1
    # Each mode still replays its own.
    replay = await api.post(SEND, json=examples.SEND_REQUEST, headers={**tenant.headers, **keyed})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == real.json()


async def test_a_test_key_reads_providers_but_cannot_change_them(
    api: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    assert tenant.provider is not None
    provider_id = tenant.provider["_id"]
    sandboxed, _ = await another_key(db, tenant, Permission.PROVIDERS)
    listed = await api.get(PROVIDERS, headers=sandboxed.headers)
    assert listed.status_code == 200 and [p["id"] for p in listed.json()["data"]["providers"]] == [
        provider_id
    ]
    assert (await api.get(f"{PROVIDERS}/{provider_id}", headers=sandboxed.headers)).is_success

    body: dict[str, Any] = {"config": {"host": "smtp.attacker.test"}}
    attempts = [
        api.patch(f"{PROVIDERS}/{provider_id}", json=body, headers=sandboxed.headers),
        api.delete(f"{PROVIDERS}/{provider_id}", headers=sandboxed.headers),
        api.post(f"{PROVIDERS}/{provider_id}/default", headers=sandboxed.headers),
        api.post(f"{PROVIDERS}/{provider_id}/test", headers=sandboxed.headers),
        api.post(
            PROVIDERS,
            json={
                "name": "x",
                "type": "sendgrid",
                "config": {"api_key": "SG.k"},
                "from_email": "a@b.co",
            },
            headers=sandboxed.headers,
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert "test API key" in response.json()["error"]["message"]
    stored = await db[Collections.PROVIDERS].find_one({"_id": provider_id})
    assert stored is not None and stored["version"] == 1
    assert await db[Collections.PROVIDERS].count_documents({}) == 1


async def test_a_test_key_sees_and_revokes_only_test_keys(
    api: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    admin, admin_id = await another_key(db, tenant, Permission.KEYS)
    _, other_id = await another_key(db, tenant)
    live, live_id = await another_key(db, tenant, Permission.KEYS, test=False)

    listed = await api.get(KEYS, headers=admin.headers)
    assert listed.status_code == 200
    assert {k["id"] for k in listed.json()["data"]["keys"]} == {admin_id, other_id}
    assert (await api.get(f"{KEYS}/{live_id}", headers=admin.headers)).status_code == 404
    assert (await api.post(f"{KEYS}/{live_id}/revoke", headers=admin.headers)).status_code == 404
    assert (await api.delete(f"{KEYS}/{live_id}", headers=admin.headers)).status_code == 404
    assert (await api.get(KEYS, headers=live.headers)).status_code == 200  # not revoked

    revoked = await api.post(f"{KEYS}/{other_id}/revoke", headers=admin.headers)
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked"] is True
    # A live key administers every key of the account, live and test.
    everything = await api.get(KEYS, headers=live.headers)
    assert {k["test"] for k in everything.json()["data"]["keys"]} == {True, False}
