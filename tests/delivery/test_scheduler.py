"""The scheduler's flush: batch messages in queue order within each provider's limits,
recovery of stuck messages, overlapping runs, and the CronJob's exit code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika

from mailpass_common.platform import broker
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.providers.limits import usage, windows
from mailpass_scheduler.flush import FlushReport, flush
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.messages import insert_messages
from tests.support.processes import BIN, process_env
from tests.support.services import free_port
from tests.support.tenants import add_provider, make_account, smtp_config


async def _flush(env: dict[str, Any], db: Database, **settings: Any) -> FlushReport:
    connection = await aio_pika.connect_robust(env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(env["amqp_prefix"]))
        return await flush(db, publisher, SchedulerSettings(**env, **settings))


async def _published(env: dict[str, Any], kind: MessageKind) -> list[str]:
    """Take every job from the work queue: the message ids, in publish order."""
    connection = await aio_pika.connect(env["amqp_url"])
    async with connection:
        channel = await connection.channel()
        queues = await broker.declare(channel, Topology(env["amqp_prefix"]))
        ids: list[str] = []
        while (message := await queues[kind].get(no_ack=True, fail=False)) is not None:
            ids.extend(SendJob.decode(message.body).message_ids)
        return ids


async def test_batch_messages_go_out_in_queue_order_within_the_limits(
    db: Database, service_env: dict[str, Any]
) -> None:
    account_id = await make_account(db)
    limited = await add_provider(
        db,
        service_env,
        account_id,
        name="limited",
        config=smtp_config(25),
        hourly_limit=8,
        daily_limit=5,
        default=True,
    )
    unlimited = await add_provider(db, service_env, account_id, name="free", config=smtp_config(25))
    # Inserted out of order: queue order is queue_id, not insertion.
    later = await insert_messages(
        db, account_id, limited["_id"], 6, kind=MessageKind.BATCH, first_queue_id=107
    )
    earlier = await insert_messages(
        db, account_id, limited["_id"], 6, kind=MessageKind.BATCH, first_queue_id=101
    )
    free = await insert_messages(
        db, account_id, unlimited["_id"], 4, kind=MessageKind.BATCH, first_queue_id=201
    )
    window_keys = [w.key for w in windows(limited, datetime.now(UTC))]

    report = await _flush(service_env, db)
    published = await _published(service_env, MessageKind.BATCH)

    limited_ids = [d["_id"] for d in earlier + later]
    assert [i for i in published if i in limited_ids] == limited_ids[:5]  # the daily limit
    assert sorted(i for i in published if i not in limited_ids) == sorted(d["_id"] for d in free)
    assert report.batch_published == 9 and report.held_by_limits == {limited["_id"]: 7}
    waiting = await db[Collections.MESSAGES].find({"published_at": None}).to_list()
    assert sorted(d["_id"] for d in waiting) == sorted(limited_ids[5:])
    assert all(d["status"] == "queued" for d in waiting)
    assert await usage(db, limited) == {"hourly": 5, "daily": 5}

    # The next run finds the windows full and publishes nothing more (unless a window
    # rolled over between the two runs, which makes room, as it should).
    report = await _flush(service_env, db)
    if [w.key for w in windows(limited, datetime.now(UTC))] == window_keys:
        assert report.batch_published == 0
        assert await _published(service_env, MessageKind.BATCH) == []


async def test_overlapping_runs_never_publish_a_message_twice(
    db: Database, service_env: dict[str, Any]
) -> None:
    account_id = await make_account(db)
    free = await add_provider(db, service_env, account_id, name="free", config=smtp_config(25))
    limited = await add_provider(
        db, service_env, account_id, name="limited", config=smtp_config(25), hourly_limit=40
    )
    free_docs = await insert_messages(db, account_id, free["_id"], 300, kind=MessageKind.BATCH)
    await insert_messages(
        db, account_id, limited["_id"], 100, kind=MessageKind.BATCH, first_queue_id=1001
    )

    reports = await asyncio.gather(*(_flush(service_env, db) for _ in range(3)))
    published = await _published(service_env, MessageKind.BATCH)

    assert len(published) == len(set(published)) == 340
    assert sum(r.batch_published for r in reports) == 340
    assert set(d["_id"] for d in free_docs) <= set(published)
    assert await usage(db, limited) == {"hourly": 40}  # reserved exactly what was published


async def test_recovery_republishes_stuck_messages_once(
    db: Database, service_env: dict[str, Any]
) -> None:
    account_id = await make_account(db)
    provider = await add_provider(db, service_env, account_id, name="p", config=smtp_config(25))
    docs = await insert_messages(db, account_id, provider["_id"], 6)
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    states: list[dict[str, Any]] = [
        {"status": "queued", "published_at": long_ago},  # the gateway's publish was lost
        {"status": "sending", "claimed_at": long_ago, "published_at": long_ago},  # sender died
        {"status": "deferred", "claimed_at": long_ago, "published_at": long_ago},  # retry lost
        {"status": "sending", "claimed_at": datetime.now(UTC), "published_at": long_ago},
        {"status": "sent", "published_at": long_ago},
        {"status": "queued"},  # published just now
    ]
    await db[Collections.MESSAGES].delete_many({})
    await db[Collections.MESSAGES].insert_many(
        [{**doc, **state} for doc, state in zip(docs, states, strict=True)]
    )
    stale = {
        "scheduler_republish_after_seconds": 60,
        "scheduler_stale_sending_seconds": 60,
        "scheduler_republish_deferred_after_seconds": 60,
    }

    report = await _flush(service_env, db, **stale)
    assert report.recovered == 3
    assert sorted(await _published(service_env, MessageKind.IMMEDIATE)) == sorted(
        d["_id"] for d in docs[:3]
    )
    assert (await _flush(service_env, db, **stale)).recovered == 0


async def _scheduler(env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-scheduler"),
        "flush",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_the_cronjob_logs_what_it_did_and_exits_non_zero_on_failure(
    db: Database, service_env: dict[str, Any]
) -> None:
    account_id = await make_account(db)
    provider = await add_provider(db, service_env, account_id, name="p", config=smtp_config(25))
    await insert_messages(db, account_id, provider["_id"], 3, kind=MessageKind.BATCH)

    code, output = await _scheduler(process_env(service_env, log_level="INFO"))
    assert code == 0, output
    assert '"message": "flush done"' in output and '"batch_published": 3' in output

    broken = process_env(
        service_env,
        amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        startup_timeout_seconds=1,
    )
    code, output = await _scheduler(broken)
    assert code == 1 and "flush failed" in output
