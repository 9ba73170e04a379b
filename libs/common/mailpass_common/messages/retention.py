"""Data retention: message bodies go first, the rest of a message and its events later.

- **Bodies** (``html``, ``text``) are the personal content of a message; they are
  removed ``MESSAGE_RETENTION_DAYS`` (30) after the message was accepted, once it is
  final (``sent`` or ``failed``: a message still waiting keeps what it must send). The
  message keeps everything else, and ``body_purged_at`` says when.
- **Messages and events** are deleted whole ``MESSAGE_METADATA_RETENTION_DAYS`` (90)
  after they were created, by TTL indexes on ``created_at``
  (:func:`mailpass_common.platform.db.ensure_indexes`): MongoDB's TTL monitor removes them
  within about a minute of expiry, in the background.

Why bodies are purged by a sweep and not a TTL: a TTL index deletes whole documents, and
the body lives inside the message document. Keeping bodies in a collection of their own
would give every send a second write and every delivery a second read, the hot path's
round trips, for the sake of a deletion that can wait a minute. So the scheduler sweeps
(:func:`purge_bodies`), in chunks, with its own index ``(body_purged_at, created_at)``:
the query walks only bodies still present and old enough, so a run costs what it purges,
whatever the number of messages kept. The index is written at the insert and at the
purge only (status changes do not touch it).

On nx-27017 (development and tests) TTL indexes do delete, but lazily: expired documents
go when the collection is next read, and that read then pays a query that scans the
collection (date comparisons there are not index-served). See README.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages.models import MessageStatus
from mailpass_common.platform.db import Collections, Database, now_stamp, where

FINAL = (MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.CANCELLED)


def bodies_expire_before(retention_days: float, now: datetime | None = None) -> datetime | None:
    """Messages accepted before this have their bodies purged; None keeps them forever."""
    if not retention_days:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=retention_days)


async def purge_bodies(db: Database, before: datetime, chunk: int) -> int:
    """Remove the bodies of final messages accepted before ``before``, ``chunk`` at a
    time; return how many were purged.

    One query per status (no ``$in`` on a field other than ``_id``), each walking the
    sweep index. The update names the status again: a failed message an operator
    replays in between (back to ``queued``) keeps its body.
    """
    messages = db[Collections.MESSAGES]
    purged = 0
    for status in FINAL:
        selector = where(body_purged_at=None, created_at={"$lt": before}, status=status.value)
        while True:
            found = await (
                messages.find(selector, projection={"_id": 1, "body_chunks": 1, "body_id": 1})
                .sort([("body_purged_at", 1), ("created_at", 1)])
                .limit(chunk)
                .to_list()
            )
            if not found:
                break
            result = await messages.update_many(
                {
                    "_id": {"$in": [doc["_id"] for doc in found]},
                    **where(body_purged_at=None, status=status.value),
                },
                {
                    "$set": {"html": None, "text": None},
                    # A message submitted over SMTP keeps its (small) self in the document.
                    "$unset": {"raw_mime": ""},
                    **now_stamp("body_purged_at"),
                },
            )
            purged += result.modified_count
            # Attachments go with the bodies (a resend's borrowed ones stay with their owner).
            await bodies.delete(
                db,
                {
                    doc["_id"]: int(doc["body_chunks"])
                    for doc in found
                    if doc.get("body_chunks") and not doc.get("body_id")
                },
            )
            # Nothing changed (all replayed meanwhile): stop rather than find them again.
            if len(found) < chunk or not result.modified_count:
                break
    return purged


# The counter document that spaces sweeps out across runs and scheduler replicas.
SWEEP_STATE_ID = "retention:next-sweep"


async def sweep_due(db: Database, every_seconds: float, now: float | None = None) -> bool:
    """Whether this run sweeps: at most once every ``every_seconds`` (0: every run), across
    runs and replicas, decided by one conditional update of a counter document.

    Bodies expire after days, so a sweep every few minutes loses nothing, and the sweep's
    query, index-served on MongoDB, reads the whole collection on nx-27017 (it cannot
    serve ``body_purged_at: null`` from an index): run every 0.5 s by the dev loop, it
    took a third of the database's time in `make bench` with 100,000 stored messages.
    """
    if every_seconds <= 0:
        return True
    now = time.time() if now is None else now
    counters = db[Collections.COUNTERS]
    taken = await counters.update_one(
        {"_id": SWEEP_STATE_ID, "next_at": {"$lte": now}},
        {"$set": {"next_at": now + every_seconds}},
    )
    if taken.modified_count:
        return True
    if await counters.find_one({"_id": SWEEP_STATE_ID}, projection={"_id": 1}) is not None:
        return False  # swept recently
    try:
        await counters.insert_one({"_id": SWEEP_STATE_ID, "next_at": now + every_seconds})
    except DuplicateKeyError:
        return False  # another run took the first sweep
    return True
