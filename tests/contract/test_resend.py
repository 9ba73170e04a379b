"""POST /api/v1/mail/messages/{id}/resend: a failed message goes out again as a new one."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from tests.contract.test_messages import send
from tests.support.messages import wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

REJECTED = "550 5.1.1 <ann@example.com>: Recipient address rejected"


def resend_path(message_id: str) -> str:
    return f"/api/v1/mail/messages/{urllib.parse.quote(message_id, safe='')}/resend"


async def test_a_failed_message_is_resent_as_a_new_linked_message(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.fail_next.append(REJECTED)
    failed = await send(api, tenant, subject="Receipt", html="<p>Paid</p>", tags=["receipt"])

    response = await api.post(resend_path(failed), headers=tenant.headers)
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "queued" and data["resent_from"] == failed
    assert data["to"] == "ann@example.com" and data["from"] == "noreply@acme.example.com"
    new_id = data["message_id"]
    assert new_id != failed

    delivered = await wait_for_status(db, new_id, "sent")
    assert delivered["resent_from"] == failed and delivered["tags"] == ["receipt"]
    [received] = await smtp.wait_for(1)
    assert received.message["Message-ID"] == new_id and received.message["Subject"] == "Receipt"
    old = await db[Collections.MESSAGES].find_one({"_id": failed})
    assert old is not None and old["status"] == "failed" and old["resent_as"] == new_id
    assert old["error_message"] == REJECTED  # its outcome and history stay as they were

    again = await api.post(resend_path(failed), headers=tenant.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "NOT_RESENDABLE"
    assert again.json()["error"]["details"]["resent_as"] == new_id
    not_failed = await api.post(resend_path(new_id), headers=tenant.headers)
    assert not_failed.status_code == 409
    assert not_failed.json()["error"]["details"] == {"message_id": new_id, "status": "sent"}
    # The id also works without its angle brackets, as the status endpoint takes it.
    bare = await api.post(resend_path(new_id.strip("<>")), headers=tenant.headers)
    assert bare.status_code == 409


async def test_other_accounts_and_test_keys_cannot_resend_what_they_cannot_see(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    service_env: dict[str, Any],
) -> None:
    smtp.handler.fail_next.append(REJECTED)
    failed = await send(api, tenant)
    other = await make_tenant(db, service_env, "other", smtp_port=smtp.port)
    tester = await make_tenant(db, service_env, "acme", smtp_port=None, test_key=True)
    for caller in (other, tester):
        response = await api.post(resend_path(failed), headers=caller.headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "NOT_FOUND"
    old = await db[Collections.MESSAGES].find_one({"_id": failed})
    assert old is not None and "resent_as" not in old


async def test_a_resend_counts_against_the_providers_limits(
    api: httpx.AsyncClient, smtp: SmtpServer, db: Database, service_env: dict[str, Any]
) -> None:
    limited = await make_tenant(db, service_env, "limited", smtp_port=smtp.port, hourly_limit=1)
    smtp.handler.fail_next.append(REJECTED)
    failed = await send(api, limited)
    response = await api.post(resend_path(failed), headers=limited.headers)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "SEND_LIMIT_EXCEEDED"
    old = await db[Collections.MESSAGES].find_one({"_id": failed})
    assert old is not None and "resent_as" not in old  # refused before anything changed
