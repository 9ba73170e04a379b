"""Scheduled send: messages that wait for their ``scheduled_at``.

A message accepted with a ``scheduled_at`` is stored ``scheduled`` (``published_at``
null) and nothing else happens to it until one of two conditional updates moves it on,
whichever comes first (status only moves forward):

- the scheduler finds it due and releases it: ``scheduled → queued``, still unpublished,
  so the same run publishes it like any batch message waiting for the scheduler: in
  queue order, within its provider's hourly and daily limits (nothing was reserved when
  it was accepted), under the run's stamp that keeps overlapping runs from publishing
  it twice (:mod:`mailpass_common.messages.due`);
- the account cancels it: ``scheduled → cancelled``, final.

Both filters name ``status: scheduled``, so a release and a cancel racing on one message
cannot both win. The due selection is ``status = scheduled and scheduled_at <= now`` in
``scheduled_at`` order, served by the index ``(status, scheduled_at)`` on MongoDB (partial:
it holds scheduled messages only, so a status change of any other costs it nothing) and on
nx-27017, whatever the number of other messages (``tests/delivery/test_scale.py``). On
nx-27017 the range part of that index narrows less than on MongoDB: the cost grows with
the number of messages *scheduled* (about 10 ms per 1,000 on the test machine), as the
recovery queries' costs grow with the number of messages in their status. (A single-field
index on a field only waiting messages carry would spare status changes an index write,
but nx-27017 serves a range on the first index field without an equality before it by
scanning the collection: measured, 1.5 s at 50,000 messages.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from pymongo import ReturnDocument

from mailpass_common.messages.models import MessageDocument
from mailpass_common.messages.transitions import CANCEL, RELEASE
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where

MAX_AHEAD_DAYS = 30
IN_DUE_ORDER = [("status", 1), ("scheduled_at", 1)]


def due_selector(now: datetime) -> dict[str, Any]:
    return {**RELEASE.selector(), **where(scheduled_at={"$lte": now})}


async def due(db: Database, now: datetime, limit: int) -> list[Document]:
    """Up to ``limit`` scheduled messages due at ``now`` (id, account and mode), the longest
    due first."""
    cursor = (
        db[Collections.MESSAGES]
        .find(due_selector(now), projection={"_id": 1, "account_id": 1, "sandbox": 1})
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
            "$set": RELEASE.fields(published_at=None),
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
        {**where(_id=message_id, account_id=account_id, sandbox=sandbox), **CANCEL.selector()},
        {
            "$set": CANCEL.fields(),
            **now_stamp("cancelled_at", "updated_at"),
        },
        return_document=ReturnDocument.AFTER,
    )
    return cast(MessageDocument | None, found)
