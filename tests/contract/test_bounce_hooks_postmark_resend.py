"""Postmark's (basic auth) and Resend's (Svix signatures) bounce and complaint webhooks,
against the real gateway and database; Resend's requests are signed with the Standard
Webhooks reference library, which Svix's scheme is."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from mailpass_common.platform.db import Database
from mailpass_common.suppressions import service as suppressions
from tests.support.stack import running_gateway
from tests.support.tenants import Tenant, add_provider, make_admin

POSTMARK_USER, POSTMARK_PASSWORD = "mailpass", "a-long-random-password"


@pytest.fixture
async def gateway(service_env: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env) as client:
        yield client


@pytest.fixture
async def admin(db: Database) -> Tenant:
    return await make_admin(db, "acme")


async def _hook(
    api: httpx.AsyncClient,
    db: Database,
    env: dict[str, Any],
    admin: Tenant,
    type_: str,
    secrets_: dict[str, str],
    **keys: Any,
) -> str:
    provider = await add_provider(
        db, env, admin.account_id, name=type_, type=type_, config={}, secrets=secrets_
    )
    url = f"/api/v1/providers/{provider['_id']}/event-hook"
    incomplete = await api.put(url, json={}, headers=admin.headers)
    assert incomplete.status_code == 400, incomplete.text
    response = await api.put(url, json=keys, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["path"])


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_postmark_webhook_with_basic_auth(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any], admin: Tenant
) -> None:
    path = await _hook(
        gateway,
        db,
        service_env,
        admin,
        "postmark",
        {"server_token": "pm-token"},
        username=POSTMARK_USER,
        password=POSTMARK_PASSWORD,
    )
    auth = _basic(POSTMARK_USER, POSTMARK_PASSWORD)
    bounce = {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message.",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "Gone@Example.com",
        "BouncedAt": "2026-12-06T13:28:10.2735393-04:00",
        "Inactive": True,
        "MessageStream": "outbound",
    }
    response = await gateway.post(path, json=bounce, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"events": 1, "suppressed": 1}
    entry = await suppressions.get(db, admin.account_id, "gone@example.com")
    assert entry is not None and entry["source"] == "postmark" and entry["reason"] == "bounce"
    assert entry["detail"].startswith("smtp;550 5.1.1")

    soft = {**bounce, "Type": "SoftBounce", "TypeCode": 4096, "Email": "later@example.com"}
    assert (await gateway.post(path, json=soft, headers=auth)).json()["data"]["suppressed"] == 0
    complaint = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": "s@example.com"}
    response = await gateway.post(path, json=complaint, headers=auth)
    assert response.json()["data"]["suppressed"] == 1
    entry = await suppressions.get(db, admin.account_id, "s@example.com")
    assert entry is not None and entry["reason"] == "complaint"

    for refused in ({}, _basic(POSTMARK_USER, "wrong"), _basic("other", POSTMARK_PASSWORD)):
        response = await gateway.post(path, json=bounce, headers=refused)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    not_json = await gateway.post(path, content=b"[1,", headers=auth)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_resend_webhook_with_svix_signatures(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any], admin: Tenant
) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    path = await _hook(
        gateway, db, service_env, admin, "resend", {"api_key": "re_key"}, signing_secret=secret
    )

    def signed(event: dict[str, Any], key: str = secret, age: int = 0) -> dict[str, Any]:
        body = json.dumps(event)
        msg_id = "msg_" + secrets.token_hex(8)
        when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age)
        headers = {
            "svix-id": msg_id,
            "svix-timestamp": str(int(when.timestamp())),
            "svix-signature": Webhook(key).sign(msg_id, when, body),
            "content-type": "application/json",
        }
        return {"content": body, "headers": headers}

    bounced = {
        "type": "email.bounced",
        "created_at": "2026-12-06T23:41:12.126Z",
        "data": {
            "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
            "from": "Acme <onboarding@acme.test>",
            "to": ["nobody@example.com"],
            "subject": "Your order",
            "bounce": {
                "message": "The recipient's mail server permanently rejected the email.",
                "subType": "General",
                "type": "Permanent",
            },
        },
    }
    response = await gateway.post(path, **signed(bounced))
    assert response.status_code == 200, response.text
    entry = await suppressions.get(db, admin.account_id, "nobody@example.com")
    assert entry is not None and entry["source"] == "resend" and entry["reason"] == "bounce"
    assert entry["detail"] == "The recipient's mail server permanently rejected the email."

    complained = {
        "type": "email.complained",
        "created_at": "2026-12-06T23:41:12.126Z",
        "data": {"email_id": "e2", "to": ["spam@example.com"], "subject": "Hi"},
    }
    assert (await gateway.post(path, **signed(complained))).json()["data"]["suppressed"] == 1
    delivered = {**complained, "type": "email.delivered"}
    assert (await gateway.post(path, **signed(delivered))).json()["data"]["events"] == 0

    other_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    for refused in (signed(bounced, key=other_secret), signed(bounced, age=3600)):
        response = await gateway.post(path, **refused)
        assert response.status_code == 401, response.text
    tampered = signed(bounced)
    tampered["content"] = tampered["content"].replace("nobody", "somebody")
    assert (await gateway.post(path, **tampered)).status_code == 401
