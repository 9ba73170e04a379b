"""POST /api/v1/mail/send: the spec's examples, every outcome, and what is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from mailpass_gateway.mail import examples
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SEND = "/api/v1/mail/send"


async def test_spec_request_is_sent_with_the_spec_response(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    response = await api.post(SEND, json=examples.SEND_REQUEST, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "data"} and body["success"] is True
    assert set(body["data"]) == set(examples.SEND_RESPONSE["data"])
    assert body["data"]["status"] == "sent"
    assert body["data"]["to"] == "user@example.com"
    assert body["data"]["from"] == "support@yourdomain.com"
    [received] = await smtp.wait_for(1)
    assert received.message["Message-ID"] == body["data"]["message_id"]
    assert received.message["From"] == "Your App <support@yourdomain.com>"


async def test_curl_example_uses_the_provider_defaults(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["from"] == "noreply@acme.example.com"
    [received] = await smtp.wait_for(1)
    assert received.message["From"] == "Acme <noreply@acme.example.com>"
    assert received.message["Subject"] == "Hello"


async def test_permanent_refusal_is_send_failed_with_the_provider_reply(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.fail_next.append("550 5.1.1 <user@example.com>: Recipient address rejected")
    response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["code"] == "SEND_FAILED"
    assert "550 5.1.1" in error["message"] and "Recipient address rejected" in error["message"]
    doc = await db[Collections.MESSAGES].find_one({"_id": error["details"]["message_id"]})
    assert doc is not None and doc["status"] == "failed"


async def test_temporary_failure_is_202_queued(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.fail_next.append("451 4.3.0 Try again later")
    response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "queued"
    doc = await db[Collections.MESSAGES].find_one({"_id": data["message_id"]})
    assert doc is not None and doc["status"] == "deferred"


async def test_timeout_is_202_queued_and_delivery_continues(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    from tests.support.stack import running_gateway, running_sender

    tenant = await make_tenant(db, service_env, "slow", smtp_port=smtp.port)
    # No sender yet: the gateway's wait runs out, then a sender delivers the message.
    async with running_gateway(service_env, send_timeout_seconds=0.2) as api:
        response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
        assert response.status_code == 202, response.text
        assert response.json()["data"]["status"] == "queued"
        async with running_sender(service_env, management_port=0):
            [received] = await smtp.wait_for(1)
    assert received.message["Message-ID"] == response.json()["data"]["message_id"]


async def test_no_default_provider_is_422(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(db, service_env, "bare", smtp_port=None)
    response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "NO_SMTP_PROVIDER"
    assert await db[Collections.MESSAGES].count_documents({}) == 0


async def test_test_key_delivers_to_the_sandbox_only(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    sandbox: SmtpServer,
) -> None:
    tenant = await make_tenant(db, service_env, "tester", smtp_port=smtp.port, test_key=True)
    assert tenant.key.startswith("mp_test_")
    response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
    assert response.status_code == 200, response.text
    [received] = await sandbox.wait_for(1)
    assert received.message["Message-ID"] == response.json()["data"]["message_id"]
    assert smtp.received == []
    doc = await db[Collections.MESSAGES].find_one({"_id": received.message["Message-ID"]})
    assert doc is not None and doc["sandbox"] is True


async def test_missing_unknown_and_revoked_keys_are_401(
    api: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    payload = examples.SEND_REQUEST_CURL
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer mp_live_" + "x" * 32},
    ):
        response = await api.post(SEND, json=payload, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    await db[Collections.API_KEYS].update_many({}, {"$set": {"revoked": True}})
    response = await api.post(SEND, json=payload, headers=tenant.headers)
    assert response.status_code == 401


async def test_key_without_mail_permission_is_403(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(
        db, service_env, "admin", smtp_port=smtp.port, permissions=(Permission.PROVIDERS,)
    )
    for response in (
        await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers),
        await api.post(
            "/api/v1/mail/send-batch", json=examples.BATCH_REQUEST, headers=tenant.headers
        ),
        await api.get("/api/v1/mail/status/abc@x", headers=tenant.headers),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"


def _with(**fields: Any) -> dict[str, Any]:
    return {**examples.SEND_REQUEST_CURL, **fields}


MANY = [f"r{i}@example.com" for i in range(50)]

INVALID: list[tuple[dict[str, Any], set[str]]] = [
    ({"subject": "Hello", "html": "<p>x</p>"}, {"to"}),
    (_with(to="not-an-address"), {"to"}),
    (_with(subject=""), {"subject"}),
    (_with(subject="   "), {"subject"}),
    (_with(html=None), {"html", "text"}),
    # Header injection: CR/LF in subject, names and addresses.
    (_with(subject="Hi\r\nBcc: victim@example.com"), {"subject"}),
    (_with(subject="Hi\nX-Evil: 1"), {"subject"}),
    (_with(from_name="Evil\r\nBcc: victim@example.com"), {"from_name"}),
    (_with(to="user@example.com\r\nBcc: victim@example.com"), {"to"}),
    (_with(from_email="a@example.com\nBcc: v@example.com"), {"from_email"}),
    (_with(reply_to="r@example.com\rX: y"), {"reply_to"}),
    (_with(cc=["ok@example.com", "bad\n@example.com"]), {"cc.1"}),
    (_with(subject="nul\x00byte"), {"subject"}),
    # More than 50 recipients in to + cc + bcc.
    (_with(cc=MANY[:25], bcc=MANY[25:]), {"cc", "bcc"}),
    (_with(cc=[*MANY, "one@example.com"]), {"cc"}),
    # Tags: short strings, at most 10.
    (_with(tags="order"), {"tags"}),
    (_with(tags=[1]), {"tags.0"}),
    (_with(tags=["has space"]), {"tags.0"}),
    (_with(tags=["x" * 65]), {"tags.0"}),
    (_with(tags=[f"t{i}" for i in range(11)]), {"tags"}),
    # Metadata: a small flat object.
    (_with(metadata=["a"]), {"metadata"}),
    (_with(metadata={"nested": {"a": 1}}), {"metadata"}),
    (_with(metadata={"list": [1]}), {"metadata"}),
    (_with(metadata={"$where": "x"}), {"metadata"}),
    (_with(metadata={"a.b": "x"}), {"metadata"}),
    (_with(metadata={"k": "v" * 513}), {"metadata"}),
    (_with(metadata={f"k{i}": i for i in range(21)}), {"metadata"}),
    (_with(metadata={"big": 2**64}), {"metadata"}),
    (_with(metadata={"nul\x00": 1}), {"metadata"}),
    (_with(unknown_field=1), {"unknown_field"}),
]


@pytest.mark.parametrize(("payload", "fields"), INVALID)
async def test_invalid_requests_are_400_naming_each_field(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, payload: dict[str, Any], fields: set[str]
) -> None:
    response = await api.post(SEND, json=payload, headers=tenant.headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in error["details"]} == fields
    assert all(d["message"] for d in error["details"])
    assert await db[Collections.MESSAGES].count_documents({}) == 0


async def test_accepted_shapes_of_recipients_tags_and_metadata(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    payload = _with(
        text="plain only",
        html=None,
        cc=MANY[:24],
        bcc=MANY[24:49],
        tags=["a", "order:2026/01", "x" * 64],
        metadata={"order_id": "12345", "n": 2**63 - 1, "ratio": 0.5, "vip": True, "ü": "ñ"},
        subject="Grüße 🎉",
    )
    response = await api.post(SEND, json=payload, headers=tenant.headers)
    assert response.status_code == 200, response.text
    [received] = await smtp.wait_for(1)
    assert len(received.rcpt_tos) == 50
    assert received.message["Subject"] == "Grüße 🎉"
    doc = await db[Collections.MESSAGES].find_one({"_id": response.json()["data"]["message_id"]})
    assert doc is not None
    assert doc["metadata"]["n"] == 2**63 - 1 and doc["tags"][1] == "order:2026/01"
