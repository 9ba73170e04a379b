"""No quota leaks: a reservation comes back when its send did not happen, test keys never
touch a provider's quota, and batch messages of a deleted provider are never published
without limits."""

from __future__ import annotations

from typing import Any

import aio_pika
import httpx

from mailpass_common.messages import service as messages
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.providers import limits
from mailpass_common.providers import service as providers
from mailpass_gateway.mail import examples
from mailpass_scheduler.flush import FlushReport, flush
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.messages import insert_messages, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.tenants import add_provider, make_tenant, smtp_config


async def _flush(env: dict[str, Any], db: Database) -> FlushReport:
    connection = await aio_pika.connect_robust(env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(env["amqp_prefix"]))
        return await flush(db, publisher, SchedulerSettings(**env))


async def test_a_send_whose_message_could_not_be_stored_gives_its_reservation_back(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port, hourly_limit=5)
    assert tenant.provider is not None
    # A real refusal by the database: a second message with the same subject breaks this
    # (test-only) unique index, after its send was reserved.
    await db[Collections.MESSAGES].create_index("subject", unique=True)
    first = await api.post("/api/v1/mail/send", json=examples.SEND_REQUEST, headers=tenant.headers)
    assert first.status_code == 200, first.text
    for _ in range(3):
        refused = await api.post(
            "/api/v1/mail/send", json=examples.SEND_REQUEST, headers=tenant.headers
        )
        assert refused.status_code == 500 and refused.json()["error"]["code"] == ("INTERNAL_ERROR")
    assert await limits.usage(db, tenant.provider) == {"hourly": 1}


async def test_test_key_batches_skip_the_scheduler_and_the_quota(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    sandbox: SmtpServer,
) -> None:
    tenant = await make_tenant(
        db, service_env, "sandboxed", smtp_port=smtp.port, hourly_limit=1, test_key=True
    )
    assert tenant.provider is not None
    batch = {"messages": [{**examples.SEND_REQUEST_CURL, "subject": f"Hi {i}"} for i in range(3)]}
    response = await api.post("/api/v1/mail/send-batch", json=batch, headers=tenant.headers)
    assert response.status_code == 200, response.text
    ids = [item["message_id"] for item in response.json()["data"]["messages"]]
    for message_id in ids:  # published by the gateway at once, to the sandbox only
        sent = await wait_for_status(db, message_id, "sent")
        assert sent["published_at"] is not None and sent["delivered_by"] == "sandbox"
    assert len(sandbox.received) == 3 and smtp.received == []
    assert (await _flush(service_env, db)).batch_published == 0  # nothing left for it
    assert await limits.usage(db, tenant.provider) == {"hourly": 0}


async def test_batch_messages_of_a_deleted_provider_fail_with_no_smtp_provider(
    db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=2525, hourly_limit=100)
    assert tenant.provider is not None
    docs = await insert_messages(
        db, tenant.account_id, tenant.provider["_id"], 3, kind=MessageKind.BATCH
    )
    assert await providers.delete_provider(db, tenant.account_id, tenant.provider["_id"])
    report = await _flush(service_env, db)
    assert (report.batch_published, report.failed_without_provider) == (0, 3)
    for doc in docs:
        failed = await messages.get_message(db, doc["_id"])
        assert failed is not None and failed["status"] == "failed"
        assert (failed["error_message"] or "").startswith("NO_SMTP_PROVIDER:")


async def test_batch_messages_of_a_deleted_provider_go_to_the_new_default_within_its_limits(
    db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=2525, hourly_limit=100)
    assert tenant.provider is not None
    docs = await insert_messages(
        db, tenant.account_id, tenant.provider["_id"], 3, kind=MessageKind.BATCH
    )
    assert await providers.delete_provider(db, tenant.account_id, tenant.provider["_id"])
    successor = await add_provider(
        db,
        service_env,
        tenant.account_id,
        name="successor",
        config=smtp_config(2526),
        hourly_limit=2,
        default=True,
    )
    first = await _flush(service_env, db)
    second = await _flush(service_env, db)
    assert first.reassigned == 3 and first.failed_without_provider == 0
    # Published by the new default within its limit of 2 an hour: the third waits.
    assert first.batch_published + second.batch_published == 2
    assert await limits.usage(db, successor) == {"hourly": 2}
    for doc in docs:
        moved = await messages.get_message(db, doc["_id"])
        assert moved is not None and moved["provider_id"] == successor["_id"]
