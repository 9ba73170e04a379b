"""POST /api/v1/mail/send-batch: queueing, per-message failures, and delivery by the scheduler."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mailpass_common.platform.broker import JobPublisher, Topology, connect
from mailpass_common.platform.db import Collections, Database
from mailpass_gateway.mail import examples
from mailpass_scheduler.flush import flush
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.messages import wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

BATCH = "/api/v1/mail/send-batch"


async def run_scheduler_flush(db: Database, env: dict[str, Any]) -> None:
    """One run of the scheduler (the CronJob), against this test's database and queues."""
    settings = SchedulerSettings(**env)
    connection = await connect(settings.amqp_url)
    async with connection:
        await flush(db, JobPublisher(connection, Topology(settings.amqp_prefix)), settings)


async def test_spec_batch_is_queued_then_delivered_by_the_scheduler(
    api: httpx.AsyncClient,
    smtp: SmtpServer,
    db: Database,
    service_env: dict[str, Any],
) -> None:
    # A provider with limits: batch messages wait for the scheduler, which publishes them
    # as the limits allow.
    tenant = await make_tenant(db, service_env, "limited", smtp_port=smtp.port, hourly_limit=100)
    response = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert set(data) == {"total", "queued", "failed", "messages"}
    assert (data["total"], data["queued"], data["failed"]) == (2, 2, 0)
    first, second = data["messages"]
    assert set(first) == {"to", "status", "queue_id", "message_id"}
    assert [first["to"], second["to"]] == ["a@example.com", "b@example.com"]
    assert first["status"] == second["status"] == "queued"
    assert isinstance(first["queue_id"], int) and second["queue_id"] == first["queue_id"] + 1

    docs = await db[Collections.MESSAGES].find({}).sort("queue_id", 1).to_list()
    assert [d["status"] for d in docs] == ["queued", "queued"]
    assert all(d["kind"] == "batch" and d["published_at"] is None for d in docs)
    assert [d["queue_id"] for d in docs] == [first["queue_id"], second["queue_id"]]
    await asyncio.sleep(0.5)
    assert smtp.received == []  # nothing goes out before the scheduler publishes it

    await run_scheduler_flush(db, service_env)
    received = await smtp.wait_for(2)
    by_to = {r.rcpt_tos[0]: r.message for r in received}
    assert by_to["a@example.com"]["From"] == "Your App <support@yourdomain.com>"
    assert by_to["b@example.com"]["Subject"] == "Hello B"
    # The relay has the message before the sender records it: wait for the record.
    await wait_for_status(db, first["message_id"], "sent", timeout=10)
    status = await api.get(f"/api/v1/mail/status/{first['message_id']}", headers=tenant.headers)
    assert status.json()["data"]["message"]["status"] == "sent"


async def test_a_batch_without_limits_goes_out_at_once(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    messages = [
        {"to": f"user{i}@example.com", "subject": f"Hello {i}", "text": "Hi"} for i in range(100)
    ]
    response = await api.post(BATCH, json={"messages": messages}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["queued"] == 100
    received = await smtp.wait_for(100)  # no scheduler run: published with the insert
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(m["to"] for m in messages)
    docs = await db[Collections.MESSAGES].find({}).to_list()
    assert all(d["published_at"] is not None for d in docs)


async def test_curl_batch_example_and_increasing_queue_ids(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    ids = []
    for _ in range(2):
        response = await api.post(BATCH, json=examples.BATCH_REQUEST_CURL, headers=tenant.headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["queued"] == 2
        ids += [m["queue_id"] for m in response.json()["data"]["messages"]]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_mixed_batch_fails_only_the_invalid_messages(
    api: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    payload = {
        "messages": [
            {"to": "a@example.com", "subject": "A", "html": "<p>A</p>"},
            {"to": "not-an-address", "subject": "B", "html": "<p>B</p>"},
            "not an object",
            {"to": "d@example.com", "subject": "D\r\nBcc: x@example.com", "text": "D"},
            {"to": "e@example.com", "subject": "E", "text": "E", "from_email": "own@example.com"},
            {"to": "f@example.com", "subject": "F"},
        ],
        "from_email": "batch@example.com",
        "from_name": "Batch",
    }
    response = await api.post(BATCH, json=payload, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["total"], data["queued"], data["failed"]) == (6, 2, 4)
    items = data["messages"]
    assert [m["status"] for m in items] == [
        "queued",
        "failed",
        "failed",
        "failed",
        "queued",
        "failed",
    ]
    assert [m["to"] for m in items] == [
        "a@example.com",
        "not-an-address",
        None,
        "d@example.com",
        "e@example.com",
        "f@example.com",
    ]
    fields = [{d["field"] for d in m["error"]["details"]} for m in items if "error" in m]
    assert fields == [{"to"}, {"message"}, {"subject"}, {"html", "text"}]
    assert all(m["error"]["code"] == "VALIDATION_ERROR" for m in items if "error" in m)
    assert all("queue_id" not in m for m in items if m["status"] == "failed")

    docs = {d["to"]: d for d in await db[Collections.MESSAGES].find({}).to_list()}
    assert set(docs) == {"a@example.com", "e@example.com"}
    assert docs["a@example.com"]["from_email"] == "batch@example.com"
    assert docs["a@example.com"]["from_name"] == "Batch"
    assert docs["e@example.com"]["from_email"] == "own@example.com"


async def test_batch_sizes_outside_1_to_100_are_refused(
    api: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    one = {"to": "a@example.com", "subject": "A", "text": "A"}
    payload: object
    for payload in (
        {"messages": []},
        {"messages": [one] * 101},
        {"messages": one},
        {},
        {"messages": [one], "from_email": "bad"},
        {"messages": [one], "extra": 1},
    ):
        response = await api.post(BATCH, json=payload, headers=tenant.headers)
        assert response.status_code == 400, payload
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    response = await api.post(BATCH, json={"messages": [one] * 100}, headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["data"]["queued"] == 100
    assert await db[Collections.MESSAGES].count_documents({}) == 100


async def test_batch_without_a_from_address_anywhere_fails_those_messages(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "nofrom", smtp_port=smtp.port, from_email=None)
    payload = {
        "messages": [
            {"to": "a@example.com", "subject": "A", "text": "A"},
            {"to": "b@example.com", "subject": "B", "text": "B", "from_email": "b@example.com"},
        ]
    }
    response = await api.post(BATCH, json=payload, headers=tenant.headers)
    data = response.json()["data"]
    assert [m["status"] for m in data["messages"]] == ["failed", "queued"]
    assert data["messages"][0]["error"]["details"][0]["field"] == "from_email"


async def test_batch_without_default_provider_is_422(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(db, service_env, "bare", smtp_port=None)
    response = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "NO_SMTP_PROVIDER"
