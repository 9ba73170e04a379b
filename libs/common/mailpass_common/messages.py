"""The message outbox: inserts, the atomic claim, forward-only transitions, and events.

Every transition is one conditional update whose filter names the statuses it may move
from, so status only moves forward (``queued → sending → sent``, ``sending → deferred →
sending``, ``→ failed``) however many senders race on one message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from mailpass_common.db import Database, Document, now_stamp
from mailpass_common.documents import CLAIMABLE, Collections, EventType, MessageStatus


async def insert_messages(db: Database, docs: list[Document]) -> None:
    """Insert new messages (status ``queued``) in one round trip."""
    if docs:
        await db[Collections.MESSAGES].insert_many(docs, ordered=True)


async def find_message(db: Database, account_id: str, message_id: str) -> Document | None:
    return await db[Collections.MESSAGES].find_one({"_id": message_id, "account_id": account_id})


async def claim(db: Database, message_id: str, lease: timedelta) -> Document | None:
    """Atomically take a message for delivery and return it, or None if it is not ours to send.

    Claimable: ``queued`` or ``deferred``, or ``sending`` whose lease has run out (the
    sender that held it died). ``sent`` and ``failed`` are never claimed again.
    """
    expired = datetime.now(UTC) - lease
    return await db[Collections.MESSAGES].find_one_and_update(
        {
            "_id": message_id,
            # One equality branch per status: nx-27017 (dev) drops a match when an $or
            # mixes an $in branch with a date comparison (MongoDB does not).
            "$or": [
                *({"status": s.value} for s in CLAIMABLE),
                {"status": MessageStatus.SENDING.value, "claimed_at": {"$lt": expired}},
            ],
        },
        {
            "$set": {"status": MessageStatus.SENDING.value},
            "$inc": {"attempts": 1},
            **now_stamp("claimed_at", "updated_at"),
        },
        return_document=ReturnDocument.AFTER,
    )


async def _transition(
    db: Database,
    message_id: str,
    to: MessageStatus,
    fields: dict[str, Any],
    stamps: tuple[str, ...],
) -> bool:
    result = await db[Collections.MESSAGES].update_one(
        {"_id": message_id, "status": MessageStatus.SENDING.value},
        {"$set": {"status": to.value, **fields}, **now_stamp("updated_at", *stamps)},
    )
    return result.modified_count == 1


async def mark_sent(
    db: Database,
    message_id: str,
    *,
    provider_id: str,
    provider_type: str,
    provider_message_id: str | None,
) -> bool:
    return await _transition(
        db,
        message_id,
        MessageStatus.SENT,
        {
            "error_message": None,
            "provider_id": provider_id,
            "provider_type": provider_type,
            "provider_message_id": provider_message_id,
        },
        ("sent_at",),
    )


async def mark_failed(db: Database, message_id: str, error: str) -> bool:
    return await _transition(db, message_id, MessageStatus.FAILED, {"error_message": error}, ())


async def mark_deferred(db: Database, message_id: str, error: str) -> bool:
    return await _transition(db, message_id, MessageStatus.DEFERRED, {"error_message": error}, ())


async def add_event(
    db: Database, *, message_id: str, account_id: str, event_type: EventType, **fields: Any
) -> None:
    await db[Collections.EVENTS].insert_one(
        {
            "message_id": message_id,
            "account_id": account_id,
            "event_type": event_type.value,
            "created_at": datetime.now(UTC),
            **fields,
        }
    )


async def list_events(db: Database, account_id: str, message_id: str) -> list[Document]:
    cursor = (
        db[Collections.EVENTS]
        .find({"message_id": message_id, "account_id": account_id}, projection={"_id": 0})
        .sort([("created_at", 1), ("_id", 1)])
    )
    return await cursor.to_list()
