"""Scheduled send: ``scheduled_at`` on /send and on batch messages, the scheduler's release
when due (within limits), and cancelling; against the real gateway, sender, scheduler run,
broker and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from tests.contract.test_batch import run_scheduler_flush
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SEND = "/api/v1/mail/send"
BATCH = "/api/v1/mail/send-batch"


def _mail(to: str = "ann@example.com", **extra: Any) -> dict[str, Any]:
    return {"to": to, "subject": "Later", "text": "Hello", **extra}


def _in(delta: timedelta, offset_hours: int = 2) -> str:
    zone = timedelta(hours=offset_hours)
    return (datetime.now(UTC) + delta).astimezone(timezone(zone)).isoformat()


async def _make_due(db: Database, message_id: str) -> None:
    """Time passes: the message's scheduled time is now."""
    # $currentDate: a real date on both databases (see mailpass_common.messages.models).
    await db[Collections.MESSAGES].update_one(
        {"_id": message_id}, {"$currentDate": {"scheduled_at": True}}
    )


async def _status(api: httpx.AsyncClient, tenant: Tenant, message_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/mail/status/{message_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_scheduled_send_waits_then_the_scheduler_sends_it(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    service_env: dict[str, Any],
) -> None:
    when = datetime.now(UTC) + timedelta(hours=1)
    body = _mail(scheduled_at=when.astimezone(timezone(timedelta(hours=2))).isoformat())
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "scheduled"
    assert data["scheduled_at"] == f"{when:%Y-%m-%dT%H:%M:%S}"
    message_id = data["message_id"]
    status = await _status(api, tenant, message_id)
    assert status["message"]["status"] == "scheduled"
    assert status["message"]["scheduled_at"] == data["scheduled_at"]

    await run_scheduler_flush(db, service_env)  # not due yet: nothing happens
    doc = await db[Collections.MESSAGES].find_one({"_id": message_id})
    assert doc is not None and doc["status"] == "scheduled" and doc["published_at"] is None

    await _make_due(db, message_id)
    await run_scheduler_flush(db, service_env)
    [received] = await smtp.wait_for(1)
    assert received.message["Message-ID"] == message_id
    for _ in range(100):
        if (await _status(api, tenant, message_id))["message"]["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    doc = await db[Collections.MESSAGES].find_one({"_id": message_id})
    assert doc is not None and doc["status"] == "sent"


async def test_scheduled_at_is_checked(api: httpx.AsyncClient, tenant: Tenant) -> None:
    for value, expected in (
        ("2026-01-01T10:00:00", "timezone"),  # no offset
        (_in(timedelta(days=31)), "30 days"),
        ("next tuesday", "datetime"),
    ):
        response = await api.post(SEND, json=_mail(scheduled_at=value), headers=tenant.headers)
        assert response.status_code == 400, (value, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"][0]["field"] == "scheduled_at", error
        assert expected in error["details"][0]["message"], error


async def test_a_time_already_past_is_sent_now(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    body = _mail(scheduled_at=_in(-timedelta(minutes=5)))
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "sent"
    assert "scheduled_at" not in response.json()["data"]


async def test_cancel_while_scheduled_only(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    service_env: dict[str, Any],
) -> None:
    body = _mail(scheduled_at=_in(timedelta(days=2), -5))
    message_id = (await api.post(SEND, json=body, headers=tenant.headers)).json()["data"][
        "message_id"
    ]
    cancel = f"/api/v1/mail/messages/{message_id.strip('<>')}/cancel"
    other = await make_tenant(db, service_env, "other", smtp_port=None)
    assert (await api.post(cancel, headers=other.headers)).status_code == 404

    response = await api.post(cancel, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"message_id": message_id, "status": "cancelled"}
    again = await api.post(cancel, headers=tenant.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "NOT_CANCELLABLE"
    assert again.json()["error"]["details"]["status"] == "cancelled"

    await _make_due(db, message_id)  # due, but cancelled: the scheduler leaves it
    await run_scheduler_flush(db, service_env)
    status = await _status(api, tenant, message_id)
    assert status["message"]["status"] == "cancelled"
    assert [e["event_type"] for e in status["events"]][-1] == "cancelled"
    assert smtp.received == []

    sent = await api.post(SEND, json=_mail(), headers=tenant.headers)
    sent_id = sent.json()["data"]["message_id"]
    refused = await api.post(f"/api/v1/mail/messages/{sent_id}/cancel", headers=tenant.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {"message_id": sent_id, "status": "sent"}
    missing = await api.post("/api/v1/mail/messages/nope@x/cancel", headers=tenant.headers)
    assert missing.status_code == 404


async def test_scheduled_batch_messages_are_published_within_limits(
    api: httpx.AsyncClient, smtp: SmtpServer, db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(db, service_env, "limited", smtp_port=smtp.port, hourly_limit=1)
    later = _in(timedelta(hours=3))
    batch = {
        "messages": [
            _mail("a@example.com", scheduled_at=later),
            _mail("b@example.com", scheduled_at=later),
        ]
    }
    response = await api.post(BATCH, json=batch, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["total"], data["queued"], data["failed"]) == (2, 2, 0)
    assert [m["status"] for m in data["messages"]] == ["scheduled", "scheduled"]
    ids = [m["message_id"] for m in data["messages"]]
    for message_id in ids:
        await _make_due(db, message_id)
    await run_scheduler_flush(db, service_env)
    [received] = await smtp.wait_for(1)
    assert received.message["Message-ID"] == ids[0]  # queue order, one within the limit
    held = await db[Collections.MESSAGES].find_one({"_id": ids[1]})
    assert held is not None and held["status"] == "queued" and held["published_at"] is None
