"""Numeric, increasing sequences (the batch ``queue_id``) kept in the ``counters`` collection.

A range of ``n`` values is reserved with one atomic ``$inc``, so concurrent batches never
share a value and one batch's ids are consecutive. Sequences are per account: a tenant's
``queue_id`` never reveals how much mail other tenants queue.
"""

from __future__ import annotations

import contextlib

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, Document


def queue_id_sequence(account_id: str) -> str:
    return f"queue_id:{account_id}"


async def _increment(db: Database, key: str, count: int) -> Document | None:
    return await db[Collections.COUNTERS].find_one_and_update(
        {"_id": key}, {"$inc": {"value": count}}, return_document=ReturnDocument.AFTER
    )


async def reserve_range(db: Database, name: str, count: int) -> int:
    """Reserve ``count`` consecutive values of sequence ``name``; returns the first one.

    The sequence starts at 1. Its document is created on first use with a plain insert
    (an upsert would not report a concurrent creation on the nx-27017 wire server), and
    has no ``expires_at``, so the counters' TTL index never removes it.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    doc = await _increment(db, name, count)
    if doc is None:
        with contextlib.suppress(DuplicateKeyError):  # another request created it first
            await db[Collections.COUNTERS].insert_one({"_id": name, "value": 0})
        doc = await _increment(db, name, count)
    if doc is None:
        raise RuntimeError(f"sequence {name!r} could not be created")
    return int(doc["value"]) - count + 1
