"""A sender holds only what its batch prefetch lets in: never a whole backlog claimed.

Batch jobs name up to 100 messages, and the sender claims a job's messages as soon as the
job arrives. With a prefetch counted in jobs, a sender would otherwise claim thousands of
messages at once, keep them ``sending`` behind a slow relay for longer than their lease,
and leave all of them waiting for their lease when it dies.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mailpass_common.messages.models import MessageStatus
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind
from tests.delivery.test_scheduler import _flush
from tests.support.messages import insert_messages
from tests.support.processes import BIN, process_env
from tests.support.services import free_port
from tests.support.smtp import SmtpServer
from tests.support.tenants import add_provider, make_account, smtp_config

MESSAGES = 2000
PREFETCH = 3  # batch jobs in flight: at most 300 messages


async def test_a_sender_claims_no_more_than_its_batch_prefetch(
    db: Database, service_env: dict[str, Any]
) -> None:
    relay = SmtpServer(data_delay=0.01).start()  # a slow relay: ~100 messages/s a connection
    try:
        account_id = await make_account(db)
        provider = await add_provider(
            db, service_env, account_id, name="p", config=smtp_config(relay.port), default=True
        )
        await insert_messages(db, account_id, provider["_id"], MESSAGES, kind=MessageKind.BATCH)
        report = await _flush(service_env, db, scheduler_batch_size=MESSAGES)
        assert report.batch_published == MESSAGES
        # In hand is read off the database as `sending`: the claims the sender takes. The
        # claims given at acceptance (which a message holds from its publish, status
        # `queued`) are given up here, so the sender claims every message it takes.
        await db[Collections.MESSAGES].update_many({}, {"$set": {"claim_token": ""}})
        sender = await asyncio.create_subprocess_exec(
            str(BIN / "mailpass-sender"),
            env=process_env(
                service_env, management_port=free_port(), sender_batch_prefetch=PREFETCH
            ),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            most, deadline = 0, asyncio.get_running_loop().time() + 120
            while len(relay.received) < MESSAGES:
                assert asyncio.get_running_loop().time() < deadline, len(relay.received)
                sending = await db[Collections.MESSAGES].count_documents(
                    {"status": MessageStatus.SENDING.value}
                )
                most = max(most, sending)
                await asyncio.sleep(0.05)
        finally:
            sender.terminate()
            await sender.wait()
        assert 0 < most <= PREFETCH * 100, most
    finally:
        relay.stop()
