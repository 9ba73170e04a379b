"""A send refused with 429 stores nothing, its attachments included (the README: a
request refused before anything was stored releases its key)."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from tests.contract.test_attachments import REPORT, SEND, _file, _mail
from tests.support.readme import readme_text
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant


async def test_a_send_over_the_limit_stores_no_attachment_chunk(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "limited", smtp_port=smtp.port, hourly_limit=1)
    first = await api.post(SEND, json={**_mail(), "attachments": []}, headers=tenant.headers)
    assert first.status_code == 200, first.text

    headers = {**tenant.headers, "Idempotency-Key": "report-1"}
    for attempt in ({}, headers):  # without and with an Idempotency-Key
        refused = await api.post(
            SEND,
            json=_mail(_file("report.pdf", REPORT, "application/pdf")),
            headers=attempt or tenant.headers,
        )
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "SEND_LIMIT_EXCEEDED"
    assert await db[Collections.MESSAGE_BODIES].find({}).to_list() == []
    assert await db[Collections.MESSAGES].count_documents({}) == 1
    assert "A request refused before\n  anything was stored (400, 422, 429)" in readme_text()
