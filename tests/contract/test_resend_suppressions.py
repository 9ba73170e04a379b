"""A resend is screened against the suppression list like /send: a suppressed ``to`` is
refused (422 RECIPIENT_SUPPRESSED, nothing changed), suppressed cc/bcc are dropped from
the new message and listed."""

from __future__ import annotations

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.suppressions import service as suppressions
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from tests.contract.test_messages import send
from tests.contract.test_resend import REJECTED, resend_path
from tests.support.messages import wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant


async def _suppress(db: Database, tenant: Tenant, *addresses: str) -> None:
    await suppressions.add_many(
        db,
        [Suppression(tenant.account_id, a, SuppressionReason.BOUNCE, "api") for a in addresses],
    )


async def test_a_resend_to_a_suppressed_address_is_refused(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.fail_next.append(REJECTED)
    failed = await send(api, tenant, to="gone@example.com")
    await _suppress(db, tenant, "Gone@Example.com")

    response = await api.post(resend_path(failed), headers=tenant.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "RECIPIENT_SUPPRESSED"
    assert error["details"] == {"address": "gone@example.com", "reason": "bounce"}
    old = await db[Collections.MESSAGES].find_one({"_id": failed})
    assert old is not None and "resent_as" not in old  # refused before anything changed
    assert len(smtp.received) == 0


async def test_a_resend_drops_suppressed_cc_and_bcc(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.fail_next.append(REJECTED)
    failed = await send(
        api,
        tenant,
        cc=["keep@example.com", "cc-gone@example.com"],
        bcc=["bcc-gone@example.com", "hidden@example.com"],
    )
    await _suppress(db, tenant, "cc-gone@example.com", "BCC-gone@example.com")

    response = await api.post(resend_path(failed), headers=tenant.headers)
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["suppressed"] == [
        {"address": "cc-gone@example.com", "field": "cc", "reason": "bounce"},
        {"address": "bcc-gone@example.com", "field": "bcc", "reason": "bounce"},
    ]
    new = await wait_for_status(db, data["message_id"], "sent")
    assert new["cc"] == ["keep@example.com"] and new["bcc"] == ["hidden@example.com"]
    [received] = await smtp.wait_for(1)
    assert sorted(received.rcpt_tos) == [
        "ann@example.com",
        "hidden@example.com",
        "keep@example.com",
    ]
