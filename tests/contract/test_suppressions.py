"""The suppression list: filled by SMTP 5xx on RCPT, enforced by /send and /send-batch,
managed through /api/v1/suppressions; against the real gateway, sender, broker and database."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.suppressions import service as suppressions
from mailpass_common.tenants.api_keys import Permission
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SEND = "/api/v1/mail/send"
BATCH = "/api/v1/mail/send-batch"
LIST = "/api/v1/suppressions"


def _mail(to: str, **extra: Any) -> dict[str, Any]:
    return {"to": to, "subject": "Hi", "text": "Hello", **extra}


async def test_rcpt_5xx_suppresses_the_address_and_the_next_send_is_refused(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.refuse_rcpt["gone@example.com"] = "550 5.1.1 <gone@example.com>: User unknown"
    first = await api.post(SEND, json=_mail("Gone@example.com"), headers=tenant.headers)
    assert first.status_code == 500, first.text
    message_id = first.json()["error"]["details"]["message_id"]
    entry = await suppressions.get(db, tenant.account_id, "gone@example.com")
    assert entry is not None
    assert entry["reason"] == "bounce" and entry["source"] == "smtp"
    assert entry["message_id"] == message_id and "5.1.1" in entry["detail"]

    again = await api.post(SEND, json=_mail("gone@EXAMPLE.com"), headers=tenant.headers)
    assert again.status_code == 422, again.text
    error = again.json()["error"]
    assert error["code"] == "RECIPIENT_SUPPRESSED"
    assert "gone@example.com" in error["message"]
    assert error["details"] == {"address": "gone@example.com", "reason": "bounce"}
    # Refused before anything was stored or offered to the provider.
    stored = await db[Collections.MESSAGES].find({"account_id": tenant.account_id}).to_list()
    assert [doc["_id"] for doc in stored] == [message_id]
    assert smtp.received == []


async def test_a_policy_refusal_at_rcpt_suppresses_nothing(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.refuse_rcpt["ann@example.com"] = "554 5.7.1 <ann@example.com>: Relay access denied"
    response = await api.post(SEND, json=_mail("ann@example.com"), headers=tenant.headers)
    assert response.status_code == 500, response.text
    assert await suppressions.get(db, tenant.account_id, "ann@example.com") is None


async def test_a_cc_refused_while_to_is_accepted_is_suppressed(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.refuse_rcpt["old@example.com"] = "550 No such user"
    body = _mail("ann@example.com", cc=["old@example.com"])
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    entry = await suppressions.get(db, tenant.account_id, "old@example.com")
    assert entry is not None and entry["detail"] == "550 No such user"


async def test_suppressed_cc_and_bcc_are_dropped_and_reported(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    for address in ("cc-gone@example.com", "bcc-gone@example.com"):
        added = await api.post(LIST, json={"address": address}, headers=tenant.headers)
        assert added.status_code == 201, added.text
    body = _mail(
        "ann@example.com",
        cc=["cc-gone@example.com", "bob@example.com"],
        bcc=["BCC-gone@example.com"],
    )
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["suppressed"] == [
        {"address": "cc-gone@example.com", "field": "cc", "reason": "manual"},
        {"address": "BCC-gone@example.com", "field": "bcc", "reason": "manual"},
    ]
    [received] = await smtp.wait_for(1)
    assert received.rcpt_tos == ["ann@example.com", "bob@example.com"]
    doc = await db[Collections.MESSAGES].find_one({"_id": response.json()["data"]["message_id"]})
    assert doc is not None and doc["cc"] == ["bob@example.com"] and doc["bcc"] == []


async def test_batch_entries_to_suppressed_addresses_fail_alone(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    await suppressions.add_many(
        db,
        [
            suppressions.Suppression(
                tenant.account_id, "x@example.com", suppressions.SuppressionReason.COMPLAINT, "ses"
            )
        ],
    )
    batch = {
        "messages": [
            _mail("a@example.com", bcc=["x@example.com"]),
            _mail("x@example.com"),
        ]
    }
    response = await api.post(BATCH, json=batch, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["total"], data["queued"], data["failed"]) == (2, 1, 1)
    queued, failed = data["messages"]
    assert queued["status"] == "queued"
    assert queued["suppressed"] == [
        {"address": "x@example.com", "field": "bcc", "reason": "complaint"}
    ]
    assert failed["status"] == "failed" and failed["to"] == "x@example.com"
    assert failed["error"]["code"] == "RECIPIENT_SUPPRESSED"
    [received] = await smtp.wait_for(1)
    assert received.rcpt_tos == ["a@example.com"]


async def test_list_add_remove_and_pages(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, service_env: dict[str, Any]
) -> None:
    for address in ("c@example.com", "a@example.com", "b@other.example", "A@Example.com"):
        await api.post(LIST, json={"address": address, "note": "asked"}, headers=tenant.headers)
    again = await api.post(LIST, json={"address": "a@example.com"}, headers=tenant.headers)
    assert again.status_code == 200 and again.json()["data"]["detail"] == "asked"

    page = (await api.get(LIST, params={"limit": 2}, headers=tenant.headers)).json()["data"]
    assert [s["address"] for s in page["suppressions"]] == ["a@example.com", "b@other.example"]
    assert page["suppressions"][0]["reason"] == "manual"
    assert page["suppressions"][0]["source"] == "api"
    rest = await api.get(
        LIST, params={"limit": 2, "after": page["next_cursor"]}, headers=tenant.headers
    )
    assert [s["address"] for s in rest.json()["data"]["suppressions"]] == ["c@example.com"]
    assert rest.json()["data"]["next_cursor"] is None
    by_prefix = await api.get(LIST, params={"prefix": "b"}, headers=tenant.headers)
    assert [s["address"] for s in by_prefix.json()["data"]["suppressions"]] == ["b@other.example"]

    removed = await api.delete(f"{LIST}/A@example.com", headers=tenant.headers)
    assert removed.status_code == 200 and removed.json()["data"]["address"] == "a@example.com"
    missing = await api.delete(f"{LIST}/a@example.com", headers=tenant.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"

    # Another account sees none of it; a test key reads but does not change.
    other = await make_tenant(db, service_env, "other", smtp_port=None)
    assert (await api.get(LIST, headers=other.headers)).json()["data"]["suppressions"] == []
    assert (await api.delete(f"{LIST}/c@example.com", headers=other.headers)).status_code == 404
    test_key = await make_tenant(
        db, service_env, "acme", smtp_port=None, permissions=(Permission.MAIL,), test_key=True
    )
    listed = await api.get(LIST, headers=test_key.headers)
    assert len(listed.json()["data"]["suppressions"]) == 2
    refused = await api.post(LIST, json={"address": "z@example.com"}, headers=test_key.headers)
    assert refused.status_code == 403, refused.text
    invalid = await api.post(LIST, json={"address": "not an address"}, headers=tenant.headers)
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "VALIDATION_ERROR"
