"""Failover: when the default provider fails temporarily (or its circuit is open), the
account's fallbacks are tried in ``fallback_priority`` order, and the status records which
provider delivered. A message fails only after every provider refused it for good."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.providers.limits import usage
from mailpass_common.providers.models import ProviderDocument
from tests.delivery.support import FAST_RETRIES
from tests.support.broker import ReplyQueue, publish
from tests.support.fake_http_apis import FakeSendGrid
from tests.support.messages import event_types, insert_messages, timeline, wait_for_status
from tests.support.services import free_port
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import add_provider, make_account, smtp_config


@pytest.fixture
def primary() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def backup() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


async def _account(
    db: Database, env: dict[str, Any], primary_port: int, backup_port: int
) -> tuple[str, ProviderDocument, ProviderDocument]:
    account_id = await make_account(db)
    default = await add_provider(
        db, env, account_id, name="primary", config=smtp_config(primary_port), default=True
    )
    # A provider without fallback_priority is never a fallback.
    await add_provider(db, env, account_id, name="unused", config=smtp_config(free_port()))
    fallback = await add_provider(
        db, env, account_id, name="backup", config=smtp_config(backup_port), fallback_priority=1
    )
    return account_id, default, fallback


async def test_a_fallback_delivers_when_the_default_fails_temporarily(
    db: Database, service_env: dict[str, Any], primary: SmtpServer, backup: SmtpServer
) -> None:
    primary.handler.fail_next = ["421 4.3.2 shutting down"]
    account_id, default, fallback = await _account(db, service_env, primary.port, backup.port)
    [doc] = await insert_messages(db, account_id, default["_id"], 1)
    async with running_sender(service_env, **FAST_RETRIES), ReplyQueue(service_env) as replies:
        await publish(service_env, [doc], reply_to=replies.name)
        sent = await wait_for_status(db, doc["_id"], "sent")
        await replies.wait_for(1)
        [received] = await backup.wait_for(1)

    assert received.message["Message-ID"] == doc["_id"] and primary.received == []
    assert sent.get("delivered_by") == fallback["_id"] and sent["provider_type"] == "smtp"
    assert sent["attempts"] == 1  # one attempt, two providers
    assert bool(sent.get("fallback")) is True  # read through bool(): nx-27017 gives 0/1
    assert await event_types(db, doc["_id"]) == ["sent"]
    assert [r.status for r, _ in replies.replies] == ["sent"]


async def test_fallbacks_are_tried_in_priority_order_up_to_an_http_provider(
    db: Database, service_env: dict[str, Any], backup: SmtpServer
) -> None:
    sendgrid = FakeSendGrid().start()
    try:
        account_id = await make_account(db)
        # The default is down: nothing listens on its port.
        default = await add_provider(
            db, service_env, account_id, name="down", config=smtp_config(free_port()), default=True
        )
        await add_provider(
            db,
            service_env,
            account_id,
            name="sendgrid",
            type="sendgrid",
            config={"base_url": sendgrid.base_url},
            secrets={"api_key": sendgrid.api_key},
            fallback_priority=1,
        )
        backup.handler.fail_next = []
        await add_provider(
            db,
            service_env,
            account_id,
            name="last",
            config=smtp_config(backup.port),
            fallback_priority=2,
        )
        [doc] = await insert_messages(db, account_id, default["_id"], 1, kind=MessageKind.BATCH)
        async with running_sender(service_env, **FAST_RETRIES):
            await publish(service_env, [doc])
            sent = await wait_for_status(db, doc["_id"], "sent")
    finally:
        sendgrid.stop()

    assert sent["provider_type"] == "sendgrid"
    assert sent["provider_message_id"] == sendgrid.message_ids[0]
    [body] = sendgrid.received
    assert body["personalizations"][0]["to"] == [{"email": doc["to"]}]
    assert backup.received == []  # priority 2 was not needed


async def test_an_open_circuit_skips_the_default(
    db: Database, service_env: dict[str, Any], primary: SmtpServer, backup: SmtpServer
) -> None:
    primary.handler.fail_next = ["421 4.3.2 overloaded"] * 10
    account_id, default, fallback = await _account(db, service_env, primary.port, backup.port)
    docs = await insert_messages(db, account_id, default["_id"], 5)
    settings = {**FAST_RETRIES, "circuit_failure_threshold": 2, "circuit_open_seconds": 600}
    async with running_sender(service_env, **settings):
        for doc in docs:  # one at a time, so the order of failures is known
            await publish(service_env, [doc])
            sent = await wait_for_status(db, doc["_id"], "sent")
            assert sent.get("delivered_by") == fallback["_id"]

    # Two temporary failures opened the circuit: the next three never reached the default.
    assert len(primary.handler.fail_next) == 10 - 2
    assert len(backup.received) == 5


async def test_the_message_fails_only_when_every_provider_refused_for_good(
    db: Database, service_env: dict[str, Any], primary: SmtpServer, backup: SmtpServer
) -> None:
    primary.handler.fail_next = ["550 5.7.1 sender rejected"]
    backup.handler.fail_next = ["554 5.7.1 relay denied"]
    account_id, default, _ = await _account(db, service_env, primary.port, backup.port)
    [doc] = await insert_messages(db, account_id, default["_id"], 1)
    async with running_sender(service_env, **FAST_RETRIES), ReplyQueue(service_env) as replies:
        await publish(service_env, [doc], reply_to=replies.name)
        failed = await wait_for_status(db, doc["_id"], "failed")
        await replies.wait_for(1)

    expected = "primary: 550 5.7.1 sender rejected; backup: 554 5.7.1 relay denied"
    assert failed["error_message"] == expected
    assert [(r.status, r.error_message) for r, _ in replies.replies] == [("failed", expected)]
    assert await event_types(db, doc["_id"]) == ["failed"]


async def test_a_permanent_refusal_fails_over_and_a_temporary_one_is_retried(
    db: Database, service_env: dict[str, Any], primary: SmtpServer, backup: SmtpServer
) -> None:
    # The default refuses (say, its credentials are wrong); the fallback is only busy.
    primary.handler.fail_next = ["535 5.7.8 authentication failed"] * 2
    backup.handler.fail_next = ["451 4.3.0 busy"]
    account_id, default, fallback = await _account(db, service_env, primary.port, backup.port)
    [doc] = await insert_messages(db, account_id, default["_id"], 1)
    async with running_sender(service_env, **FAST_RETRIES), ReplyQueue(service_env) as replies:
        await publish(service_env, [doc], reply_to=replies.name)
        sent = await wait_for_status(db, doc["_id"], "sent")
        await replies.wait_for(1)

    assert sent.get("delivered_by") == fallback["_id"] and sent["attempts"] == 2
    assert len(backup.received) == 1 and primary.received == []
    events = await timeline(db, doc["_id"])
    assert [e["event_type"] for e in events] == ["deferred", "sent"]
    assert events[0]["detail"] == (
        "primary: 535 5.7.8 authentication failed; backup: 451 4.3.0 busy"
    )
    assert [r.status for r, _ in replies.replies] == ["deferred"]


async def test_a_fallback_that_refuses_gets_its_reservation_back(
    db: Database, service_env: dict[str, Any], primary: SmtpServer, backup: SmtpServer
) -> None:
    primary.handler.fail_next = ["451 4.3.0 busy"] * 2
    backup.handler.fail_next = ["451 4.3.0 busy too"]
    account_id = await make_account(db)
    default = await add_provider(
        db, service_env, account_id, name="primary", config=smtp_config(primary.port), default=True
    )
    fallback = await add_provider(
        db,
        service_env,
        account_id,
        name="backup",
        config=smtp_config(backup.port),
        fallback_priority=1,
        hourly_limit=10,
    )
    [doc] = await insert_messages(db, account_id, default["_id"], 1)
    async with running_sender(service_env, **FAST_RETRIES):
        await publish(service_env, [doc])
        await wait_for_status(db, doc["_id"], "sent")
    # Reserved twice (each attempt), refused once: one send counted, the one that went out.
    assert len(backup.received) == 1 and primary.received == []
    assert await usage(db, fallback) == {"hourly": 1}
