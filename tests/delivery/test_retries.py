"""Temporary failures are retried through RabbitMQ delay queues; permanent ones fail at once;
exhausted jobs end in the dead-letter queue, from which an operator replays them."""

from __future__ import annotations

import itertools
from typing import Any

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from tests.delivery.support import FAST_RETRIES, DroppingSmtpServer
from tests.support.broker import ReplyQueue, dead_letters, publish
from tests.support.messages import event_types, insert_messages, timeline, wait_for_status
from tests.support.processes import run_cli
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import add_provider, make_account, smtp_config


async def _one_message(
    db: Database, env: dict[str, Any], port: int, kind: MessageKind = MessageKind.IMMEDIATE
) -> MessageDocument:
    account_id = await make_account(db)
    provider = await add_provider(
        db, env, account_id, name="primary", config=smtp_config(port), default=True
    )
    [doc] = await insert_messages(db, account_id, provider["_id"], 1, kind=kind)
    return doc


async def test_temporary_failures_are_retried_until_delivered(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    smtp.handler.fail_next = ["421 4.3.2 service not available", "451 4.3.0 try again later"]
    doc = await _one_message(db, service_env, smtp.port)
    async with running_sender(service_env, **FAST_RETRIES), ReplyQueue(service_env) as replies:
        await publish(service_env, [doc], reply_to=replies.name)
        sent = await wait_for_status(db, doc["_id"], "sent")
        await replies.wait_for(1)
        [received] = await smtp.wait_for(1)

    assert received.message["Message-ID"] == doc["_id"]
    assert sent["attempts"] == 3 and sent["error_message"] is None
    assert sent["provider_type"] == "smtp"
    events = await timeline(db, doc["_id"])
    assert [e["event_type"] for e in events] == ["deferred", "deferred", "sent"]
    # Each retry waited out its delay in RabbitMQ (backoff: the second delay is longer).
    first, second = events[0]["retry_in_seconds"], events[1]["retry_in_seconds"]
    assert 0.3 <= first <= 0.5 and 0.6 <= second <= 1.0
    for deferred, following in itertools.pairwise(events):
        waited = (following["created_at"] - deferred["created_at"]).total_seconds()
        assert waited >= deferred["retry_in_seconds"] - 0.01
    # The gateway hears the first deferral (and answers 202), and nothing after it.
    assert [(r.status, r.error_message) for r, _ in replies.replies] == [
        ("deferred", "421 4.3.2 service not available")
    ]


async def test_a_dropped_connection_is_a_temporary_failure(
    db: Database, service_env: dict[str, Any]
) -> None:
    server = DroppingSmtpServer(drop_next=1).start()
    try:
        doc = await _one_message(db, service_env, server.port, MessageKind.BATCH)
        async with running_sender(service_env, **FAST_RETRIES):
            await publish(service_env, [doc])
            sent = await wait_for_status(db, doc["_id"], "sent")
        assert len(server.received) == 1
    finally:
        server.stop()
    assert sent["attempts"] == 2
    events = await timeline(db, doc["_id"])
    assert [e["event_type"] for e in events] == ["deferred", "sent"]
    assert "SMTP session failed" in events[0]["detail"]


async def test_permanent_refusal_fails_at_once_with_the_reply(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    smtp.handler.fail_next = ["550 5.1.1 mailbox unavailable"]
    doc = await _one_message(db, service_env, smtp.port)
    async with running_sender(service_env, **FAST_RETRIES), ReplyQueue(service_env) as replies:
        await publish(service_env, [doc], reply_to=replies.name)
        failed = await wait_for_status(db, doc["_id"], "failed")
        await replies.wait_for(1)

    assert failed["error_message"] == "550 5.1.1 mailbox unavailable"
    assert failed["attempts"] == 1 and failed["sent_at"] is None
    assert smtp.received == []
    assert await event_types(db, doc["_id"]) == ["failed"]
    assert [(r.status, r.error_message) for r, _ in replies.replies] == [
        ("failed", "550 5.1.1 mailbox unavailable")
    ]
    assert await dead_letters(service_env) == []  # a refusal is not an operator's problem


async def test_exhausted_retries_dead_letter_the_job_and_replay_delivers_it(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    smtp.handler.fail_next = ["451 4.7.1 greylisted"] * FAST_RETRIES["sender_max_attempts"]
    doc = await _one_message(db, service_env, smtp.port, MessageKind.BATCH)
    async with running_sender(service_env, **FAST_RETRIES):
        await publish(service_env, [doc])
        failed = await wait_for_status(db, doc["_id"], "failed")
        assert failed["error_message"] == "451 4.7.1 greylisted"
        assert failed["attempts"] == 3
        assert await event_types(db, doc["_id"]) == ["deferred", "deferred", "failed"]

        [dead] = await dead_letters(service_env)
        assert dead.job is not None and dead.job.message_ids == (doc["_id"],)
        assert dead.reason == "exhausted" and dead.error == "451 4.7.1 greylisted"

        code, listing = await run_cli(service_env, "dlq", "list")
        assert code == 0, listing
        assert doc["_id"] in listing and "exhausted" in listing and "failed" in listing
        assert len(await dead_letters(service_env)) == 1  # listing leaves it in place

        code, output = await run_cli(service_env, "dlq", "replay", "<nobody@nowhere>")
        assert code == 1 and "not in the dead-letter queue" in output

        code, output = await run_cli(service_env, "dlq", "replay", doc["_id"])
        assert code == 0, output
        sent = await wait_for_status(db, doc["_id"], "sent")
        [received] = await smtp.wait_for(1)

    assert received.message["Message-ID"] == doc["_id"]
    assert sent["attempts"] == 1  # replay starts a fresh attempt budget
    assert await dead_letters(service_env) == []
    assert await event_types(db, doc["_id"]) == [
        "deferred",
        "deferred",
        "failed",
        "queued",
        "sent",
    ]
