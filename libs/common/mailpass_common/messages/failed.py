"""What may still happen to a failed message: an operator's replay (``mailpass dlq``), or
a resend as a new message (``POST /api/v1/messages/{id}/resend``), linked to it.

A replay is the one move back from ``failed`` (the ``REPLAY`` transition); a resend leaves
the failed message's status final and only records which message resent it.
"""

from __future__ import annotations

from typing import cast

from pymongo import ReturnDocument

from mailpass_common.messages.models import MessageDocument, MessageStatus
from mailpass_common.messages.transitions import REPLAY
from mailpass_common.platform.db import Collections, Database, now_stamp, where


async def requeue_failed(db: Database, message_id: str) -> MessageDocument | None:
    """Make a failed message claimable again with a fresh attempt budget (a DLQ replay);
    return it as it was, or None when it was not failed.

    The one move back from a final status, taken only on an operator's request; a message
    that is not failed (a duplicate letter, a replay already under way), or whose body
    was purged under the retention policy (nothing left to send), is left alone.
    The caller keeps the failure in the message's history (its events).
    """
    before = await db[Collections.MESSAGES].find_one_and_update(
        {**where(_id=message_id), **REPLAY.selector(), **where(body_purged_at=None)},
        {
            "$set": REPLAY.fields(
                attempts=0, backoff_waited_seconds=0, error_message=None, dead_lettered=False
            ),
            **now_stamp("published_at", "updated_at"),
        },
        return_document=ReturnDocument.BEFORE,
    )
    return cast(MessageDocument | None, before)


async def mark_resent(db: Database, account_id: str, message_id: str, new_id: str) -> bool:
    """Link a failed message to the message that resends it; False when it is not failed
    or was resent already (of two racing resends, one wins). Its status stays final."""
    result = await db[Collections.MESSAGES].update_one(
        {
            **where(_id=message_id, account_id=account_id, status=MessageStatus.FAILED.value),
            # Never written as null, so $exists means the same on MongoDB and nx-27017.
            "resent_as": {"$exists": False},
        },
        {"$set": {"resent_as": new_id}},
    )
    return result.modified_count == 1


async def unmark_resent(db: Database, message_id: str, new_id: str) -> None:
    """Undo :func:`mark_resent` when the new message could not be stored."""
    await db[Collections.MESSAGES].update_one(
        {"_id": message_id, **where(resent_as=new_id)}, {"$unset": {"resent_as": ""}}
    )
