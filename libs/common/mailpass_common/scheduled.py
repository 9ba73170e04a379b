"""Scheduled send: messages that wait for their ``scheduled_at``.

A message accepted with a ``scheduled_at`` is stored ``scheduled`` (``published_at``
null) and nothing else happens to it until one of two conditional updates moves it on,
whichever comes first (status only moves forward):

- the scheduler finds it due and releases it: ``scheduled → queued``, still unpublished,
  so the same run publishes it like any batch message waiting for the scheduler: in
  queue order, within its provider's hourly and daily limits (nothing was reserved when
  it was accepted), under the run's stamp that keeps overlapping runs from publishing
  it twice (:mod:`mailpass_common.outbox`);
- the account cancels it: ``scheduled → cancelled``, final.

Both filters name ``status: scheduled``, so a release and a cancel racing on one message
cannot both win. While a message is scheduled it also carries ``due_at`` (its
``scheduled_at``), which both updates remove: the due selection is ``due_at <= now`` in
``due_at`` order, served by the index on ``due_at`` on MongoDB and on nx-27017, which holds
only the messages still waiting (an index on ``status, scheduled_at`` would cost every
status change of every message a write).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from pymongo import ReturnDocument

from mailpass_common.db import Database, Document, now_stamp, where
from mailpass_common.documents import Collections, MessageDocument, MessageStatus

MAX_AHEAD_DAYS = 30
IN_DUE_ORDER = [("due_at", 1)]


def due_selector(now: datetime) -> dict[str, Any]:
    return where(due_at={"$lte": now}, status=MessageStatus.SCHEDULED.value)


async def due(db: Database, now: datetime, limit: int) -> list[Document]:
    """Up to ``limit`` scheduled messages due at ``now``, the longest due first."""
    cursor = (
        db[Collections.MESSAGES]
        .find(due_selector(now), projection={"_id": 1})
        .sort(IN_DUE_ORDER)
        .limit(limit)
    )
    return await cursor.to_list()


async def release(db: Database, ids: Sequence[str], now: datetime) -> int:
    """Move due messages of ``ids`` that are still scheduled to ``queued`` (unpublished):
    the scheduler's batch publishing takes them from there."""
    if not ids:
        return 0
    result = await db[Collections.MESSAGES].update_many(
        {"_id": {"$in": list(ids)}, **due_selector(now)},
        {
            "$set": {"status": MessageStatus.QUEUED.value, "published_at": None},
            "$unset": {"due_at": ""},
            **now_stamp("updated_at"),
        },
    )
    return result.modified_count


async def cancel(
    db: Database, account_id: str, message_id: str, *, sandbox: bool
) -> MessageDocument | None:
    """Cancel the account's message while it is still scheduled; the message as it is now,
    or None when it was not scheduled (or is not the account's, or of the key's mode)."""
    found = await db[Collections.MESSAGES].find_one_and_update(
        where(
            _id=message_id,
            account_id=account_id,
            sandbox=sandbox,
            status=MessageStatus.SCHEDULED.value,
        ),
        {
            "$set": {"status": MessageStatus.CANCELLED.value},
            "$unset": {"due_at": ""},
            **now_stamp("cancelled_at", "updated_at"),
        },
        return_document=ReturnDocument.AFTER,
    )
    return cast(MessageDocument | None, found)
