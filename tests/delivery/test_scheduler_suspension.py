"""The scheduler leaves a suspended account's mail alone: its due batch and scheduled
messages are not published (no provider limit taken), its lost jobs are not recovered;
after the unsuspension the next run publishes and recovers them. Another account's mail
goes on meanwhile (real scheduler runs on RabbitMQ and the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika

from mailpass_common.platform import broker
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.providers.limits import usage
from mailpass_common.tenants import accounts
from mailpass_scheduler.flush import FlushReport, flush
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.messages import insert_messages
from tests.support.tenants import add_provider, make_account, smtp_config

STALE: dict[str, Any] = {"scheduler_republish_after_seconds": 60}


async def _flush(env: dict[str, Any], db: Database) -> FlushReport:
    connection = await aio_pika.connect_robust(env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(env["amqp_prefix"]))
        return await flush(db, publisher, SchedulerSettings(**env, **STALE))


async def _published(env: dict[str, Any], kind: MessageKind) -> set[str]:
    """Take every job from the work queue: the message ids."""
    connection = await aio_pika.connect(env["amqp_url"])
    async with connection:
        channel = await connection.channel()
        queues = await broker.declare(channel, Topology(env["amqp_prefix"]))
        ids: set[str] = set()
        while (message := await queues[kind].get(no_ack=True, fail=False)) is not None:
            ids.update(SendJob.decode(message.body).message_ids)
        return ids


async def _mail(db: Database, env: dict[str, Any], name: str) -> dict[str, Any]:
    """An account with a limited provider, 3 due batch messages, a due scheduled message
    (live) and one in sandbox, and a lost immediate job (published long ago, still queued)."""
    account_id = await make_account(db, name)
    provider = await add_provider(
        db, env, account_id, name="p", config=smtp_config(25), hourly_limit=100, default=True
    )
    batch = await insert_messages(db, account_id, provider["_id"], 3, kind=MessageKind.BATCH)
    timed = await insert_messages(db, account_id, provider["_id"], 2, kind=MessageKind.BATCH)
    lost = await insert_messages(db, account_id, provider["_id"], 1)
    messages = db[Collections.MESSAGES]
    past = datetime.now(UTC) - timedelta(minutes=10)
    for doc, sandbox in zip(timed, (False, True), strict=True):
        await messages.update_one(
            {"_id": doc["_id"]},
            {"$set": {"status": "scheduled", "scheduled_at": past, "sandbox": sandbox}},
        )
    await messages.update_one({"_id": lost[0]["_id"]}, {"$set": {"published_at": past}})
    return {
        "account_id": account_id,
        "provider": provider,
        "batch": {d["_id"] for d in batch + timed},
        "lost": {lost[0]["_id"]},
    }


async def test_a_suspended_accounts_mail_waits_for_the_unsuspension(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme = await _mail(db, service_env, "acme")
    globex = await _mail(db, service_env, "globex")
    await accounts.set_suspended(db, acme["account_id"], True)

    report = await _flush(service_env, db)
    assert await _published(service_env, MessageKind.BATCH) == globex["batch"]
    assert await _published(service_env, MessageKind.IMMEDIATE) == globex["lost"]
    assert report.batch_published == 4 and report.recovered == 1
    assert report.held_by_suspension == [acme["provider"]["_id"]]
    assert await usage(db, acme["provider"]) == {"hourly": 0}  # no limit taken
    assert await usage(db, globex["provider"]) == {"hourly": 4}  # the live ones
    held = await db[Collections.MESSAGES].find({"account_id": acme["account_id"]}).to_list()
    assert {d["status"] for d in held} == {"queued"}  # the scheduled ones wait as queued
    unpublished = {d["_id"] for d in held if d.get("published_at") is None}
    assert unpublished == acme["batch"]
    assert all(d.get("publish_run") is None for d in held)

    # A second run while suspended: still nothing of acme's.
    report = await _flush(service_env, db)
    assert report.batch_published == 0 and report.recovered == 0
    assert await _published(service_env, MessageKind.BATCH) == set()
    assert await _published(service_env, MessageKind.IMMEDIATE) == set()

    await accounts.set_suspended(db, acme["account_id"], False)
    report = await _flush(service_env, db)
    assert await _published(service_env, MessageKind.BATCH) == acme["batch"]
    assert await _published(service_env, MessageKind.IMMEDIATE) == acme["lost"]
    assert report.held_by_suspension == [] and report.recovered == 1
    assert await usage(db, acme["provider"]) == {"hourly": 4}
