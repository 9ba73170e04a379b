"""Dates: the spec's endpoints keep the spec's format; every other answer and webhook
payload is RFC 3339 in UTC with Z, to the millisecond."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.webhooks.outbox import WebhookEvent, event_document
from tests.support.tenants import make_tenant

RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SPEC_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
DATE_KEYS = re.compile(r".*(_at|_since|_until)$|^(start|end|timestamp)$")


def dates(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, date) of a JSON answer, by the keys that name dates."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in dates(v, k)]
    if isinstance(value, list):
        return [found for v in value for found in dates(v, key)]
    return [(key, value)] if DATE_KEYS.match(key) and isinstance(value, str) else []


def test_api_datetime() -> None:
    assert api_datetime(datetime(2026, 1, 30, 12, 0, 0)) == "2026-01-30T12:00:00.000Z"
    paris = timezone(timedelta(hours=1))
    aware = datetime(2026, 1, 30, 13, 0, 0, 123456, tzinfo=paris)
    assert api_datetime(aware) == "2026-01-30T12:00:00.123Z"
    assert api_datetime(None) is None


async def test_other_endpoints_write_rfc3339_and_the_spec_keeps_its_own(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(
        db, service_env, "acme", smtp_port=2525, permissions=tuple(Permission)
    )
    auth = tenant.headers
    batch = await api.post(
        "/api/v1/mail/send-batch",
        json={"messages": [{"to": "a@example.com", "subject": "Hi", "text": "x"}]},
        headers=auth,
    )
    [queued] = batch.json()["data"]["messages"]
    await api.post("/api/v1/suppressions", json={"address": "s@example.com"}, headers=auth)
    hook = {"url": "http://127.0.0.1:9/h", "events": ["sent"]}
    await api.post("/api/v1/webhooks", json=hook, headers=auth)
    others: list[tuple[str, str]] = []
    for path in (
        "/api/v1/mail/messages",
        "/api/v1/stats",
        "/api/v1/keys",
        "/api/v1/providers",
        "/api/v1/webhooks",
        "/api/v1/suppressions",
    ):
        response = await api.get(path, headers=auth)
        assert response.status_code == 200, (path, response.text)
        others += dates(response.json())
    keys = {key for key, _ in others}
    assert {"created_at", "start", "end", "updated_at"} <= keys, keys
    assert [d for d in others if not RFC3339_Z.fullmatch(d[1])] == []

    status = await api.get(f"/api/v1/mail/status/{queued['message_id']}", headers=auth)
    spec = dates(status.json())
    assert spec and all(SPEC_DATE.fullmatch(value) for _, value in spec), spec


def test_webhook_payloads_write_rfc3339() -> None:
    event = WebhookEvent(
        account_id="acc", sandbox=False, event_type="sent", key="k", data={"message_id": "<a@b>"}
    )
    doc = event_document(event, ["ep_1"])
    assert RFC3339_Z.fullmatch(doc["payload"]["timestamp"]), doc["payload"]
