"""While RabbitMQ cannot take a retry job, delivered messages are still recorded.

Found by ``make chaos``: a sender killed during the broker's restart sent 43 messages a
second time. Its one record worker was retrying a batch whose deferred message could not
be parked (the broker was away), and recorded nothing else meanwhile, so every message
the provider accepted in those seconds stayed ``sending``: a crash then re-sends them
all. Outcomes that need only MongoDB must not wait for the broker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_sender.retry import RetryDelay
from mailpass_sender.router import BrokerJobRouter
from tests.delivery.support import FAST_RETRIES
from tests.support.broker import publish
from tests.support.messages import insert_messages, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import add_provider, make_account, smtp_config


async def test_a_delivery_is_recorded_while_a_retry_cannot_be_parked(
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker_back = asyncio.Event()
    park = BrokerJobRouter.retry_later

    async def park_when_the_broker_is_back(
        router: BrokerJobRouter, job: SendJob, kind: MessageKind, delay: RetryDelay
    ) -> None:
        if not broker_back.is_set():
            raise aio_pika.exceptions.AMQPConnectionError("the broker is restarting")
        await park(router, job, kind, delay)

    monkeypatch.setattr(BrokerJobRouter, "retry_later", park_when_the_broker_is_back)
    account_id = await make_account(db)
    provider = await add_provider(
        db, service_env, account_id, name="p", config=smtp_config(smtp.port), default=True
    )
    deferred, delivered = await insert_messages(db, account_id, provider["_id"], 2)
    smtp.handler.fail_next = ["451 4.3.0 try again later"]
    async with running_sender(service_env, sender_record_retry_seconds=30, **FAST_RETRIES):
        await publish(service_env, [deferred])
        await wait_for_status(db, deferred["_id"], "deferred")  # recorded; its park fails
        await publish(service_env, [delivered])
        await smtp.wait_for(1)
        # Recorded at once, not after the broker comes back.
        await wait_for_status(db, delivered["_id"], "sent", timeout=3)
        broker_back.set()
        await wait_for_status(db, deferred["_id"], "sent", timeout=20)
    assert len(smtp.received) == 2
