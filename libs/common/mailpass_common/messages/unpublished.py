"""Changes to a message stored a moment ago whose job is not published yet: ``/send``
checks suppressions while it stores (:mod:`mailpass_gateway.mail.screening`), and applies
what the check found before it publishes. Both only while the message is ``queued``.
"""

from __future__ import annotations

from mailpass_common.messages.models import MessageStatus
from mailpass_common.platform.db import Collections, Database, where


async def withdraw(db: Database, message_id: str) -> None:
    """Remove the message: the request that stored it was refused after all."""
    await db[Collections.MESSAGES].delete_one(
        {"_id": message_id, **where(status=MessageStatus.QUEUED.value)}
    )


async def drop_copies(db: Database, message_id: str, cc: list[str], bcc: list[str]) -> None:
    """Set its copies (the suppressed cc/bcc left out)."""
    await db[Collections.MESSAGES].update_one(
        {"_id": message_id, **where(status=MessageStatus.QUEUED.value)},
        {"$set": {"cc": cc, "bcc": bcc}},
    )
