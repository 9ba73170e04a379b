"""Data retention: bodies purged by the scheduler after MESSAGE_RETENTION_DAYS (and the
status endpoint says when), messages and events deleted by TTL indexes after
MESSAGE_METADATA_RETENTION_DAYS, really, on whichever database the tests run against."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika

from mailpass_common.messages import events, retention
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import EventType, MessageDocument, new_message
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.db import Collections, Database, ensure_indexes
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.platform.settings import CommonSettings
from mailpass_scheduler.flush import flush
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.stack import running_gateway
from tests.support.tenants import make_tenant

DAY = 86400


def _message(
    account_id: str, provider_id: str, status: str, age: timedelta, number: int
) -> MessageDocument:
    doc = new_message(
        message_id=new_message_id("test.mailpass.local"),
        account_id=account_id,
        kind=MessageKind.IMMEDIATE,
        sandbox=False,
        provider_id=provider_id,
        from_email="noreply@acme.test",
        from_name=None,
        to=f"user{number}@example.com",
        subject=f"Invoice {number}",
        html=f"<p>Private {number}</p>",
        text=f"Private {number}",
    )
    # Inserted with their age: an update's $set of a date is a string on nx-27017.
    doc["created_at"] = doc["created_at"] - age
    doc["status"] = status
    return doc


async def test_bodies_are_purged_after_the_retention_and_the_status_says_when(
    db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=2525)
    assert tenant.provider is not None
    account, provider = tenant.account_id, tenant.provider["_id"]
    old = timedelta(days=31)
    expired = [_message(account, provider, "sent", old, i) for i in range(5)]
    expired.append(_message(account, provider, "failed", old, 5))
    kept = [
        _message(account, provider, "queued", old, 6),  # still to be sent: keeps its body
        _message(account, provider, "deferred", old, 7),
        _message(account, provider, "sent", timedelta(days=29), 8),
    ]
    await messages.insert_messages(db, [*expired, *kept])

    connection = await aio_pika.connect_robust(service_env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(service_env["amqp_prefix"]))
        # Chunks of two: the run goes on until nothing old is left.
        settings = SchedulerSettings(**service_env, scheduler_chunk_size=2)
        report = await flush(db, publisher, settings)
        again = await flush(db, publisher, settings)
    assert (report.bodies_purged, again.bodies_purged) == (6, 0)

    for doc in expired:
        purged = await db[Collections.MESSAGES].find_one({"_id": doc["_id"]})
        assert purged is not None
        assert purged["html"] is None and purged["text"] is None
        assert isinstance(purged["body_purged_at"], datetime)
        assert purged["subject"] == doc["subject"] and purged["to"] == doc["to"]
    for doc in kept:
        intact = await db[Collections.MESSAGES].find_one({"_id": doc["_id"]})
        assert intact is not None and intact["html"] == doc["html"]
        assert intact["body_purged_at"] is None

    async with running_gateway(service_env) as api:
        purged_view = await api.get(
            f"/api/v1/mail/status/{expired[0]['_id']}", headers=tenant.headers
        )
        kept_view = await api.get(f"/api/v1/mail/status/{kept[2]['_id']}", headers=tenant.headers)
    purged_at = purged_view.json()["data"]["message"]["body_purged_at"]
    assert datetime.fromisoformat(purged_at).replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(
        minutes=1
    )
    assert kept_view.json()["data"]["message"]["body_purged_at"] is None


async def test_retention_zero_keeps_bodies(db: Database, service_env: dict[str, Any]) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=2525)
    assert tenant.provider is not None
    doc = _message(tenant.account_id, tenant.provider["_id"], "sent", timedelta(days=400), 1)
    await messages.insert_messages(db, [doc])
    connection = await aio_pika.connect_robust(service_env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(service_env["amqp_prefix"]))
        settings = SchedulerSettings(
            **service_env, message_retention_days=0, message_metadata_retention_days=0
        )
        assert (await flush(db, publisher, settings)).bodies_purged == 0
    found = await db[Collections.MESSAGES].find_one({"_id": doc["_id"]})
    assert found is not None and found["html"] == doc["html"]


async def _ttl(db: Database, collection: str) -> int | None:
    for info in (await db[collection].index_information()).values():
        if [(field, int(order)) for field, order in info["key"]] == [("created_at", 1)]:
            expire = info.get("expireAfterSeconds")
            return None if expire is None else int(expire)
    return None


async def test_messages_and_events_are_deleted_by_ttl_indexes(
    db: Database, service_env: dict[str, Any]
) -> None:
    short = CommonSettings(
        **service_env, message_retention_days=1 / DAY, message_metadata_retention_days=2 / DAY
    )
    await ensure_indexes(db, short)
    assert await _ttl(db, Collections.MESSAGES) == await _ttl(db, Collections.EVENTS) == 2

    doc = _message("acc_x", "prv_x", "sent", timedelta(0), 1)
    await messages.insert_messages(db, [doc])
    await events.insert_events(
        db,
        [
            events.event_document(
                message_id=doc["_id"], account_id="acc_x", event_type=EventType.OPEN, sandbox=False
            )
        ],
    )
    assert await db[Collections.MESSAGES].find_one({"_id": doc["_id"]}) is not None
    # MongoDB's TTL monitor runs every 60 s; nx-27017 deletes expired documents when the
    # collection is next read.
    deadline = asyncio.get_running_loop().time() + 150
    while True:
        message = await db[Collections.MESSAGES].find_one({"_id": doc["_id"]})
        event = await db[Collections.EVENTS].find_one({"message_id": {"$eq": doc["_id"]}})
        if message is None and event is None:
            break
        assert asyncio.get_running_loop().time() < deadline, "the TTL indexes deleted nothing"
        await asyncio.sleep(0.5)

    # The period follows the settings on the next start: changed, and dropped with 0.
    await ensure_indexes(db, CommonSettings(**service_env))
    assert await _ttl(db, Collections.MESSAGES) == await _ttl(db, Collections.EVENTS) == 90 * DAY
    await ensure_indexes(db, CommonSettings(**service_env, message_metadata_retention_days=0))
    assert (
        await _ttl(db, Collections.MESSAGES) is None and await _ttl(db, Collections.EVENTS) is None
    )


def test_bodies_cannot_outlive_the_metadata() -> None:
    for bodies, metadata in [(100, 90), (0, 90)]:
        try:
            CommonSettings(message_retention_days=bodies, message_metadata_retention_days=metadata)
        except ValueError as exc:
            assert "MESSAGE_RETENTION_DAYS" in str(exc)
        else:
            raise AssertionError(f"{bodies} / {metadata} days were accepted")


async def test_sweeps_are_spaced_out_across_runs(db: Database) -> None:
    # The first run sweeps; later ones only once the interval has passed; 0: every run.
    assert await retention.sweep_due(db, 300, now=1000.0)
    assert not await retention.sweep_due(db, 300, now=1001.0)
    assert not await retention.sweep_due(db, 300, now=1299.0)
    assert await retention.sweep_due(db, 300, now=1300.0)
    assert not await retention.sweep_due(db, 300, now=1300.5)
    assert await retention.sweep_due(db, 0, now=1300.6)
    racing = [retention.sweep_due(db, 300, now=1700.0) for _ in range(5)]
    assert sum(await asyncio.gather(*racing)) == 1
