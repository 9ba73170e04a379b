"""GET /api/v1/mail/status/{message_id}: the spec's shape, id forms, events and isolation."""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mailpass_common.messages import events
from mailpass_common.messages.models import EventType
from mailpass_common.platform.db import Database
from mailpass_gateway.mail import examples
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SPEC_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


async def _send(api: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await api.post(
        "/api/v1/mail/send", json=examples.SEND_REQUEST, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    message_id: str = response.json()["data"]["message_id"]
    return message_id


async def test_status_has_the_spec_shape_with_events_oldest_first(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, smtp: SmtpServer
) -> None:
    message_id = await _send(api, tenant)
    opened_at = datetime.now(UTC) + timedelta(seconds=5)
    # Tracking events as the tracker writes them, inserted out of order.
    await db["events"].insert_many(
        [
            {
                "message_id": message_id,
                "account_id": tenant.account_id,
                "event_type": "click",
                "created_at": opened_at + timedelta(seconds=10),
                "ip_address": "192.168.1.1",
                "user_agent": "Mozilla/5.0...",
                "classification": "human",
                "url": "https://example.com/order",
            },
            {
                "message_id": message_id,
                "account_id": tenant.account_id,
                "event_type": "open",
                "created_at": opened_at,
                "ip_address": "192.168.1.1",
                "user_agent": "Mozilla/5.0...",
                "classification": "human",
            },
        ]
    )
    response = await api.get(f"/api/v1/mail/status/{message_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert set(body["data"]) == {"message", "events", "event_totals", "next_cursor"}
    assert body["data"]["event_totals"] == {"click": 1, "open": 1, "sent": 1}
    assert body["data"]["next_cursor"] is None
    message = body["data"]["message"]
    assert set(message) == set(examples.STATUS_RESPONSE["data"]["message"])
    assert message["message_id"] == message_id
    assert message["from_email"] == "support@yourdomain.com"
    assert message["to_email"] == "user@example.com"
    assert message["subject"] == "Order Confirmation"
    assert message["status"] == "sent" and message["error_message"] is None
    assert SPEC_DATE.match(message["sent_at"]) and SPEC_DATE.match(message["created_at"])
    assert message["sent_at"] >= message["created_at"]

    events = body["data"]["events"]
    assert [e["event_type"] for e in events] == ["sent", "open", "click"]
    sent, opened, clicked = events
    assert sent["ip_address"] is None and "detail" in sent
    assert set(opened) == {*examples.STATUS_RESPONSE["data"]["events"][0], "classification"}
    assert opened["ip_address"] == "192.168.1.1" and opened["user_agent"] == "Mozilla/5.0..."
    assert opened["created_at"] == f"{opened_at:%Y-%m-%dT%H:%M:%S}"
    assert clicked["url"] == "https://example.com/order"
    assert clicked["classification"] == "human"


async def test_dates_are_utc(api: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    message_id = await _send(api, tenant)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    response = await api.get(f"/api/v1/mail/status/{message_id}", headers=tenant.headers)
    created = datetime.fromisoformat(response.json()["data"]["message"]["created_at"])
    assert before <= created.replace(tzinfo=UTC) <= datetime.now(UTC)


async def test_id_with_or_without_brackets_and_url_encoded(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    message_id = await _send(api, tenant)
    bare = message_id.strip("<>")
    for form in (
        message_id,
        bare,
        urllib.parse.quote(message_id, safe=""),
        urllib.parse.quote(bare, safe=""),
        urllib.parse.quote(urllib.parse.quote(message_id, safe=""), safe=""),
    ):
        response = await api.get(f"/api/v1/mail/status/{form}", headers=tenant.headers)
        assert response.status_code == 200, form
        assert response.json()["data"]["message"]["message_id"] == message_id


async def test_status_reports_the_real_status_and_error(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    smtp.handler.fail_next.append("451 4.3.0 Try again later")
    response = await api.post(
        "/api/v1/mail/send", json=examples.SEND_REQUEST_CURL, headers=tenant.headers
    )
    message_id = response.json()["data"]["message_id"]
    status = await api.get(f"/api/v1/mail/status/{message_id}", headers=tenant.headers)
    message = status.json()["data"]["message"]
    assert message["status"] == "deferred" and message["sent_at"] is None
    assert "451" in message["error_message"]
    [event] = status.json()["data"]["events"]
    assert event["event_type"] == "deferred" and "451" in event["detail"]


async def test_missing_message_and_another_accounts_message_are_both_404(
    api: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    message_id = await _send(api, tenant)
    other = await make_tenant(db, service_env, "other", smtp_port=smtp.port)
    await events.insert_events(
        db,
        [
            events.event_document(
                message_id=message_id,
                account_id=tenant.account_id,
                event_type=EventType.OPEN,
                sandbox=False,
            )
        ],
    )
    theirs = await api.get(f"/api/v1/mail/status/{message_id}", headers=other.headers)
    missing = await api.get("/api/v1/mail/status/nope@nowhere", headers=other.headers)
    huge = await api.get(f"/api/v1/mail/status/{'x' * 5000}", headers=other.headers)
    for response in (theirs, missing, huge):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert theirs.json()["error"]["message"] == missing.json()["error"]["message"]


async def test_a_long_history_comes_in_pages_newest_first_with_totals(
    api: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    message_id = await _send(api, tenant)
    start = datetime.now(UTC) + timedelta(seconds=2)
    # 2,400 opens and clicks, in runs sharing a millisecond (and seconds sharing many),
    # the ties a cursor must get through without losing or repeating an event.
    history = [
        {
            "message_id": message_id,
            "account_id": tenant.account_id,
            "event_type": "open" if i % 4 else "click",
            "created_at": start + timedelta(milliseconds=(i // 3) * 7),
            "ip_address": f"10.0.{i // 250}.{i % 250}",
            "user_agent": "Mozilla/5.0",
            "seq": i,
        }
        for i in range(2400)
    ]
    for chunk in range(0, len(history), 800):
        await db["events"].insert_many(history[chunk : chunk + 800])
    url = f"/api/v1/mail/status/{message_id}"

    first = (await api.get(url, headers=tenant.headers)).json()["data"]
    assert len(first["events"]) == 100  # the newest 100, oldest first
    assert [e["ip_address"] for e in first["events"]] == [e["ip_address"] for e in history[-100:]]
    assert first["event_totals"] == {"click": 600, "open": 1800, "sent": 1}

    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        params = {"limit": 1000, **({"before": cursor} if cursor else {})}
        response = await api.get(url, params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["event_totals"] == first["event_totals"]
        seen = data["events"] + seen
        pages += 1
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [e["event_type"] for e in seen[:1]] == ["sent"]  # the oldest: the delivery
    assert [e["ip_address"] for e in seen[1:]] == [e["ip_address"] for e in history]


async def test_bad_paging_parameters_are_validation_errors(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    message_id = await _send(api, tenant)
    url = f"/api/v1/mail/status/{message_id}"
    cases: list[tuple[dict[str, str | int], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"before": "not-a-cursor"}, "before"),
        ({"before": "AAAA"}, "before"),
        ({"before": "x" * 65}, "before"),
    ]
    for params, field in cases:
        response = await api.get(url, params=params, headers=tenant.headers)
        assert response.status_code == 400, (params, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert [d["field"] for d in error["details"]] == [field], params
