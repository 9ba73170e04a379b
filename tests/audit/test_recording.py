"""Every change made through the API is in the audit log: who, from where, before and
after, with secrets redacted (the real gateway and database)."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from tests.admin.support import smtp_body
from tests.support.tenants import Tenant, make_admin

PASSWORD = "pa55-word-never-in-the-log"
AGENT = "audit-test/1.0"


async def _entries(api: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/audit-events", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["data"]["audit_events"]
    return events


async def _key_id(db: Database, tenant: Tenant) -> str:
    doc = await db[Collections.API_KEYS].find_one({"_id": api_keys.hash_api_key(tenant.key)})
    assert doc is not None
    return str(doc["id"])


async def test_provider_changes_are_recorded_without_credentials(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    headers = {**acme.headers, "User-Agent": AGENT}
    body = smtp_body(2525, config={"username": "mailer", "password": PASSWORD})
    created = await api.post("/api/v1/providers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    provider_id = created.json()["data"]["id"]
    changed = await api.patch(
        f"/api/v1/providers/{provider_id}",
        json={"hourly_limit": 50, "config": {"password": "another-" + PASSWORD}},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    deleted = await api.delete(f"/api/v1/providers/{provider_id}", headers=headers)
    assert deleted.status_code in (200, 204), deleted.text

    events = await _entries(api, acme, resource_type="provider")
    assert [e["action"] for e in events] == [
        "provider.deleted",
        "provider.updated",
        "provider.created",
    ]
    key_id = await _key_id(db, acme)
    for event in events:
        assert event["actor"] == {"type": "key", "id": key_id}
        assert event["resource"] == {"type": "provider", "id": provider_id}
        assert event["source"] == {"ip": "127.0.0.1", "user_agent": AGENT}
    deleted_event, updated, made = events
    assert made["before"] is None and made["after"]["name"] == "relay"
    assert (updated["before"]["hourly_limit"], updated["after"]["hourly_limit"]) == (None, 50)
    assert deleted_event["before"]["name"] == "relay" and deleted_event["after"] is None
    # The credentials are nowhere in the log, as stored or as listed.
    stored = await db[Collections.AUDIT_EVENTS].find().to_list()
    assert len(stored) == 3 and PASSWORD not in repr(stored)
    listed = await api.get("/api/v1/audit-events", headers=acme.headers)
    assert PASSWORD not in listed.text


async def test_key_changes_are_recorded_without_the_key_or_its_hash(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    made = await api.post(
        "/api/v1/keys", json={"name": "ci", "permissions": ["mail"]}, headers=acme.headers
    )
    assert made.status_code == 201, made.text
    new_key, new_id = made.json()["data"]["key"], made.json()["data"]["id"]
    revoked = await api.delete(f"/api/v1/keys/{new_id}", headers=acme.headers)
    assert revoked.status_code == 204
    again = await api.delete(f"/api/v1/keys/{new_id}", headers=acme.headers)
    assert again.status_code == 204  # revoking twice changes nothing, records nothing

    events = await _entries(api, acme, resource_type="key", resource_id=new_id)
    assert [e["action"] for e in events] == ["key.revoked", "key.created"]
    assert events[0]["before"]["revoked"] is False and events[0]["after"]["revoked"] is True
    assert events[1]["after"]["name"] == "ci" and events[1]["after"]["permissions"] == ["mail"]
    stored = repr(await db[Collections.AUDIT_EVENTS].find().to_list())
    assert new_key not in stored and api_keys.hash_api_key(new_key) not in stored


async def test_template_and_domain_changes_are_recorded(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    template = {"name": "Welcome", "subject": "Hi {{ name }}", "html": "<p>Hi {{ name }}</p>"}
    made = await api.post("/api/v1/templates", json=template, headers=acme.headers)
    assert made.status_code == 201, made.text
    template_id = made.json()["data"]["id"]
    changed = await api.patch(
        f"/api/v1/templates/{template_id}", json={"subject": "Hello"}, headers=acme.headers
    )
    assert changed.status_code == 200, changed.text
    assert (await api.delete(f"/api/v1/templates/{template_id}", headers=acme.headers)).is_success

    domain = await api.post(
        "/api/v1/domains", json={"domain": "acme.example"}, headers=acme.headers
    )
    assert domain.status_code == 201, domain.text
    domain_id = domain.json()["data"]["id"]
    rotated = await api.post(f"/api/v1/domains/{domain_id}/rotate-dkim", headers=acme.headers)
    assert rotated.is_success, rotated.text
    assert (await api.delete(f"/api/v1/domains/{domain_id}", headers=acme.headers)).is_success

    templates = await _entries(api, acme, resource_type="template")
    assert [e["action"] for e in templates] == [
        "template.deleted",
        "template.updated",
        "template.created",
    ]
    assert templates[1]["before"]["subject"] == "Hi {{ name }}"
    assert templates[1]["after"] == {**templates[1]["before"], "subject": "Hello", "version": 2}
    domains = await _entries(api, acme, resource_type="domain", resource_id=domain_id)
    assert [e["action"] for e in domains] == [
        "domain.deleted",
        "domain.dkim_rotated",
        "domain.created",
    ]
    assert domains[1]["before"]["generation"] == 1 and domains[1]["after"]["generation"] == 2
    # DKIM private keys never reach the log.
    stored = repr(await db[Collections.AUDIT_EVENTS].find().to_list())
    assert "PRIVATE KEY" not in stored and "private" not in stored


async def test_each_entry_goes_to_endpoints_asking_for_audit_events(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    listening = await api.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.com/audit", "events": ["audit.event"]},
        headers=acme.headers,
    )
    assert listening.status_code == 201, listening.text
    template = {"name": "Receipt", "subject": "Your receipt", "text": "Thanks"}
    made = await api.post("/api/v1/templates", json=template, headers=acme.headers)
    assert made.status_code == 201, made.text

    events = await db[Collections.WEBHOOK_EVENTS].find({"type": "audit.event"}).to_list()
    # The endpoint's own creation is reported to it too, then the template's.
    assert [e["payload"]["data"]["action"] for e in events] == [
        "webhook.created",
        "template.created",
    ]
    reported = events[1:]
    listed = await _entries(api, acme, action="template.created")
    assert len(listed) == 1
    assert reported[0]["endpoint_ids"] == [listening.json()["data"]["id"]]
    assert reported[0]["payload"]["type"] == "audit.event"
    assert reported[0]["payload"]["data"] == listed[0]


async def test_webhook_and_suppression_changes_are_recorded_without_secrets(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    made = await api.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.com/in", "events": ["sent"]},
        headers=acme.headers,
    )
    assert made.status_code == 201, made.text
    endpoint_id, secret = made.json()["data"]["id"], made.json()["data"]["secret"]
    changed = await api.patch(
        f"/api/v1/webhooks/{endpoint_id}", json={"events": ["failed"]}, headers=acme.headers
    )
    assert changed.status_code == 200, changed.text
    rotated = await api.post(f"/api/v1/webhooks/{endpoint_id}/rotate-secret", headers=acme.headers)
    assert rotated.status_code == 200, rotated.text
    assert (await api.delete(f"/api/v1/webhooks/{endpoint_id}", headers=acme.headers)).is_success

    added = await api.post(
        "/api/v1/suppressions", json={"address": "gone@example.com"}, headers=acme.headers
    )
    assert added.is_success, added.text
    removed = await api.delete("/api/v1/suppressions/gone@example.com", headers=acme.headers)
    assert removed.is_success, removed.text

    hooks = await _entries(api, acme, resource_type="webhook", resource_id=endpoint_id)
    assert [e["action"] for e in hooks] == [
        "webhook.deleted",
        "webhook.secret_rotated",
        "webhook.updated",
        "webhook.created",
    ]
    assert hooks[2]["before"]["events"] == ["sent"] and hooks[2]["after"]["events"] == ["failed"]
    listed = await _entries(api, acme, resource_type="suppression")
    assert [(e["action"], e["resource"]["id"]) for e in listed] == [
        ("suppression.deleted", "gone@example.com"),
        ("suppression.created", "gone@example.com"),
    ]
    stored = repr(await db[Collections.AUDIT_EVENTS].find().to_list())
    assert secret not in stored and rotated.json()["data"]["secret"] not in stored
