"""Send limits at the boundary: concurrent requests never overshoot, and say when to retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers.limits import usage
from mailpass_gateway.mail import examples
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant


async def test_50_concurrent_sends_at_an_hourly_limit_of_10(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "limited", smtp_port=smtp.port, hourly_limit=10)
    responses = await asyncio.gather(
        *(
            api.post("/api/v1/mail/send", json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
            for _ in range(50)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 10 + [429] * 40
    seconds_to_next_hour = 3600 - (datetime.now(UTC).minute * 60 + datetime.now(UTC).second)
    for refused in (r for r in responses if r.status_code == 429):
        error = refused.json()["error"]
        assert error["code"] == "SEND_LIMIT_EXCEEDED"
        assert error["details"]["window"] == "hourly" and error["details"]["limit"] == 10
        retry_after = int(refused.headers["Retry-After"])
        assert retry_after == error["details"]["retry_after_seconds"]
        assert 1 <= retry_after <= 3601
        assert abs(retry_after - seconds_to_next_hour) <= 5
    assert tenant.provider is not None
    assert await usage(db, tenant.provider) == {"hourly": 10}
    assert await db[Collections.MESSAGES].count_documents({}) == 10
    await smtp.wait_for(10)
    assert len(smtp.received) == 10


async def test_test_keys_do_not_use_the_providers_quota(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(
        db, service_env, "sandboxed", smtp_port=smtp.port, hourly_limit=1, test_key=True
    )
    for _ in range(3):
        response = await api.post(
            "/api/v1/mail/send", json=examples.SEND_REQUEST_CURL, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
    assert smtp.received == []
