"""Messages in the database as the gateway stores them, and waiting for their outcome."""

from __future__ import annotations

import asyncio

from mailpass_common.messages import events
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import MessageDocument, new_message
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.jobs import MessageKind


async def insert_messages(
    db: Database,
    account_id: str,
    provider_id: str,
    count: int,
    *,
    kind: MessageKind = MessageKind.IMMEDIATE,
    first_queue_id: int = 1,
) -> list[MessageDocument]:
    """``count`` plain-text messages (``queued``; batch ones not yet published)."""
    docs = [
        new_message(
            message_id=new_message_id("test.mailpass.local"),
            account_id=account_id,
            kind=kind,
            sandbox=False,
            provider_id=provider_id,
            from_email="noreply@acme.test",
            from_name=None,
            to=f"user{first_queue_id + i}@example.com",
            subject=f"Hello {first_queue_id + i}",
            html=None,
            text=f"Message {first_queue_id + i}",
            queue_id=first_queue_id + i if kind is MessageKind.BATCH else None,
        )
        for i in range(count)
    ]
    await messages.insert_messages(db, docs)
    return docs


async def wait_for_status(
    db: Database, message_id: str, *statuses: str, timeout: float = 20.0
) -> MessageDocument:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        doc = await messages.get_message(db, message_id)
        if doc is not None and doc["status"] in statuses:
            return doc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{message_id} is {doc and doc['status']}, not {statuses}")
        await asyncio.sleep(0.05)


async def timeline(db: Database, message_id: str) -> list[Document]:
    """The message's events and outcome, oldest first, as the status endpoint shows them."""
    doc = await messages.get_message(db, message_id)
    assert doc is not None, message_id
    return await events.timeline(db, doc)


async def event_types(db: Database, message_id: str) -> list[str]:
    return [str(event["event_type"]) for event in await timeline(db, message_id)]
