"""GET /api/v1/stats: counts over the last 24 hours or 7 days, live and test apart."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Database
from tests.contract.test_messages import send
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

STATS = "/api/v1/stats"


async def test_counts_what_was_sent_and_failed_in_hourly_and_daily_buckets(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    sandbox: SmtpServer,
    db: Database,
    service_env: dict[str, Any],
) -> None:
    smtp.handler.fail_next.append("550 5.1.1 <ann@example.com>: Recipient address rejected")
    for _ in range(3):
        await send(api, tenant)
    tester = await make_tenant(db, service_env, "acme", smtp_port=None, test_key=True)
    await send(api, tester)

    day = await api.get(STATS, headers=tenant.headers)
    assert day.status_code == 200, day.text
    data = day.json()["data"]
    assert data["window"] == "24h" and data["sandbox"] is False and data["capped"] is False
    assert data["totals"] == {
        "accepted": 3,
        "sent": 2,
        "failed": 1,
        "pending": 0,
        "deferred": 0,
        "opens": 0,
        "clicks": 0,
    }
    assert len(data["buckets"]) == 24 and data["buckets"][-1]["accepted"] == 3
    assert (
        data["buckets"][0]["start"] == data["start"] and data["buckets"][-1]["end"] == data["end"]
    )

    week = (await api.get(STATS, params={"window": "7d"}, headers=tenant.headers)).json()["data"]
    assert len(week["buckets"]) == 7 and week["totals"]["sent"] == 2

    test = (await api.get(STATS, headers=tester.headers)).json()["data"]
    assert test["sandbox"] is True and test["totals"]["sent"] == 1
    live = await api.get(STATS, params={"sandbox": "false"}, headers=tester.headers)
    assert live.status_code == 403
    bad = await api.get(STATS, params={"window": "1y"}, headers=tenant.headers)
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "window"
